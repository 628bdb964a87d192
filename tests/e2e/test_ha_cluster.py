"""The HA compose cluster: `tinykube up --control-planes 3`, one control-plane node
killed with `docker kill` while clients keep working through the load balancer,
then started again and rejoining.

A compose project of its own (TINYKUBE_PROJECT=tinykube-e2e-ha on a free API port),
removed with its volumes at the end. The workload thread is a client as kubectl is:
every request that fails (a connection cut by the kill) is counted, printed, and
retried until it succeeds; each acknowledged ConfigMap must exist at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.cluster.compose import AdminAccess
from tinykube.cluster.engine import DockerDaemon
from tinykube.testing.processes import REPO_ROOT, free_port, wait_until

pytestmark = pytest.mark.e2e

PROJECT = "tinykube-e2e-ha"
TINYKUBE = [str(Path(sys.executable).with_name("tinykube"))]
NAMESPACE = "ha-e2e"
RETRY_DEADLINE_SECONDS = 30.0  # a client gives up on one request after this long


@dataclass
class Cluster:
    env: dict[str, str]
    kubeconfig: Path

    def run(self, *argv: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=REPO_ROOT, env=self.env, text=True, capture_output=True,
                              timeout=timeout)

    def kubectl(self, *args: str) -> Any:
        """`tinykube ARGS -o json` through the load balancer, parsed."""
        result = self.run(*TINYKUBE, "--kubeconfig", str(self.kubeconfig), *args, "-o", "json", timeout=120)
        assert result.returncode == 0, f"tinykube {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)

    def service_container(self, service: str) -> str:
        labels = [f"label=com.docker.compose.{k}" for k in (f"project={PROJECT}", f"service={service}")]
        return self.run("docker", "ps", "-aq", "--filter", labels[0], "--filter", labels[1]).stdout.strip()

    def kubernetes_endpoints(self) -> list[str]:
        endpoints = self.kubectl("get", "endpoints", "kubernetes", "-n", "default")
        return sorted(a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or [])


def endpoint_count_is(cluster: Cluster, count: int) -> Callable[[], bool]:
    return lambda: len(cluster.kubernetes_endpoints()) == count


@dataclass
class Workload:
    """Creates ConfigMaps one after another through the load balancer, retrying each
    failed request; records what was acknowledged and every failure."""

    access: AdminAccess
    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = self.access.client()
        n = 0
        while not self.stop.is_set():
            name = f"cm-{n}"
            if self._create(client, name):
                self.acknowledged.append(name)
            n += 1
        client.close()

    def _create(self, client: httpx.Client, name: str) -> bool:
        deadline = time.monotonic() + RETRY_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                response = client.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps",
                                       json={"metadata": {"name": name}, "data": {"n": name}}, timeout=10)
                if response.status_code in (201, 409):  # 409: an earlier try was applied
                    return True
                self.failures.append(f"{name}: HTTP {response.status_code}")
            except httpx.HTTPError as err:
                self.failures.append(f"{name}: {type(err).__name__}")
            time.sleep(0.2)
        self.given_up.append(name)
        return False


@pytest.fixture(scope="module")
def cluster(docker_engine: DockerDaemon) -> Iterator[Cluster]:
    """The HA project, made fresh (a cluster left by a killed earlier run is removed
    first) and removed with its volumes after the module."""
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    env.update(TINYKUBE_PROJECT=PROJECT, TINYKUBE_API_PORT=str(free_port()), DOCKER_HOST=docker_engine.endpoint)
    ha = Cluster(env, REPO_ROOT / "var" / PROJECT / "kubeconfig")
    for argv in (["down", "--volumes"], ["up", "--control-planes", "3"]):
        result = ha.run(*TINYKUBE, *argv, timeout=1200)
    assert result.returncode == 0, f"up --control-planes 3 failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    try:
        yield ha
    finally:
        removed = ha.run(*TINYKUBE, "down", "--volumes")
        assert removed.returncode == 0, removed.stderr


def test_three_control_planes_come_up_behind_the_load_balancer(cluster: Cluster) -> None:
    status = cluster.run(*TINYKUBE, "status").stdout
    for service in ("cp-1", "cp-2", "cp-3", "apiserver", "node-1", "node-2"):
        assert f"{service} " in status and "running" in status.split(f"{service} ", 1)[1].splitlines()[0]
    wait_until(endpoint_count_is(cluster, 3), 60, "three API servers in the endpoints", 1)
    nodes = {n["metadata"]["name"] for n in cluster.kubectl("get", "nodes")["items"]}
    assert nodes == {"node-1", "node-2"}
    # kube-proxy on a node sends the kubernetes Service (10.96.0.1:443) to the API servers.
    readyz = cluster.run("docker", "exec", cluster.service_container("node-1"), "python3", "-c",
                         "import ssl, urllib.request as u; print(u.urlopen('https://10.96.0.1/readyz', "
                         "context=ssl._create_unverified_context(), timeout=5).read().decode())")
    assert readyz.stdout.strip() == "ok", readyz.stderr


def test_a_killed_control_plane_node_is_survived_and_rejoins(cluster: Cluster) -> None:
    access = AdminAccess.from_kubeconfig(cluster.kubeconfig)
    with access.client() as client:
        assert client.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}}).status_code == 201
    workload = Workload(access)
    worker = threading.Thread(target=workload.run, daemon=True)
    worker.start()
    wait_until(lambda: len(workload.acknowledged) >= 20, 60, "the workload to get going", 1)
    before = cluster.kubernetes_endpoints()
    victim = cluster.service_container("cp-2")
    assert cluster.run("docker", "kill", victim).returncode == 0
    killed_at, acknowledged_at_kill = time.monotonic(), len(workload.acknowledged)
    # kubectl through the load balancer keeps working, and the dead API server leaves
    # the kubernetes endpoints once its lease (15 s) expires.
    wait_until(endpoint_count_is(cluster, 2), 60, "the killed API server to leave", 1)
    assert set(cluster.kubernetes_endpoints()) < set(before)
    wait_until(lambda: len(workload.acknowledged) >= acknowledged_at_kill + 20, 60, "writes after the kill", 1)
    assert cluster.run("docker", "start", victim).returncode == 0
    wait_until(endpoint_count_is(cluster, 3), 120, "the restarted API server to rejoin", 1)
    rejoined = len(workload.acknowledged)
    wait_until(lambda: len(workload.acknowledged) >= rejoined + 20, 60, "writes after the rejoin", 1)
    workload.stop.set()
    worker.join(60)
    print(f"\nHA e2e: {len(workload.acknowledged)} writes acknowledged, {len(workload.failures)} failed "
          f"requests (retried), outage handled in {time.monotonic() - killed_at:.0f}s of run: "
          f"{workload.failures[:10]}")
    assert workload.given_up == [], f"requests that failed for {RETRY_DEADLINE_SECONDS}s: {workload.given_up}"
    stored = {c["metadata"]["name"] for c in cluster.kubectl("get", "configmaps", "-n", NAMESPACE)["items"]}
    assert set(workload.acknowledged) <= stored, "acknowledged writes lost"
    # The rejoined etcd member caught up: the API server on it (through the LB in turn)
    # serves the same objects.
    health = cluster.run("docker", "exec", victim, "python3", "-c",
                         "import urllib.request as u; print(u.urlopen('http://127.0.0.1:2379/health').read())")
    assert '"health":"true"' in health.stdout.replace(" ", ""), health.stdout + health.stderr
