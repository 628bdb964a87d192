"""Helpers shared by the benchmarks that start whole clusters of real processes.

Child processes are started by us and stopped by their PID, also when the
benchmark itself gets SIGTERM or Ctrl-C (`stop_on_sigterm` turns SIGTERM into
`SystemExit`, so every `finally` runs). Figures read from /proc: a process's CPU
time and resident memory.

Kubernetes counterpart: perf-tests clusterloader2's measurement utilities
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinykube.system import stop_child  # noqa: E402
from tinykube.testing.processes import (  # noqa: E402
    REPO_ROOT,
    APIServerProcess,
    plain_kubeconfig_text,
    start_apiserver,
)

POD_IMAGE = "registry.k8s.io/pause:3.10"
POD_REQUESTS = {"cpu": "10m", "memory": "16Mi"}


def stop_on_sigterm() -> None:
    """SIGTERM raises SystemExit like Ctrl-C raises KeyboardInterrupt: `finally` blocks
    stop the children instead of leaving them behind."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


class Children:
    """Child processes (`python -m ...`) stopped by PID, newest first, on `stop_all`."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
        with open(log_path, "ab") as log:
            process = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self, timeout_seconds: float = 15.0) -> None:
        for process in reversed(self.processes):
            stop_child(process, timeout_seconds)


def start_plain_apiserver(etcd_url: str, workdir: Path, namespaces: tuple[str, ...],
                          timeout_seconds: float) -> tuple[APIServerProcess, Path, httpx.Client]:
    """An API server on `etcd_url`, a kubeconfig for its plain HTTP port (for the
    components), a client on that port, and `namespaces` created."""
    api = start_apiserver(etcd_url, workdir / "apiserver")
    kubeconfig = workdir / "kubeconfig-plain"
    kubeconfig.write_text(plain_kubeconfig_text(api.http_url, "bench"))
    http = httpx.Client(base_url=api.http_url, timeout=timeout_seconds)
    for namespace in namespaces:
        http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).raise_for_status()
    return api, kubeconfig, http


def pod_spec(scheduler_name: str = "default-scheduler") -> dict[str, object]:
    return {"schedulerName": scheduler_name, "containers": [
        {"name": "app", "image": POD_IMAGE, "resources": {"requests": dict(POD_REQUESTS)}}]}


def pod(name: str, scheduler_name: str = "default-scheduler") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": pod_spec(scheduler_name)}


async def create_pods(base_url: str, namespace: str, count: int, clients: int,
                      scheduler_name: str) -> tuple[float, float]:
    """Create `count` pods with `clients` concurrent connections: (start, end) monotonic."""
    names = iter(range(count))

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            for i in names:
                response = await http.post(f"/api/v1/namespaces/{namespace}/pods",
                                           json=pod(f"pod-{i:05d}", scheduler_name))
                if response.status_code != 201:
                    raise RuntimeError(f"create failed: {response.status_code} {response.text[:200]}")

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return start, time.monotonic()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed_get(client: httpx.Client, path: str, **params: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    return time.perf_counter() - started, response


def chunked_list_seconds(client: httpx.Client, path: str, limit: int = 500) -> tuple[float, int]:
    """A list in kubectl's chunks (`limit` + `continue`): (seconds, items)."""
    started, count, token = time.perf_counter(), 0, ""
    while True:
        params = {"limit": str(limit), **({"continue": token} if token else {})}
        body = client.get(path, params=params).json()
        count += len(body["items"])
        token = body["metadata"].get("continue", "")
        if not token:
            return time.perf_counter() - started, count


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.99 = p99); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]
