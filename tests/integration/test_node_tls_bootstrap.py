"""A kubelet that starts with only a bootstrap token gets its own identity, kubeadm-style.

Real etcd, API server (client certificates, bootstrap tokens, its kubelet client
certificate, the cluster CA to verify kubelets), a controller manager running
csrapproving and csrsigning, and one hollow kubelet given nothing but the CA and a
bootstrap kubeconfig. Everything is observed through the API and the files the
kubelet writes.
"""

from __future__ import annotations

import datetime
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from tests.integration.cli_helpers import tinykube
from tinykube import pki
from tinykube.cluster import bootstrap
from tinykube.client import load_kubeconfig
from tinykube.testing.processes import (REPO_ROOT, APIServerProcess, Etcd, ManagedProcess, free_port,
                                        start_apiserver, wait_until)

NODE = "node-boot"
TOKEN_ID, TOKEN_SECRET = "abcdef", "0123456789abcdef"


@dataclass
class BootstrapCluster:
    api: APIServerProcess
    http: httpx.Client
    workdir: Path
    ca_file: Path
    kubelet_port: int
    processes: list[ManagedProcess]

    def spawn(self, name: str, *args: str) -> ManagedProcess:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=log,
                                       stderr=subprocess.STDOUT)
        managed = ManagedProcess(process, log_path)
        self.processes.append(managed)
        return managed

    def start_kubelet(self) -> ManagedProcess:
        return self.spawn(
            "kubelet", "-m", "kubelet", "--bootstrap-kubeconfig", str(self.workdir / "bootstrap-kubelet.conf"),
            "--kubeconfig", str(self.workdir / "kubelet.conf"), "--hostname-override", NODE,
            "--container-runtime-endpoint", "fake", "--root-dir", str(self.workdir / "kubelet"),
            "--port", str(self.kubelet_port), "--address", "127.0.0.1", "--client-ca-file", str(self.ca_file),
            "--rotate-server-certificates=true", "--node-status-update-frequency=2s")

    def csrs(self) -> list[dict[str, Any]]:
        response = self.http.get("/apis/certificates.k8s.io/v1/certificatesigningrequests")
        response.raise_for_status()
        return list(response.json()["items"])


@pytest.fixture(scope="module")
def cluster(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BootstrapCluster]:
    workdir = tmp_path_factory.mktemp("tls-bootstrap")
    pki_dir = workdir / "apiserver" / "pki"
    pki_dir.mkdir(parents=True)
    ca = pki.new_ca()
    ca_file, ca_key = pki_dir / "ca.crt", pki_dir / "ca.key"
    pki.write_key_pair(ca_file, ca_key, ca)
    client_cert, client_key = pki_dir / "apiserver-kubelet-client.crt", pki_dir / "apiserver-kubelet-client.key"
    pki.write_key_pair(client_cert, client_key,
                       pki.new_client_certificate("kube-apiserver-kubelet-client", ["system:masters"], ca))
    api = start_apiserver(etcd.url, workdir / "apiserver", flags=(
        "--client-ca-file", str(ca_file), "--enable-bootstrap-token-auth=true",
        "--kubelet-client-certificate", str(client_cert), "--kubelet-client-key", str(client_key),
        "--kubelet-certificate-authority", str(ca_file)))
    http = httpx.Client(base_url=api.http_url, timeout=30)
    plane = BootstrapCluster(api, http, workdir, ca_file, free_port(), [])
    try:
        bootstrap.upload_bootstrap_token(http, f"{TOKEN_ID}.{TOKEN_SECRET}", datetime.timedelta(hours=1))
        (workdir / "bootstrap-kubelet.conf").write_text(
            f"apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: '{api.https_url}', "
            f"certificate-authority: '{ca_file}'}}}}]\nusers: [{{name: u, user: {{token: "
            f"'{TOKEN_ID}.{TOKEN_SECRET}'}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\n"
            "current-context: c\n")
        plane.spawn("controller-manager", "-m", "controller_manager", f"--kubeconfig={api.kubeconfig}",
                    "--leader-elect=false", "--controllers=csrapproving,csrsigning",
                    f"--cluster-signing-cert-file={ca_file}", f"--cluster-signing-key-file={ca_key}")
        plane.start_kubelet()
        yield plane
    finally:
        for process in plane.processes:
            process.stop()
        http.close()
        api.stop()


def node_ready(cluster: BootstrapCluster) -> bool:
    response = cluster.http.get(f"/api/v1/nodes/{NODE}")
    return response.status_code == 200 and any(
        c["type"] == "Ready" and c["status"] == "True" for c in response.json()["status"].get("conditions") or [])


KUBELET_SIGNERS = ("kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving")


def kubelet_certificates_issued(cluster: BootstrapCluster) -> int:
    """The node's two requests that were signed (other tests of the module make user CSRs)."""
    return len([c for c in cluster.csrs()
                if c["spec"]["signerName"] in KUBELET_SIGNERS and "Issued" in condition_of(c)])


def condition_of(csr: dict[str, Any]) -> set[str]:
    return {c["type"] for c in (csr.get("status") or {}).get("conditions") or []} | (
        {"Issued"} if (csr.get("status") or {}).get("certificate") else set())


