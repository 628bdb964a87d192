"""ServiceAccounts end to end on a real API server (ServiceAccount admission on,
authorization AlwaysDeny so a 403 names who a token is), the serviceaccount and
root-ca-cert-publisher controllers, and a hollow kubelet that writes pod volumes.

- `kubectl create token` / `tinykube create token` give JWTs that authenticate as
  the ServiceAccount; a pod-bound token stops working once its pod is gone;
- a new namespace gets `default` and `kube-root-ca.crt`;
- a pod gets its serviceAccountName and the kube-api-access volume, whose token,
  ca.crt and namespace the kubelet writes under its root dir;
- `automountServiceAccountToken: false` is honoured.
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_helpers import tinykube
from control_plane_fixtures import wait_for
from tinykube.testing.processes import (
    REPO_ROOT, APIServerProcess, ManagedProcess, start_apiserver, start_etcd, start_kubelet,
)

Obj = dict[str, Any]
NODE = "sa-node"


@dataclass
class Cluster:
    api: APIServerProcess
    http: httpx.Client
    kubelet_root: Path

    def https_status(self, token: str, path: str = "/api/v1/namespaces/default/pods") -> tuple[int, str]:
        response = httpx.get(self.api.https_url + path,
                             verify=ssl.create_default_context(cafile=str(self.api.ca_file)),
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        return response.status_code, response.json().get("message", "")

    def create(self, path: str, body: Obj) -> Obj:
        response = self.http.post(path, json=body)
        assert response.status_code == 201, response.text
        created: Obj = response.json()
        return created


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("service-accounts")
    etcd = start_etcd(workdir / "etcd")
    processes: list[ManagedProcess] = []
    api = start_apiserver(etcd.url, workdir / "apiserver", flags=(
        "--enable-admission-plugins=ServiceAccount", "--authorization-mode=AlwaysDeny"))
    http = httpx.Client(base_url=api.http_url, timeout=30)
    try:
        log_path = workdir / "controller-manager.log"
        with open(log_path, "ab") as log:
            processes.append(ManagedProcess(subprocess.Popen(
                [sys.executable, "-m", "controller_manager", f"--kubeconfig={api.kubeconfig}",
                 "--leader-elect=false", "--controllers=serviceaccount,root-ca-cert-publisher",
                 f"--root-ca-file={api.ca_file}"],
                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT), log_path))
        processes.append(start_kubelet(api, NODE, workdir / "kubelet"))
        yield Cluster(api, http, workdir / "kubelet" / "hollow" / NODE)
    finally:
        for process in processes:
            process.stop()
        http.close()
        api.stop()
        etcd.stop()


@pytest.fixture
def ns(cluster: Cluster) -> str:
    name = f"sa-{uuid.uuid4().hex[:8]}"
    cluster.create("/api/v1/namespaces", {"metadata": {"name": name}})
    wait_for(lambda: cluster.http.get(f"/api/v1/namespaces/{name}/serviceaccounts/default")
             .status_code == 200, "the default ServiceAccount")
    return name


def kubectl(cluster: Cluster, tmp_path: Path, *args: str) -> str:
    result = subprocess.run(["kubectl", "--kubeconfig", str(cluster.api.kubeconfig),
                             "--cache-dir", str(tmp_path / "kube-cache"), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def claims(token: str) -> Obj:
    payload = token.split(".")[1]
    decoded: Obj = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def authenticates_as_default(cluster: Cluster, token: str, namespace: str) -> bool:
    """AlwaysDeny's 403 names the user the token authenticated as."""
    code, message = cluster.https_status(token)
    return code == 403 and message.startswith(
        f'pods is forbidden: User "system:serviceaccount:{namespace}:default" cannot list '
        'resource "pods" in API group "" in the namespace "default"')


def pod(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {
        "nodeName": NODE, "containers": [{"name": "app", "image": "busybox"}], **spec}}


