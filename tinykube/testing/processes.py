"""Start a real etcd and a real API server as child processes.

Used by the test fixtures, the benchmarks and `make up`. Every process is started
by us and stopped by its PID; nothing else on the machine is touched. Readiness is
waited for by polling with a deadline, never by sleeping a fixed time.

Kubernetes counterpart: test/integration/framework/etcd.go
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_seconds: float, what: str,
               interval_seconds: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_seconds)
    raise TimeoutError(f"timed out after {timeout_seconds}s waiting for {what}")


def find_etcd() -> str:
    found = shutil.which("etcd") or next(
        (p for p in ("/usr/bin/etcd", "/usr/local/bin/etcd") if os.path.exists(p)), None)
    if not found:
        raise RuntimeError("etcd is not installed: run `make install` (deploy/prereqs.sh installs "
                           "the distro's etcd-server)")
    return found


@dataclass
class ManagedProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout_seconds: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Etcd:
    url: str
    data_dir: Path
    proc: ManagedProcess

    def stop(self) -> None:
        self.proc.stop()


def start_etcd(data_dir: Path | None = None, port: int | None = None) -> Etcd:
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="tinykube-etcd-"))
    client_port, peer_port = port or free_port(), free_port()
    url = f"http://127.0.0.1:{client_port}"
    log_path = data_dir.parent / f"{data_dir.name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [find_etcd(), "--data-dir", str(data_dir), "--name", "tinykube",
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-cluster", f"tinykube=http://127.0.0.1:{peer_port}",
             "--quota-backend-bytes", str(4 * 1024**3)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ETCD_UNSUPPORTED_ARCH": "arm64"})
    proc = ManagedProcess(process, log_path)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"etcd exited early:\n{proc.log_tail()}")
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 30, "etcd to become healthy")
    return Etcd(url, data_dir, proc)


@dataclass
class APIServerProcess:
    http_url: str
    https_url: str
    token: str
    ca_file: Path
    kubeconfig: Path
    workdir: Path
    proc: ManagedProcess
    args: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.proc.stop()

    def restart(self) -> None:
        self.stop()
        self.proc = _spawn_apiserver(self.args, self.workdir, self.http_url)


def _spawn_apiserver(args: list[str], workdir: Path, http_url: str) -> ManagedProcess:
    log_path = workdir / "apiserver.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "apiserver", *args], cwd=REPO_ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
    proc = ManagedProcess(process, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"API server exited early:\n{proc.log_tail()}")
        try:
            return httpx.get(f"{http_url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 60, "the API server to become ready")
    return proc


def start_apiserver(etcd_url: str, workdir: Path | None = None, token: str = "tinykube-test-token",
                    secure_port: int | None = None, port: int | None = None) -> APIServerProcess:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="tinykube-apiserver-"))
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "tokens.csv"
    token_file.write_text(f'{token},admin,admin-uid,"system:masters"\n')
    # What the API server presents to kubelets; a test kubelet gets the same file
    # as --kubelet-api-token-file (see kubelet_token_file).
    kubelet_token_file(workdir).write_text(f"kubelet-{token}\n")
    secure_port, port = secure_port or free_port(), port or free_port()
    args = ["--etcd-servers", etcd_url, "--secure-port", str(secure_port), "--port", str(port),
            "--bind-address", "127.0.0.1", "--token-auth-file", str(token_file),
            "--cert-dir", str(workdir / "pki"),
            "--kubelet-client-token-file", str(kubelet_token_file(workdir))]
    http_url, https_url = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{secure_port}"
    proc = _spawn_apiserver(args, workdir, http_url)
    ca_file = workdir / "pki" / "ca.crt"
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(https_url, ca_file, token))
    return APIServerProcess(http_url, https_url, token, ca_file, kubeconfig, workdir, proc, args)


def kubelet_token_file(workdir: Path) -> Path:
    """The token file shared by a test API server and its kubelets."""
    return workdir / "kubelet-client-token"


def kubeconfig_text(server: str, ca_file: Path, token: str, name: str = "tinykube") -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: {server}
    certificate-authority: {ca_file}
users:
- name: {name}-admin
  user:
    token: {token}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: {name}-admin
    namespace: default
current-context: {name}
preferences: {{}}
"""


def plain_kubeconfig_text(server: str, name: str = "tinykube") -> str:
    """A kubeconfig for the anonymous plain-HTTP port (local tests and benchmarks)."""
    return f"""apiVersion: v1
kind: Config
clusters: [{{name: {name}, cluster: {{server: "{server}"}}}}]
users: [{{name: {name}, user: {{}}}}]
contexts: [{{name: {name}, context: {{cluster: {name}, user: {name}}}}}]
current-context: {name}
"""
