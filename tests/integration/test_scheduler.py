"""The scheduler and hollow kubelets against a real etcd + API server, as processes.

The module gets a cluster of its own (etcd, API server, one kubelet process with
three hollow nodes of 2 CPUs, the scheduler), so Nodes left by other tests can
never receive these pods. Extra kubelets (a big node, a tainted node, a node that
is killed) are started by the tests that need them and stopped by PID.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tinykube.testing.processes import REPO_ROOT, APIServerProcess, start_apiserver, start_etcd

Obj = dict[str, Any]
DEADLINE_SECONDS = 30.0


class Cluster:
    def __init__(self, api: APIServerProcess, workdir: Path) -> None:
        self.api, self.workdir = api, workdir
        self.http = httpx.Client(base_url=api.http_url, timeout=30)
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{name}.log", "ab") as log:
            process = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def kubelet(self, name: str, *flags: str) -> subprocess.Popen[bytes]:
        return self.spawn(f"kubelet-{name}", "-m", "kubelet", f"--kubeconfig={self.api.kubeconfig}",
                          f"--hostname-override={name}", "--container-runtime-endpoint=fake", *flags)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def get(self, path: str) -> Obj:
        response = self.http.get(path)
        response.raise_for_status()
        result: Obj = response.json()
        return result


def wait_for(condition: Callable[[], Any], what: str, timeout_seconds: float = DEADLINE_SECONDS) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_seconds}s waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("scheduler-cluster")
    etcd = start_etcd(workdir / "etcd")
    api = None
    try:
        api = start_apiserver(etcd.url, workdir / "apiserver")
        cluster = Cluster(api, workdir)
        cluster.kubelet("hollow", "--hollow-nodes=3", "--node-capacity=cpu=2,memory=4Gi")
        cluster.spawn("scheduler", "-m", "scheduler", f"--kubeconfig={api.kubeconfig}",
                      "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s",
                      "--leader-elect-retry-period=1s")
        try:
            wait_for(lambda: len(cluster.get("/api/v1/nodes")["items"]) == 3, "3 hollow nodes to register")
            yield cluster
        finally:
            for process in reversed(cluster.processes):
                cluster.stop(process)
            cluster.http.close()
    finally:
        if api is not None:
            api.stop()
        etcd.stop()


@pytest.fixture
def ns(cluster: Cluster) -> str:
    name = f"s-{uuid.uuid4().hex[:8]}"
    cluster.http.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
    return name


def pod(name: str, cpu: str = "100m", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                                     "resources": {"requests": {"cpu": cpu}}}], **spec}}


def create(cluster: Cluster, ns: str, body: Obj) -> None:
    response = cluster.http.post(f"/api/v1/namespaces/{ns}/pods", json=body)
    assert response.status_code == 201, response.text


def running_pod(cluster: Cluster, ns: str, name: str) -> Obj | None:
    found = cluster.get(f"/api/v1/namespaces/{ns}/pods/{name}")
    return found if (found.get("status") or {}).get("phase") == "Running" else None


def scheduled_condition(cluster: Cluster, ns: str, name: str) -> Obj | None:
    found = cluster.get(f"/api/v1/namespaces/{ns}/pods/{name}")
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == "PodScheduled" and condition["status"] == "False":
            return dict(condition)
    return None


def test_pods_of_one_owner_spread_over_the_nodes_and_run(cluster: Cluster, ns: str) -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": str(uuid.uuid4()),
             "controller": True}
    for i in range(6):
        body = pod(f"web-{i}")
        body["metadata"]["ownerReferences"] = [owner]
        create(cluster, ns, body)
    wait_for(lambda: all(running_pod(cluster, ns, f"web-{i}") for i in range(6)), "all 6 pods to run")
    pods = [cluster.get(f"/api/v1/namespaces/{ns}/pods/web-{i}") for i in range(6)]
    assert sorted(Counter(p["spec"]["nodeName"] for p in pods).values()) == [2, 2, 2]
    for p in pods:
        conditions = {c["type"]: c["status"] for c in p["status"]["conditions"]}
        assert conditions["Ready"] == "True" and conditions["PodScheduled"] == "True"
        assert p["status"]["podIP"].startswith("10.244.")
    assert len({p["status"]["podIP"] for p in pods}) == 6
    events = cluster.get(f"/api/v1/namespaces/{ns}/events")["items"]
    assert sum(1 for e in events if e["reason"] == "Scheduled") == 6


def test_a_pod_too_big_for_every_node_waits_for_a_bigger_node(cluster: Cluster, ns: str) -> None:
    create(cluster, ns, pod("huge", cpu="3"))
    condition = wait_for(lambda: scheduled_condition(cluster, ns, "huge"), "PodScheduled=False")
    message = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
               "3 No preemption victims found for incoming pod.")
    assert (condition["reason"], condition["message"]) == ("Unschedulable", message)
    events = wait_for(lambda: [e for e in cluster.get(f"/api/v1/namespaces/{ns}/events")["items"]
                               if e["reason"] == "FailedScheduling"], "a FailedScheduling event")
    assert events[0]["message"] == message and events[0]["type"] == "Warning"
    assert events[0]["involvedObject"]["name"] == "huge"

    big = cluster.kubelet("big", "--node-capacity=cpu=8,memory=16Gi")
    try:
        found = wait_for(lambda: running_pod(cluster, ns, "huge"), "the huge pod to run on the big node")
        assert found["spec"]["nodeName"] == "big"
    finally:
        cluster.stop(big)
        cluster.http.delete(f"/api/v1/namespaces/{ns}/pods/huge", params={"gracePeriodSeconds": "0"})
        cluster.http.delete("/api/v1/nodes/big")


def test_node_selectors_and_taints_are_respected(cluster: Cluster, ns: str) -> None:
    tainted = cluster.kubelet("db-node", "--node-labels=disk=ssd", "--register-with-taints=dedicated=db:NoSchedule",
                              "--node-capacity=cpu=2,memory=4Gi")
    try:
        wait_for(lambda: cluster.http.get("/api/v1/nodes/db-node").status_code == 200, "db-node to register")
        create(cluster, ns, pod("wants-ssd", nodeSelector={"disk": "ssd"}))
        condition = wait_for(lambda: scheduled_condition(cluster, ns, "wants-ssd"), "wants-ssd to be refused")
        assert condition["message"].startswith(
            "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, "
            "3 node(s) didn't match Pod's node affinity/selector.")
        toleration = {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
        create(cluster, ns, pod("db", nodeSelector={"disk": "ssd"}, tolerations=[toleration]))
        found = wait_for(lambda: running_pod(cluster, ns, "db"), "the tolerating pod to run")
        assert found["spec"]["nodeName"] == "db-node"
        for i in range(3):  # pods without the toleration never land on the tainted node
            create(cluster, ns, pod(f"plain-{i}"))
        for i in range(3):
            placed = wait_for(lambda i=i: running_pod(cluster, ns, f"plain-{i}"), f"plain-{i} to run")
            assert placed["spec"]["nodeName"] != "db-node"
    finally:
        cluster.stop(tainted)
        for name in ("wants-ssd", "db"):
            cluster.http.delete(f"/api/v1/namespaces/{ns}/pods/{name}", params={"gracePeriodSeconds": "0"})
        cluster.http.delete("/api/v1/nodes/db-node")


def test_a_deleted_pod_is_stopped_and_removed_by_its_kubelet(cluster: Cluster, ns: str) -> None:
    create(cluster, ns, pod("short-lived"))
    wait_for(lambda: running_pod(cluster, ns, "short-lived"), "short-lived to run")
    response = cluster.http.delete(f"/api/v1/namespaces/{ns}/pods/short-lived")
    assert response.status_code == 200
    wait_for(lambda: cluster.http.get(f"/api/v1/namespaces/{ns}/pods/short-lived").status_code == 404,
             "the kubelet to finish the deletion")


def test_a_killed_kubelet_stops_renewing_its_lease(cluster: Cluster) -> None:
    mortal = cluster.kubelet("mortal", "--node-lease-duration-seconds=2")  # renews every 0.5 s
    lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/mortal"

    def renew_time() -> str | None:
        response = cluster.http.get(lease_path)
        return response.json()["spec"].get("renewTime") if response.status_code == 200 else None

    first = wait_for(renew_time, "the mortal node's lease")
    wait_for(lambda: (renew_time() or "") > first, "a lease renewal")
    mortal.kill()
    mortal.wait(10)
    last = renew_time()
    # Four renew intervals without a renewal: the heartbeat really stopped.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert renew_time() == last
        time.sleep(0.2)
    node = cluster.get("/api/v1/nodes/mortal")
    assert node["metadata"]["name"] == "mortal"  # the Node stays; reacting is the node controller's job
    cluster.http.delete("/api/v1/nodes/mortal")