def test_a_new_namespace_gets_default_and_the_root_ca(cluster: Cluster, ns: str) -> None:
    config_map = wait_for(lambda: (r := cluster.http.get(
        f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt")).status_code == 200 and r.json(),
        "kube-root-ca.crt")
    assert config_map["data"] == {"ca.crt": cluster.api.ca_file.read_text()}
    # deleted, the default account comes back (with a new uid)
    old = cluster.http.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default").json()
    cluster.http.delete(f"/api/v1/namespaces/{ns}/serviceaccounts/default").raise_for_status()
    wait_for(lambda: (r := cluster.http.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default"))
             .status_code == 200 and r.json()["metadata"]["uid"] != old["metadata"]["uid"],
             "the default ServiceAccount re-created")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_kubectl_create_token_authenticates_as_the_service_account(
        cluster: Cluster, ns: str, tmp_path: Path) -> None:
    token = kubectl(cluster, tmp_path, "create", "token", "default", "-n", ns,
                    "--duration", "20m").strip()
    body = claims(token)
    assert body["sub"] == f"system:serviceaccount:{ns}:default"
    assert body["exp"] - body["iat"] == 1200
    assert authenticates_as_default(cluster, token, ns)
    assert cluster.https_status(token[:-4] + "AAAA")[0] == 401  # a forged signature


def test_tinykube_create_token_and_its_errors(cluster: Cluster, ns: str) -> None:
    result = tinykube(cluster.api, "create", "token", "default", "-n", ns)
    assert result.returncode == 0, result.stderr
    assert authenticates_as_default(cluster, result.stdout.strip(), ns)
    short = tinykube(cluster.api, "create", "token", "default", "-n", ns, "--duration", "5m")
    assert short.returncode != 0
    assert "may not specify a duration less than 10 minutes" in short.stderr
    missing = tinykube(cluster.api, "create", "token", "ghost", "-n", ns)
    assert missing.returncode != 0 and 'serviceaccounts "ghost" not found' in missing.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")
def test_a_pod_bound_token_stops_working_when_the_pod_is_deleted(
        cluster: Cluster, ns: str, tmp_path: Path) -> None:
    cluster.create(f"/api/v1/namespaces/{ns}/pods", pod("bound"))
    token = kubectl(cluster, tmp_path, "create", "token", "default", "-n", ns,
                    "--bound-object-kind", "Pod", "--bound-object-name", "bound").strip()
    assert claims(token)["kubernetes.io"]["pod"]["name"] == "bound"
    assert authenticates_as_default(cluster, token, ns)
    cluster.http.delete(f"/api/v1/namespaces/{ns}/pods/bound").raise_for_status()
    wait_for(lambda: cluster.http.get(f"/api/v1/namespaces/{ns}/pods/bound").status_code == 404,
             "the pod gone")
    wait_for(lambda: cluster.https_status(token)[0] == 401, "the bound token refused")


def token_dir(cluster: Cluster, created: Obj) -> Path:
    [volume] = [v for v in created["spec"]["volumes"] if v["name"].startswith("kube-api-access-")]
    return (cluster.kubelet_root / "pods" / created["metadata"]["uid"] / "volumes"
            / "kubernetes.io~projected" / volume["name"])


def test_a_pod_gets_its_account_and_the_kubelet_writes_the_token(cluster: Cluster, ns: str) -> None:
    created = cluster.create(f"/api/v1/namespaces/{ns}/pods", pod("web"))
    assert created["spec"]["serviceAccountName"] == "default"
    mounts = created["spec"]["containers"][0]["volumeMounts"]
    assert mounts[0]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert mounts[0]["readOnly"] is True
    directory = token_dir(cluster, created)
    wait_for(lambda: (directory / "token").exists(), f"the token file in {directory}")
    assert (directory / "namespace").read_text() == ns
    assert (directory / "ca.crt").read_text() == cluster.api.ca_file.read_text()
    token = (directory / "token").read_text()
    assert claims(token)["kubernetes.io"]["pod"] == {"name": "web", "uid": created["metadata"]["uid"]}
    assert claims(token)["exp"] - claims(token)["iat"] == 3607
    assert authenticates_as_default(cluster, token, ns)
    wait_for(lambda: cluster.http.get(f"/api/v1/namespaces/{ns}/pods/web").json()
             .get("status", {}).get("phase") == "Running", "the pod Running")


def test_automount_false_and_a_missing_account(cluster: Cluster, ns: str) -> None:
    created = cluster.create(f"/api/v1/namespaces/{ns}/pods",
                             pod("quiet", automountServiceAccountToken=False))
    assert created["spec"]["serviceAccountName"] == "default"
    assert "volumes" not in created["spec"]
    assert "volumeMounts" not in created["spec"]["containers"][0]
    refused = cluster.http.post(f"/api/v1/namespaces/{ns}/pods",
                                json=pod("lost", serviceAccountName="ghost"))
    assert refused.status_code == 403
    assert refused.json()["message"] == (f'pods "lost" is forbidden: error looking up service '
                                         f'account {ns}/ghost: serviceaccount "ghost" not found')
