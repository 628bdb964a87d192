"""A control plane of hollow nodes with the dashboard running on it, for
tests/integration/test_dashboard.py and test_dashboard_browser.py.

`DashboardPlane.start` starts `ControlPlane` (etcd, API server, two controller
managers, the scheduler, three hollow kubelets), a fourth hollow kubelet
`node-logs` that serves the kubelet API (so `pods/log` and `exec` work on it),
and `python -m dashboard` as a process of its own, waiting for its /healthz.
`running` and `namespace` are the bodies of the test modules' fixtures;
`sse(...)` reads a Server-Sent Event stream until a frame satisfies a test.
"""

from __future__ import annotations

import json
import subprocess
import uuid
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from control_plane_fixtures import ControlPlane, Obj, is_ready

from tinykube.testing.processes import REPO_ROOT, ManagedProcess, free_port, start_kubelet

LOGS_NODE = "node-logs"
SSE_DEADLINE_SECONDS = 60.0
POD_DEADLINE_SECONDS = 90.0  # pods ready on a loaded, shared machine


@dataclass
class DashboardPlane:
    plane: ControlPlane
    logs_kubelet: ManagedProcess
    dashboard: ManagedProcess
    url: str

    @classmethod
    def start(cls, workdir: Path) -> DashboardPlane:
        plane = ControlPlane.start(workdir)
        try:
            kubelet = start_kubelet(plane.api, LOGS_NODE, workdir / LOGS_NODE,
                                    "--node-status-update-frequency=2s")
        except BaseException:
            plane.stop()
            raise
        try:
            dashboard = start_dashboard(plane, workdir)
        except BaseException:
            kubelet.stop()
            plane.stop()
            raise
        return cls(plane, kubelet, dashboard[0], dashboard[1])

    def stop(self) -> None:
        self.dashboard.stop()
        self.logs_kubelet.stop(30)
        self.plane.stop()

    def cli(self, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tinykube.cli", "--kubeconfig",
                               str(self.plane.api.kubeconfig), "-n", namespace, *args],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def running(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[DashboardPlane]:
    started = DashboardPlane.start(tmp_path_factory.mktemp(name))
    try:
        yield started
    finally:
        started.stop()


def namespace(cluster: DashboardPlane, prefix: str) -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    cluster.plane.http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    yield name
    cluster.plane.http.delete(f"/api/v1/namespaces/{name}")


def ready_pods(cluster: DashboardPlane, ns: str, count: int) -> bool:
    items = cluster.plane.get(f"/api/v1/namespaces/{ns}/pods")["items"]
    return len(items) == count and all(is_ready(p) for p in items)


def start_dashboard(plane: ControlPlane, workdir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    log_path = workdir / "dashboard.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard", f"--kubeconfig={plane.api.kubeconfig}",
             "--bind-address=127.0.0.1", f"--port={port}"],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    managed = ManagedProcess(process, log_path)
    url = f"http://127.0.0.1:{port}"
    managed.wait_until_answers(f"{url}/healthz", "the dashboard", 60)
    return managed, url


def deployment(name: str, replicas: int) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}


def pinned_pod(name: str) -> Obj:
    """A pod on the node whose kubelet serves logs."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": LOGS_NODE, "containers": [{"name": "main", "image": "busybox"}]}}


def sse(url: str, path: str, until: Callable[[str, Any], bool],
        started: Callable[[], None] | None = None,
        timeout_seconds: float = SSE_DEADLINE_SECONDS) -> list[tuple[str, Any]]:
    """Read `path`'s events until `until(event, data)` holds; every frame read is
    returned. `started` runs once the first frame has arrived (the stream is on)."""
    frames: list[tuple[str, Any]] = []
    deadline = time.monotonic() + timeout_seconds
    event = ""
    with httpx.stream("GET", url + path, timeout=httpx.Timeout(10, read=timeout_seconds)) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                break
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                frames.append((event, data))
                if len(frames) == 1 and started is not None:
                    started()
                if until(event, data):
                    return frames
    raise AssertionError(f"the stream {path} never showed what was awaited; it sent:\n" +
                         "\n".join(f"{e}: {json.dumps(d)[:300]}" for e, d in frames[-40:]))
