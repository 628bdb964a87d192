"""A Docker engine for the e2e tests and benchmarks: use the one that answers, or
start `dockerd` ourselves.

`ensure_docker()` asks `$DOCKER_HOST` (default `unix:///var/run/docker.sock`) for
`/_ping`. When nothing answers and we are root, it starts `dockerd` with its default
settings (default socket, data root and bridge: sandboxes need the bridge for their
IPs) and waits until it answers. `DockerDaemon.stop()` stops it by PID again, and
only if we started it. Not being root (or dockerd missing) raises DockerUnavailable,
whose message the e2e fixtures use as the skip reason.

This module speaks the engine's HTTP API with httpx: only the kubelet's Docker
adapter imports the `docker` SDK.

Kubernetes counterpart: test/e2e_node/ (the node e2e suite assumes a running runtime)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tinykube.system import stop_child

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
DOCKERD_PID_FILE = Path("/var/run/docker.pid")
START_TIMEOUT_SECONDS = 60.0


class DockerUnavailable(RuntimeError):
    """No engine answers and none can be started here (the reason is the message)."""


def engine_endpoint() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_ENDPOINT


def engine_client(endpoint: str, timeout_seconds: float = 10.0) -> httpx.Client:
    """An httpx client on the engine's API (unix socket or tcp://)."""
    parsed = urlparse(endpoint)
    if parsed.scheme in ("unix", ""):
        return httpx.Client(transport=httpx.HTTPTransport(uds=parsed.path), base_url="http://docker",
                            timeout=timeout_seconds)
    return httpx.Client(base_url=f"http://{parsed.hostname}:{parsed.port or 2375}", timeout=timeout_seconds)


def engine_answers(endpoint: str) -> bool:
    """GET /_ping over a plain socket (httpx leaks the socket of a refused unix connect)."""
    parsed = urlparse(endpoint)
    unix = parsed.scheme in ("unix", "")
    family = socket.AF_UNIX if unix else socket.AF_INET
    address = parsed.path if unix else (parsed.hostname or "127.0.0.1", parsed.port or 2375)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return sock.recv(64).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    except OSError:
        return False


@dataclass
class DockerDaemon:
    endpoint: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def started_by_us(self) -> bool:
        return self.process is not None

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Stop dockerd if we started it, unless containers still run on it: another
        test session or benchmark that found our daemon answering is using it."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            with engine_client(self.endpoint) as client:
                if client.get("/containers/json").json():
                    return
        except (httpx.HTTPError, ValueError):
            pass
        stop_child(self.process, timeout_seconds)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _remove_stale_pid_file() -> None:
    """dockerd refuses to start while /var/run/docker.pid names a live process; a
    file left by a killed daemon names a dead one."""
    try:
        pid = int(DOCKERD_PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        DOCKERD_PID_FILE.unlink(missing_ok=True)
    except PermissionError:
        pass


def ensure_docker(endpoint: str | None = None) -> DockerDaemon:
    """An engine that answers: the running one, or a `dockerd` we start now."""
    endpoint = endpoint or engine_endpoint()
    if engine_answers(endpoint):
        return DockerDaemon(endpoint)
    if endpoint != DEFAULT_ENDPOINT:
        raise DockerUnavailable(f"no Docker engine answers on DOCKER_HOST={endpoint}")
    dockerd = shutil.which("dockerd") or next(
        (p for p in ("/usr/sbin/dockerd", "/usr/bin/dockerd") if os.path.exists(p)), None)
    if dockerd is None:
        raise DockerUnavailable("dockerd is not installed (deploy/prereqs.sh installs docker.io)")
    if os.geteuid() != 0:
        raise DockerUnavailable("no Docker engine answers and starting dockerd needs root")
    _remove_stale_pid_file()
    log_path = Path(tempfile.mkdtemp(prefix="tinykube-dockerd-")) / "dockerd.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([dockerd], stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    daemon = DockerDaemon(endpoint, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not engine_answers(endpoint):
        if process.poll() is not None:
            raise DockerUnavailable(f"dockerd exited with {process.returncode}:\n{daemon.log_tail()}")
        if time.monotonic() > deadline:
            daemon.stop()
            raise DockerUnavailable(f"dockerd did not answer within {START_TIMEOUT_SECONDS}s:\n"
                                    f"{daemon.log_tail()}")
        time.sleep(0.1)
    return daemon


def remove_containers_with_label(endpoint: str, label: str, created_since: float = 0.0) -> int:
    """Force-remove every container carrying `label` ("key" or "key=value"), optionally
    only those created at or after `created_since` (epoch seconds); returns how many."""
    with engine_client(endpoint, timeout_seconds=60.0) as client:
        found = client.get("/containers/json", params={"all": "1", "filters": json.dumps({"label": [label]})})
        found.raise_for_status()
        chosen = [c for c in found.json() if int(c.get("Created", 0)) >= int(created_since)]
        for summary in chosen:
            client.delete(f"/containers/{summary['Id']}", params={"force": "1"})
        return len(chosen)
