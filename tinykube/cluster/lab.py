"""The same components on separate machines: `tinykube init` and `tinykube join`.

A control-plane host runs `tinykube init --advertise-address IP`: it writes the
tokens, the cluster CA and kubeconfigs (tinykube.cluster.bootstrap), starts etcd, the
API server, the controller manager (which approves and signs nodes' certificate
requests), the scheduler and the cluster registry (lab_registry.py), publishes the
cluster's CA and address in the `kube-public/cluster-info` ConfigMap (the one object
anyone may read), stores a bootstrap token valid for 24 hours (kubeadm's default;
`init` again renews it), applies the add-ons, and prints the command for the workers:

    tinykube join --server https://IP:6443 --token TOKEN --ca-cert-hash sha256:HASH

A worker host runs that command. It fetches cluster-info without trusting the
server yet, checks the CA against the hash (so a server in the middle is caught),
checks the token with the now-trusted CA, writes /etc/tinykube/ca.crt and
bootstrap-kubelet.kubeconfig (nothing else: no CA key, no token file, no admin
credentials), makes the control-plane host's registry its engine's docker.io mirror,
starts a Docker engine if none answers, builds the sample images (the pause image
above all: nothing can be pulled), and starts the kubelet, which trades the bootstrap
token for a certificate of its own (TLS bootstrap), then kube-proxy with the
kubelet's credential. The kubelet waits for
its pod CIDR, puts pods on a bridge that owns it, and routes the other hosts' pod
CIDRs to them (host-gw), so pods reach each other across hosts by pod IP.

As in the compose cluster, the API server authorizes with Node,RBAC and admits with
ServiceAccount and NodeRestriction; the controller manager and the scheduler have
their own tokens and default roles, kube-proxy reads Services and EndpointSlices as
its node (the `tinykube:node-proxier` binding), the add-ons run as ServiceAccounts.

Components run as systemd units when systemd runs the host (`tinykube-<name>`),
otherwise as background processes with PID files in /run/tinykube and logs in
/var/log/tinykube. `tinykube reset` stops what init or join started.

Kubernetes counterpart: cmd/kubeadm/app/cmd/init.go, join.go, reset.go;
cmd/kubeadm/app/discovery/token (cluster-info and the CA pin)
"""

from __future__ import annotations

import base64
import datetime
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from tinykube import pki
from tinykube.cluster import bootstrap, images, lab_registry, registry
from tinykube.cluster.engine import DockerUnavailable, ensure_docker

RUN_DIR = Path(os.environ.get("TINYKUBE_RUN_DIR", "/run/tinykube"))
LOG_DIR = Path(os.environ.get("TINYKUBE_LOG_DIR", "/var/log/tinykube"))
DATA_DIR = Path(os.environ.get("TINYKUBE_DATA_DIR", "/var/lib/tinykube"))
SYSTEMD_DIR = Path("/etc/systemd/system")
CLUSTER_INFO = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
CLUSTER_CIDR = "10.244.0.0/16"  # pod IPs; each node routes the others' /24s (host-gw)
BOOTSTRAP_TOKEN_TTL = datetime.timedelta(hours=24)
CLUSTER_DNS = "10.96.0.10"  # the DNS add-on's Service (addons/dns.yaml)

Say = Callable[[str], None]


class LabError(RuntimeError):
    pass


# --- running components ------------------------------------------------------------

def uses_systemd() -> bool:
    return Path("/run/systemd/system").is_dir() and os.environ.get("TINYKUBE_NO_SYSTEMD") != "1"


def start_component(name: str, argv: list[str], say: Say) -> None:
    """A component as `tinykube-<name>.service`, or as a background process."""
    if uses_systemd():
        unit = SYSTEMD_DIR / f"tinykube-{name}.service"
        unit.write_text(f"""[Unit]
Description=tinykube {name}
After=network-online.target docker.service

[Service]
ExecStart={shlex.join(argv)}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
""")
        for command in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", unit.name]):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise LabError(f"`{' '.join(command)}` failed: {done.stderr.strip()}")
        say(f"  {name}: systemd unit {unit.name}")
        return
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    pid_file = RUN_DIR / f"{name}.pid"
    if _alive(pid_file):
        say(f"  {name}: already running (pid {pid_file.read_text().strip()})")
        return
    with open(LOG_DIR / f"{name}.log", "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    pid_file.write_text(f"{process.pid}\n")
    say(f"  {name}: pid {process.pid}, log {LOG_DIR / (name + '.log')}")


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def reset(say: Say) -> None:
    """Stop every component init or join started on this host (by PID or unit)."""
    for unit in sorted(SYSTEMD_DIR.glob("tinykube-*.service")) if uses_systemd() else []:
        subprocess.run(["systemctl", "disable", "--now", unit.name], capture_output=True)
        unit.unlink()
        say(f"  {unit.stem}: stopped")
    for pid_file in sorted(RUN_DIR.glob("*.pid")) if RUN_DIR.is_dir() else []:
        pid = _alive(pid_file)
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while _alive(pid_file) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid_file):
                os.kill(pid, signal.SIGKILL)
            say(f"  {pid_file.stem}: stopped (pid {pid})")
        pid_file.unlink()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


