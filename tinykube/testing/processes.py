"""Start a real etcd and a real API server as child processes.

Used by the test fixtures, the benchmarks and `make up`. Every process is started
by us and stopped by its PID; nothing else on the machine is touched. Readiness is
waited for by polling with a deadline, never by sleeping a fixed time.

Kubernetes counterpart: test/integration/framework/etcd.go
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tinykube.system import stop_child

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
        stop_child(self.process, timeout_seconds)

    def wait_until_answers(self, url: str, what: str, timeout_seconds: float) -> None:
        """Poll `url` until it answers 200; a process that exits first fails with its log."""

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited early:\n{self.log_tail()}")
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(answers, timeout_seconds, f"{what} to answer {url}")
        except BaseException:
            self.stop()
            raise

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
    proc.wait_until_answers(f"{url}/health", "etcd", 30)
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
    proc.wait_until_answers(f"{http_url}/readyz", "the API server", 60)
    return proc


def start_apiserver(etcd_url: str, workdir: Path | None = None, token: str = "tinykube-test-token",
                    secure_port: int | None = None, port: int | None = None,
                    flags: tuple[str, ...] = (), extra_tokens: tuple[str, ...] = ()
                    ) -> APIServerProcess:
    """`flags` are further kube-apiserver flags (`--etcd-compaction-interval=2s`);
    `extra_tokens` further lines of the token file (`token,user,uid,"group1,group2"`)."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="tinykube-apiserver-"))
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "tokens.csv"
    token_file.write_text(f'{token},admin,admin-uid,"system:masters"\n'
                          + "".join(f"{line}\n" for line in extra_tokens))
    # What the API server presents to kubelets; a test kubelet gets the same file
    # as --kubelet-api-token-file (see kubelet_token_file).
    kubelet_token_file(workdir).write_text(f"kubelet-{token}\n")
    secure_port, port = secure_port or free_port(), port or free_port()
    args = ["--etcd-servers", etcd_url, "--secure-port", str(secure_port), "--port", str(port),
            "--bind-address", "127.0.0.1", "--token-auth-file", str(token_file),
            "--cert-dir", str(workdir / "pki"),
            "--kubelet-client-token-file", str(kubelet_token_file(workdir)), *flags]
    http_url, https_url = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{secure_port}"
    proc = _spawn_apiserver(args, workdir, http_url)
    ca_file = workdir / "pki" / "ca.crt"
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(https_url, ca_file, token))
    return APIServerProcess(http_url, https_url, token, ca_file, kubeconfig, workdir, proc, args)


def start_kubelet(apiserver: APIServerProcess, node_name: str, root_dir: Path, *flags: str,
                  runtime_endpoint: str = "fake", timeout_seconds: float = 60.0) -> ManagedProcess:
    """A kubelet with its API on loopback, trusting the API server's kubelet token;
    returns once its Node is registered (`fake`: a hollow node)."""
    root_dir.mkdir(parents=True, exist_ok=True)
    log_path = root_dir / "kubelet.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kubelet", "--kubeconfig", str(apiserver.kubeconfig),
             "--hostname-override", node_name, "--container-runtime-endpoint", runtime_endpoint,
             "--root-dir", str(root_dir), "--port", str(free_port()), "--address", "127.0.0.1",
             "--kubelet-api-token-file", str(kubelet_token_file(apiserver.workdir)), *flags],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    proc = ManagedProcess(process, log_path)
    proc.wait_until_answers(f"{apiserver.http_url}/api/v1/nodes/{node_name}", "the kubelet", timeout_seconds)
    return proc


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
