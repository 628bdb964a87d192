"""`python -m tinykube.localcluster up|down|status`: etcd + API server on this machine.

The smallest useful tinykube: a real etcd (data in var/etcd, so state survives
`down` and `up`) and the API server with HTTPS on 6443 (a generated cluster CA, a
random admin token) plus anonymous plain HTTP on 127.0.0.1:8080. `up` writes
./kubeconfig, which both `kubectl` and the official clients use unchanged.
Processes run in the background; their PIDs live in var/*.pid and `down` stops
exactly those.

Kubernetes counterpart: hack/local-up-cluster.sh
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tinykube.testing.processes import REPO_ROOT, find_etcd, kubeconfig_text, wait_until

VAR = REPO_ROOT / "var"
ETCD_PORT, ETCD_PEER_PORT = 12379, 12380
SECURE_PORT, HTTP_PORT = 6443, 8080


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _spawn(name: str, argv: list[str]) -> None:
    pid_file = VAR / f"{name}.pid"
    if _pid_alive(pid_file):
        print(f"  {name}: already running (pid {pid_file.read_text().strip()})")
        return
    log = open(VAR / f"{name}.log", "ab")
    process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    pid_file.write_text(str(process.pid))
    print(f"  {name}: started (pid {process.pid}, log var/{name}.log)")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def up() -> None:
    VAR.mkdir(exist_ok=True)
    token_file = VAR / "tokens.csv"
    if not token_file.exists():
        token_file.write_text(f'{secrets.token_hex(16)},admin,admin,"system:masters"\n')
        token_file.chmod(0o600)
    token = token_file.read_text().split(",")[0]
    etcd_url = f"http://127.0.0.1:{ETCD_PORT}"
    print("tinykube: bringing up etcd and the API server")
    _spawn("etcd", [find_etcd(), "--data-dir", str(VAR / "etcd"), "--name", "tinykube",
                    "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                    "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
                    "--initial-cluster", f"tinykube=http://127.0.0.1:{ETCD_PEER_PORT}"])
    wait_until(lambda: _ok(f"{etcd_url}/health"), 30, "etcd to become healthy")
    _spawn("apiserver", [sys.executable, "-m", "apiserver", "--etcd-servers", etcd_url,
                         "--secure-port", str(SECURE_PORT), "--port", str(HTTP_PORT),
                         "--token-auth-file", str(token_file), "--cert-dir", str(VAR / "pki")])
    wait_until(lambda: _ok(f"http://127.0.0.1:{HTTP_PORT}/readyz"), 60,
               "the API server to become ready (see var/apiserver.log)")
    kubeconfig = REPO_ROOT / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(f"https://127.0.0.1:{SECURE_PORT}",
                                          VAR / "pki" / "ca.crt", token))
    kubeconfig.chmod(0o600)
    print(f"""
tinykube is up: API server https://127.0.0.1:{SECURE_PORT} (token auth), http://127.0.0.1:{HTTP_PORT} (local, anonymous)

  export KUBECONFIG={kubeconfig}
  kubectl get namespaces
  kubectl apply -f examples/web-app.yaml
  kubectl get deploy,svc -n web-demo

Stop it with `make down` (state in var/etcd survives).""")


def down() -> None:
    for name in ("apiserver", "etcd"):
        pid_file = VAR / f"{name}.pid"
        pid = _pid_alive(pid_file)
        if pid is None:
            print(f"  {name}: not running")
            pid_file.unlink(missing_ok=True)
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _pid_alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid_file):
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        print(f"  {name}: stopped")


def status() -> None:
    for name in ("etcd", "apiserver"):
        pid = _pid_alive(VAR / f"{name}.pid")
        print(f"  {name}: {'running (pid %d)' % pid if pid else 'not running'}")
    if _ok(f"http://127.0.0.1:{HTTP_PORT}/readyz"):
        print(f"  API server ready at https://127.0.0.1:{SECURE_PORT}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tinykube.localcluster")
    parser.add_argument("command", choices=["up", "down", "status"])
    command = parser.parse_args().command
    {"up": up, "down": down, "status": status}[command]()


if __name__ == "__main__":
    main()