def test_a_bootstrapped_kubelet_gets_its_own_certificates_and_runs_a_pod(cluster: BootstrapCluster) -> None:
    wait_until(lambda: node_ready(cluster), 60, "the bootstrapped node to be Ready")
    # The node's kubeconfig now names its own certificate: CN system:node:<name>, O system:nodes.
    config = load_kubeconfig(cluster.workdir / "kubelet.conf")
    assert config.token is None and config.client_cert_file
    certificate = x509.load_pem_x509_certificate(Path(config.client_cert_file).read_bytes())
    assert pki.user_of(certificate) == (f"system:node:{NODE}", ["system:nodes"])
    # Two requests: the client one from the bootstrap token, the serving one from the node itself.
    wait_until(lambda: kubelet_certificates_issued(cluster) == 2, 120,
               "both certificates to be issued")
    by_signer = {c["spec"]["signerName"]: c for c in cluster.csrs()}
    client = by_signer["kubernetes.io/kube-apiserver-client-kubelet"]
    assert client["spec"]["username"] == f"system:bootstrap:{TOKEN_ID}"
    assert "system:bootstrappers" in client["spec"]["groups"]
    serving = by_signer["kubernetes.io/kubelet-serving"]
    assert serving["spec"]["username"] == f"system:node:{NODE}"
    assert condition_of(client) == condition_of(serving) == {"Approved", "Issued"}

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hello"},
           "spec": {"nodeName": NODE, "containers": [{"name": "main", "image": "busybox"}]}}
    assert cluster.http.post("/api/v1/namespaces/default/pods", json=pod).status_code == 201
    wait_until(lambda: (cluster.http.get("/api/v1/namespaces/default/pods/hello").json().get("status") or {})
               .get("phase") == "Running", 30, "the pod to run")
    # The API server reaches the kubelet with its client certificate, verifying the kubelet's.
    logs = cluster.http.get("/api/v1/namespaces/default/pods/hello/log")
    assert logs.status_code == 200, logs.text
    # exec goes over a WebSocket to the kubelet, authenticated by the same certificate.
    echoed = tinykube(cluster.api, "-n", "default", "exec", "hello", "--", "echo", "hello", "node")
    assert echoed.returncode == 0 and echoed.stdout == "hello node\n", echoed.stderr


def test_the_kubelet_api_refuses_callers_without_a_client_certificate(cluster: BootstrapCluster) -> None:
    wait_until(lambda: node_ready(cluster), 60, "the bootstrapped node to be Ready")
    base = f"https://127.0.0.1:{cluster.kubelet_port}"
    wait_until(lambda: _answers(base, cluster.ca_file), 30, "the kubelet API to serve")
    with httpx.Client(base_url=base, verify=ssl.create_default_context(cafile=cluster.ca_file), timeout=10) as caller:
        # A bearer token the kubelet cannot verify (here the cluster admin's) is not enough.
        refused = caller.get("/containerLogs/default/hello/main",
                             headers={"Authorization": f"Bearer {cluster.api.token}"})
        assert refused.status_code == 401
        assert refused.json()["reason"] == "Unauthorized"
        assert caller.get("/stats/summary").status_code == 401


def test_a_restarted_kubelet_reuses_its_certificates(cluster: BootstrapCluster) -> None:
    wait_until(lambda: kubelet_certificates_issued(cluster) == 2, 120,
               "both certificates to be issued")
    kubelet = next(p for p in cluster.processes if p.log_path.name == "kubelet.log")
    kubelet.stop()
    cluster.processes.remove(kubelet)
    before = {c["metadata"]["name"] for c in cluster.csrs()}
    restarted = cluster.start_kubelet()
    wait_until(lambda: "kubeconfig is valid, skipping TLS bootstrap" in restarted.log_path.read_text(), 30,
               "the restarted kubelet to find its kubeconfig")
    base = f"https://127.0.0.1:{cluster.kubelet_port}"
    wait_until(lambda: _answers(base, cluster.ca_file), 30, "the kubelet API to serve again")
    assert {c["metadata"]["name"] for c in cluster.csrs()} == before


def _answers(base: str, ca_file: Path) -> bool:
    try:
        return httpx.get(f"{base}/healthz", verify=ssl.create_default_context(cafile=ca_file), timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_api_server_authenticates_client_certificates_and_bootstrap_tokens(cluster: BootstrapCluster) -> None:
    ca = pki.load_key_pair(cluster.ca_file, cluster.ca_file.with_name("ca.key"))
    alice = cluster.workdir / "alice.pem"
    certificate, key = pki.new_client_certificate("alice", ["developers"], ca)
    alice.write_bytes(pki.certificate_pem(certificate) + pki.private_key_pem(key))
    trusted = ssl.create_default_context(cafile=cluster.ca_file)
    with_certificate = ssl.create_default_context(cafile=cluster.ca_file)
    with_certificate.load_cert_chain(alice)
    url = f"{cluster.api.https_url}/api/v1/namespaces"
    assert httpx.get(url, verify=with_certificate, timeout=10).status_code == 200
    assert httpx.get(url, verify=trusted, timeout=10).status_code == 401
    # A certificate from another CA does not get past the TLS handshake.
    stranger = cluster.workdir / "stranger.pem"
    certificate, key = pki.new_client_certificate("alice", ["system:masters"], pki.new_ca("other"))
    stranger.write_bytes(pki.certificate_pem(certificate) + pki.private_key_pem(key))
    foreign = ssl.create_default_context(cafile=cluster.ca_file)
    foreign.load_cert_chain(stranger)
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, verify=foreign, timeout=10)
    # The bootstrap token works while its Secret is unexpired, and not after.
    token = {"Authorization": f"Bearer {TOKEN_ID}.{TOKEN_SECRET}"}
    assert httpx.get(url, headers=token, verify=trusted, timeout=10).status_code == 200
    expired = bootstrap.bootstrap_token_secret(f"zzzzzz.{TOKEN_SECRET}",
                                               datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    assert cluster.http.post("/api/v1/namespaces/kube-system/secrets", json=expired).status_code == 201
    stale = {"Authorization": f"Bearer zzzzzz.{TOKEN_SECRET}"}
    answer = httpx.get(url, headers=stale, verify=trusted, timeout=10)
    assert answer.status_code == 401 and answer.json()["reason"] == "Unauthorized"
