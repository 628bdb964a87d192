"""Node lifecycle: heartbeats on a FakeClock, taints, taint eviction and pod GC.

Caches are preloaded, time moves only by `clock.advance`, and each step is one
call (`monitor_node_health`, `sync_node_taints`, `sync_pod`, `sync_orphaned_node`)
followed by assertions on the fake client's recorded actions.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controller_manager.nodelifecycle import NodeLifecycleController
from controller_manager.nodelifecycle.taint_eviction import min_toleration_seconds
from tinykube.api.resources import ResourceInfo
from tinykube.api.taints import tolerates_taint
from tinykube.client import FakeClock, NotFound, SharedInformerFactory

Obj = dict[str, Any]


class FakeClient:
    def __init__(self, *existing_nodes: str) -> None:
        self.existing_nodes = set(existing_nodes)
        self.actions: list[tuple[Any, ...]] = []

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        self.actions.append(("get", info.plural, name))
        if info.plural == "nodes" and name in self.existing_nodes:
            return {"metadata": {"name": name}}
        raise NotFound(404, "NotFound", "not found")

    async def update(self, info: ResourceInfo, body: Obj, namespace: str | None = None) -> Obj:
        self.actions.append(("update", info.plural, body["metadata"]["name"], copy.deepcopy(body)))
        return body

    async def update_status(self, info: ResourceInfo, body: Obj, namespace: str | None = None) -> Obj:
        self.actions.append(("update_status", info.plural, body["metadata"]["name"], copy.deepcopy(body)))
        return body

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None, preconditions: dict[str, str] | None = None,
                     **_: Any) -> Obj:
        self.actions.append(("delete", info.plural, f"{namespace}/{name}", grace_period_seconds))
        return {}

    def writes(self) -> list[tuple[Any, ...]]:
        return [a for a in self.actions if a[0] != "get"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def event(self, obj: Obj, type: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], reason))


def node(name: str = "node-1", ready: str | None = "True", heartbeat: str = "2026-01-01T00:00:00Z",
         taints: list[Obj] | None = None) -> Obj:
    obj: Obj = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "3",
                             "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {}, "status": {"conditions": []}}
    if ready is not None:
        obj["status"]["conditions"] = [
            {"type": "Ready", "status": ready, "reason": "KubeletReady", "lastHeartbeatTime": heartbeat},
            {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": heartbeat}]
    if taints:
        obj["spec"]["taints"] = taints
    return obj


def lease(name: str, renew_time: str) -> Obj:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": {"renewTime": renew_time}}


def pod(name: str, node_name: str = "node-1", tolerations: list[Obj] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": "1"},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "nginx"}],
                     "tolerations": tolerations or []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


UNREACHABLE = [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                "timeAdded": "2026-01-01T00:00:00Z"}]


def controller(client: FakeClient, clock: FakeClock, nodes: list[Obj], pods: list[Obj] = (),  # type: ignore[assignment]
               leases: list[Obj] = (), **options: Any) -> tuple[NodeLifecycleController, Recorder]:  # type: ignore[assignment]
    recorder = Recorder()
    ctrl = NodeLifecycleController(client, SharedInformerFactory(client), recorder, clock=clock,  # type: ignore[arg-type]
                                   **options)
    for obj in nodes:
        ctrl.node_informer.indexer.add(obj)
    for obj in pods:
        ctrl.pod_informer.indexer.add(obj)
    for obj in leases:
        ctrl.lease_informer.indexer.add(obj)
    return ctrl, recorder


async def test_a_node_renewing_its_lease_stays_ready() -> None:
    clock, client = FakeClock(), FakeClient()
    ctrl, _ = controller(client, clock, [node()], leases=[lease("node-1", "t0")])
    await ctrl.monitor_node_health()
    for renewal in range(1, 10):
        clock.advance(30)  # less than the 40 s grace between renewals
        ctrl.lease_informer.indexer.add(lease("node-1", f"t{renewal}"))
        await ctrl.monitor_node_health()
    assert client.writes() == []


async def test_a_silent_node_becomes_unknown_and_its_pods_not_ready() -> None:
    clock, client = FakeClock(), FakeClient()
    ctrl, recorder = controller(client, clock, [node()], [pod("web")], [lease("node-1", "t0")])
    await ctrl.monitor_node_health()
    clock.advance(40)
    await ctrl.monitor_node_health()
    assert client.writes() == []  # exactly the grace period: not yet
    clock.advance(1)
    await ctrl.monitor_node_health()

    [(verb, plural, name, body), (pod_verb, pod_plural, pod_name, pod_body)] = client.writes()
    assert (verb, plural, name) == ("update_status", "nodes", "node-1")
    conditions = {c["type"]: c for c in body["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "Unknown"
    assert conditions["Ready"]["reason"] == "NodeStatusUnknown"
    assert conditions["Ready"]["message"] == "Kubelet stopped posting node status."
    assert conditions["Ready"]["lastHeartbeatTime"] == "2026-01-01T00:00:00Z"
    assert conditions["MemoryPressure"]["status"] == "Unknown"
    assert (pod_verb, pod_plural, pod_name) == ("update_status", "pods", "web")
    assert pod_body["status"]["conditions"][0]["status"] == "False"
    assert ("node-1", "NodeNotReady") in recorder.events


async def test_the_grace_period_is_an_option() -> None:
    clock, client = FakeClock(), FakeClient()
    ctrl, _ = controller(client, clock, [node()], node_monitor_grace_period_seconds=5)
    await ctrl.monitor_node_health()
    clock.advance(6)
    await ctrl.monitor_node_health()
    assert [a[:3] for a in client.writes()] == [("update_status", "nodes", "node-1")]


async def test_a_node_that_never_posted_ready_gets_the_startup_grace_period() -> None:
    clock, client = FakeClock(), FakeClient()
    ctrl, _ = controller(client, clock, [node(ready=None)])
    await ctrl.monitor_node_health()
    clock.advance(50)
    await ctrl.monitor_node_health()
    assert client.writes() == []
    clock.advance(11)
    await ctrl.monitor_node_health()
    [(_, _, _, body)] = client.writes()
    [ready] = body["status"]["conditions"]
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusNeverUpdated")


@pytest.mark.parametrize("ready, existing, expected", [
    ("Unknown", [], UNREACHABLE),
    ("False", [], [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                   {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute",
                    "timeAdded": "2026-01-01T00:00:00Z"}]),
    ("True", UNREACHABLE + [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
     [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
    ("True", [], None),
    ("Unknown", UNREACHABLE, None),
])
async def test_taints_follow_the_ready_condition(ready: str, existing: list[Obj],
                                                 expected: list[Obj] | None) -> None:
    clock, client = FakeClock(wall_start=1_767_225_600.0), FakeClient()
    ctrl, _ = controller(client, clock, [node(ready=ready, taints=existing)])
    await ctrl.sync_node_taints("node-1")
    if expected is None:
        assert client.writes() == []
    else:
        [(verb, plural, name, body)] = client.writes()
        assert (verb, plural, name) == ("update", "nodes", "node-1")
        assert body["spec"].get("taints") == expected


async def test_pods_are_evicted_when_their_toleration_runs_out() -> None:
    clock, client = FakeClock(), FakeClient()
    patient = pod("patient", tolerations=[{"key": "node.kubernetes.io/unreachable",
                                           "operator": "Exists", "effect": "NoExecute"}])
    brief = pod("brief", tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                       "effect": "NoExecute", "tolerationSeconds": 5}])
    ctrl, recorder = controller(client, clock, [node(ready="Unknown", taints=UNREACHABLE)],
                                [pod("plain"), patient, brief], default_toleration_seconds=20)
    eviction = ctrl.taint_eviction
    for key in ("ns/plain", "ns/patient", "ns/brief"):
        await eviction.sync_pod(key)
    assert client.writes() == []

    clock.advance(5)
    for key in ("ns/plain", "ns/patient", "ns/brief"):
        await eviction.sync_pod(key)
    assert client.writes() == [("delete", "pods", "ns/brief", None)]

    clock.advance(15)
    for key in ("ns/plain", "ns/patient"):
        await eviction.sync_pod(key)
    assert client.writes()[1:] == [("delete", "pods", "ns/plain", None)]
    assert ("plain", "TaintManagerEviction") in recorder.events


async def test_a_pending_eviction_is_cancelled_when_the_node_recovers() -> None:
    clock, client = FakeClock(), FakeClient()
    ctrl, _ = controller(client, clock, [node(ready="Unknown", taints=UNREACHABLE)], [pod("web")],
                         default_toleration_seconds=10)
    await ctrl.taint_eviction.sync_pod("ns/web")
    clock.advance(8)
    ctrl.node_informer.indexer.add(node(ready="True"))
    await ctrl.taint_eviction.sync_pod("ns/web")
    clock.advance(8)
    ctrl.node_informer.indexer.add(node(ready="Unknown", taints=UNREACHABLE))
    await ctrl.taint_eviction.sync_pod("ns/web")  # the clock starts again
    assert client.writes() == []


async def test_pods_of_a_node_that_does_not_exist_are_force_deleted() -> None:
    clock, client = FakeClock(), FakeClient()
    ctrl, _ = controller(client, clock, [], [pod("stranded", node_name="gone")])
    await ctrl.pod_gc.sync_orphaned_node("gone")
    assert client.actions == [("get", "nodes", "gone"), ("delete", "pods", "ns/stranded", 0)]


async def test_pods_of_a_node_missing_only_from_the_cache_are_kept() -> None:
    clock, client = FakeClock(), FakeClient("late")
    ctrl, _ = controller(client, clock, [], [pod("web", node_name="late")])
    await ctrl.pod_gc.sync_orphaned_node("late")
    assert client.writes() == []


@pytest.mark.parametrize("toleration, taint, expected", [
    ({"operator": "Exists"}, {"key": "a", "effect": "NoExecute"}, True),
    ({"key": "a", "operator": "Exists"}, {"key": "a", "value": "x", "effect": "NoSchedule"}, True),
    ({"key": "a", "value": "x"}, {"key": "a", "value": "x", "effect": "NoExecute"}, True),
    ({"key": "a", "value": "y"}, {"key": "a", "value": "x", "effect": "NoExecute"}, False),
    ({"key": "a", "operator": "Exists", "effect": "NoSchedule"}, {"key": "a", "effect": "NoExecute"}, False),
    ({"key": "b", "operator": "Exists"}, {"key": "a", "effect": "NoExecute"}, False),
])
def test_tolerates_taint(toleration: Obj, taint: Obj, expected: bool) -> None:
    assert tolerates_taint(toleration, taint) is expected


@pytest.mark.parametrize("tolerations, expected", [
    ([], 0.0),
    ([{"key": "a", "operator": "Exists"}], None),
    ([{"key": "a", "operator": "Exists", "tolerationSeconds": 30},
      {"operator": "Exists", "tolerationSeconds": 10}], 10.0),
    ([{"key": "a", "operator": "Exists", "tolerationSeconds": -5}], 0.0),
])
def test_min_toleration_seconds(tolerations: list[Obj], expected: float | None) -> None:
    assert min_toleration_seconds([{"key": "a", "effect": "NoExecute"}], tolerations) == expected