# --- the control plane -------------------------------------------------------------

@dataclass
class JoinCommand:
    server: str
    token: str
    ca_hash: str

    def __str__(self) -> str:
        return f"tinykube join --server {self.server} --token {self.token} --ca-cert-hash {self.ca_hash}"


def init(advertise_address: str, config_dir: Path, say: Say, port: int = 6443) -> JoinCommand:
    server = f"https://{advertise_address}:{port}"
    config = bootstrap.ensure_config_dir(config_dir, server)
    etcd_url = "http://127.0.0.1:2379"
    say("starting the control plane:")
    start_component("etcd", ["etcd", "--name=tinykube", f"--data-dir={DATA_DIR / 'etcd'}",
                             f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                             "--listen-peer-urls=http://127.0.0.1:2380",
                             "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                             "--initial-cluster=tinykube=http://127.0.0.1:2380"], say)
    _wait(lambda: _get(f"{etcd_url}/health") == 200, 30, "etcd to answer")
    start_component("apiserver", python_module(
        "apiserver", f"--etcd-servers={etcd_url}", f"--secure-port={port}",
        f"--token-auth-file={config.tokens_file}", f"--cert-dir={config.cert_dir}",
        f"--tls-sans={advertise_address},localhost,127.0.0.1", f"--advertise-address={advertise_address}",
        f"--client-ca-file={config.ca_file}", "--enable-bootstrap-token-auth=true",
        f"--kubelet-client-certificate={config.kubelet_client_cert}",
        f"--kubelet-client-key={config.kubelet_client_key}",
        f"--kubelet-certificate-authority={config.ca_file}",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=ServiceAccount,NodeRestriction",
        f"--encryption-provider-config={config.encryption_config_file}"), say)
    local = f"https://127.0.0.1:{port}"
    _wait(lambda: config.ca_file.exists() and _get(f"{local}/readyz", verify=False) == 200, 60,
          "the API server to become ready")
    start_component("controller-manager", python_module(
        "controller_manager", f"--kubeconfig={config.kubeconfig('controller-manager')}",
        "--allocate-node-cidrs=true", f"--cluster-cidr={CLUSTER_CIDR}", "--enable-hostpath-provisioner=true",
        f"--cluster-signing-cert-file={config.ca_file}", f"--cluster-signing-key-file={config.ca_key_file}",
        f"--root-ca-file={config.ca_file}"), say)
    start_component("scheduler", python_module(
        "scheduler", f"--kubeconfig={config.kubeconfig('scheduler')}"), say)
    try:
        start_component("registry", lab_registry.registry_command(DATA_DIR), say)
        lab_registry.fill(say)
    except lab_registry.LabRegistryError as err:
        raise LabError(str(err)) from None
    ca_pem = config.ca_file.read_bytes()
    admin = _client(local, config.token("admin"), ca_pem)
    with admin:
        bootstrap.apply_object(admin, "/api/v1/namespaces/kube-public/configmaps", "cluster-info", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cluster-info", "namespace": "kube-public"},
            "data": {"kubeconfig": bootstrap.kubeconfig_text(server, "", ca_data=ca_pem)}})
        bootstrap.upload_bootstrap_token(admin, config.bootstrap_token, BOOTSTRAP_TOKEN_TTL)
    apply_addons(local, config.token("admin"), ca_pem, say)  # the default StorageClass among them
    return JoinCommand(server, config.bootstrap_token, pki.ca_cert_hash(ca_pem))


def apply_addons(server: str, token: str, ca_pem: bytes, say: Say) -> None:
    """Cluster DNS, the Ingress controller, the StorageClass and the dashboard, as `up`
    applies them; their pods start once workers join (their image from the registry)."""
    from tinykube.cluster import compose  # compose's add-on list and server-side apply
    try:
        compose.apply_addons(compose.AdminAccess(server, token, ca_pem), say)
    except compose.ClusterError as err:
        raise LabError(str(err)) from None
    say("  add-ons: " + ", ".join(sorted(p.stem for p in compose.ADDONS_DIR.glob("*.yaml"))))


# --- a worker --------------------------------------------------------------------

def discover_ca(server: str, ca_hash: str | None) -> bytes:
    """The CA from cluster-info, fetched before trusting anyone, then pinned by hash."""
    try:
        response = httpx.get(server + CLUSTER_INFO, verify=False, timeout=10.0)
    except httpx.HTTPError as err:
        raise LabError(f"cannot reach the API server at {server}: {err}") from None
    if response.status_code != 200:
        raise LabError(f"{server} has no cluster-info ({response.status_code}): was `tinykube init` run there?")
    kubeconfig = yaml.safe_load(response.json()["data"]["kubeconfig"])
    ca_pem = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    if ca_hash is not None and pki.ca_cert_hash(ca_pem) != ca_hash:
        raise LabError(f"the cluster CA's hash is {pki.ca_cert_hash(ca_pem)}, not {ca_hash}: "
                       "refusing to join (wrong server, or someone in between)")
    return ca_pem


def join(server: str, token: str, ca_hash: str | None, node_name: str, node_ip: str | None,
         config_dir: Path, say: Say) -> None:
    ca_pem = discover_ca(server, ca_hash)
    with _client(server, token, ca_pem) as client:
        # Anything but 401 means the token is known (a bootstrapper may not list requests).
        checked = client.get("/apis/certificates.k8s.io/v1/certificatesigningrequests", params={"limit": 1})
        if checked.status_code == 401:
            raise LabError("the API server refused the token (401): use the one `tinykube init` printed "
                           "(it is valid for 24 hours; `tinykube init` again renews it)")
    config_dir.mkdir(parents=True, exist_ok=True)
    ca_file = config_dir / "ca.crt"
    ca_file.write_bytes(ca_pem)
    bootstrap_kubeconfig = config_dir / "bootstrap-kubelet.kubeconfig"
    bootstrap_kubeconfig.write_text(bootstrap.kubeconfig_text(server, token, ca_data=ca_pem, user="kubelet-bootstrap"))
    bootstrap_kubeconfig.chmod(0o600)
    say(f"joined {server} (CA {pki.ca_cert_hash(ca_pem)[:19]}...), config in {config_dir}")
    try:
        lab_registry.use_registry(f"{urlsplit(server).hostname}:{registry.REGISTRY_PORT}", say)
        daemon = ensure_docker()
    except lab_registry.LabRegistryError as err:
        raise LabError(str(err)) from None
    except DockerUnavailable as err:
        raise LabError(f"no Docker engine on this host: {err}") from None
    if daemon.started_by_us:
        say(f"  dockerd: pid {daemon.process.pid}")  # type: ignore[union-attr]
    images.build_sample_images(progress=lambda line: say(f"  {line}"))
    kubeconfig = DATA_DIR / "kubelet" / "kubeconfig"  # written by the kubelet's TLS bootstrap
    start_component("kubelet", python_module(
        "kubelet", f"--bootstrap-kubeconfig={bootstrap_kubeconfig}", f"--kubeconfig={kubeconfig}",
        f"--hostname-override={node_name}", f"--node-ip={node_ip or default_node_ip(server)}",
        f"--client-ca-file={ca_file}", "--rotate-server-certificates=true",
        "--authentication-token-webhook=true", "--authorization-mode=Webhook",
        f"--root-dir={DATA_DIR / 'kubelet'}", "--network-plugin=host-gw",
        f"--non-masquerade-cidr={CLUSTER_CIDR}", f"--cluster-dns={CLUSTER_DNS}", "--cluster-domain=cluster.local"), say)
    _wait(kubeconfig.exists, 120, "the kubelet's TLS bootstrap (its certificate request approved and signed)")
    # kube-proxy runs as the node: the kubelet's own credential, no shared token.
    start_component("kube-proxy", python_module(
        "kube_proxy", f"--kubeconfig={kubeconfig}", f"--hostname-override={node_name}",
        "--proxy-mode=iptables", f"--cluster-cidr={CLUSTER_CIDR}"), say)


def default_node_ip(server: str) -> str:
    """This host's address on the way to the API server (a route lookup: nothing is sent)."""
    host = urlsplit(server).hostname or ""
    try:
        address = socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
    except OSError:
        raise LabError(f"cannot resolve {host}: pass --node-ip") from None
    out = subprocess.run(["ip", "-4", "-o", "route", "get", str(address)], capture_output=True, text=True).stdout
    words = out.split()
    if "src" not in words:
        raise LabError(f"no route to {address}: pass --node-ip")
    return words[words.index("src") + 1]


# --- helpers -----------------------------------------------------------------------

def _client(server: str, token: str, ca_pem: bytes) -> httpx.Client:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    return httpx.Client(base_url=server, verify=context, timeout=10.0,
                        headers={"Authorization": f"Bearer {token}"})


def _get(url: str, verify: bool = True) -> int:
    try:
        return httpx.get(url, verify=verify, timeout=2.0).status_code
    except httpx.HTTPError:
        return 0


def _wait(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout_seconds:.0f}s waiting for {what} (logs in {LOG_DIR})")
        time.sleep(0.2)
