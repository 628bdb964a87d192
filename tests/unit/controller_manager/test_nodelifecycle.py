"""Node lifecycle: heartbeats on a FakeClock, taints, taint eviction and pod GC.

Caches are preloaded, time moves only by `clock.advance`, and each step is one
call (`monitor_node_health`, `sync_node_taints`, `sync_pod`, `sync_orphaned_node`)
followed by assertions on the fake client's recorded actions.
"""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add

from controller_manager.nodelifecycle import NodeLifecycleController
from controller_manager.nodelifecycle.taint_eviction import min_toleration_seconds
from tinykube.api.core import Taint, Toleration
from tinykube.client import EventRecorder, FakeClock, SharedInformerFactory

Obj = dict[str, Any]


def fake_client(*existing_nodes: str) -> FakeClient:
    client = FakeClient()
    for name in existing_nodes:
        client.seed("nodes", {"metadata": {"name": name}})
    return client


def writes(client: FakeClient) -> list[tuple[Any, ...]]:
    """(verb, resource, name, body); a delete: ("delete", resource, "ns/name", gracePeriodSeconds)."""
    return [("delete", a.resource, f"{a.namespace}/{a.name}", (a.body or {}).get("gracePeriodSeconds"))
            if a.verb == "delete" else (a.verb, a.resource, a.name, a.body) for a in client.actions]


async def events(ctrl: NodeLifecycleController, client: FakeClient) -> list[tuple[str, str]]:
    await ctrl.recorder.flush()
    return [(e["involvedObject"]["name"], e["reason"]) for e in client.events]


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
               leases: list[Obj] = (), **options: Any) -> tuple[NodeLifecycleController, None]:  # type: ignore[assignment]
    factory = SharedInformerFactory(client, typed=True)  # type: ignore[arg-type]
    ctrl = NodeLifecycleController(client, factory, EventRecorder(client, "test", clock=clock),  # type: ignore[arg-type]
                                   clock=clock, **options)
    cache_add(ctrl.node_informer, *nodes)
    cache_add(ctrl.pod_informer, *pods)
    cache_add(ctrl.lease_informer, *leases)
    return ctrl, None


async def test_a_node_renewing_its_lease_stays_ready() -> None:
    clock, client = FakeClock(), fake_client()
    ctrl, _ = controller(client, clock, [node()], leases=[lease("node-1", "t0")])
    await ctrl.monitor_node_health()
    for renewal in range(1, 10):
        clock.advance(30)  # less than the 40 s grace between renewals
        cache_add(ctrl.lease_informer, lease("node-1", f"t{renewal}"))
        await ctrl.monitor_node_health()
    assert writes(client) == []


async def test_a_silent_node_becomes_unknown_and_its_pods_not_ready() -> None:
    clock, client = FakeClock(), fake_client()
    ctrl, _ = controller(client, clock, [node()], [pod("web")], [lease("node-1", "t0")])
    await ctrl.monitor_node_health()
    clock.advance(40)
    await ctrl.monitor_node_health()
    assert writes(client) == []  # exactly the grace period: not yet
    clock.advance(1)
    await ctrl.monitor_node_health()

    [(verb, plural, name, body), (pod_verb, pod_plural, pod_name, pod_body)] = writes(client)
    assert (verb, plural, name) == ("update_status", "nodes", "node-1")
    conditions = {c["type"]: c for c in body["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "Unknown"
    assert conditions["Ready"]["reason"] == "NodeStatusUnknown"
    assert conditions["Ready"]["message"] == "Kubelet stopped posting node status."
    assert conditions["Ready"]["lastHeartbeatTime"] == "2026-01-01T00:00:00Z"
    assert conditions["MemoryPressure"]["status"] == "Unknown"
    assert (pod_verb, pod_plural, pod_name) == ("update_status", "pods", "web")
    assert pod_body["status"]["conditions"][0]["status"] == "False"
    assert ("node-1", "NodeNotReady") in await events(ctrl, client)


async def test_the_grace_period_is_an_option() -> None:
    clock, client = FakeClock(), fake_client()
    ctrl, _ = controller(client, clock, [node()], node_monitor_grace_period_seconds=5)
    await ctrl.monitor_node_health()
    clock.advance(6)
    await ctrl.monitor_node_health()
    assert [a[:3] for a in writes(client)] == [("update_status", "nodes", "node-1")]


async def test_a_node_that_never_posted_ready_gets_the_startup_grace_period() -> None:
    clock, client = FakeClock(), fake_client()
    ctrl, _ = controller(client, clock, [node(ready=None)])
    await ctrl.monitor_node_health()
    clock.advance(50)
    await ctrl.monitor_node_health()
    assert writes(client) == []
    clock.advance(11)
    await ctrl.monitor_node_health()
    [(_, _, _, body)] = writes(client)
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
    clock, client = FakeClock(wall_start=1_767_225_600.0), fake_client()
    ctrl, _ = controller(client, clock, [node(ready=ready, taints=existing)])
    await ctrl.sync_node_taints("node-1")
    if expected is None:
        assert writes(client) == []
    else:
        [(verb, plural, name, body)] = writes(client)
        assert (verb, plural, name) == ("update", "nodes", "node-1")
        assert body["spec"].get("taints") == expected


async def test_pods_are_evicted_when_their_toleration_runs_out() -> None:
    clock, client = FakeClock(), fake_client()
    patient = pod("patient", tolerations=[{"key": "node.kubernetes.io/unreachable",
                                           "operator": "Exists", "effect": "NoExecute"}])
    brief = pod("brief", tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                       "effect": "NoExecute", "tolerationSeconds": 5}])
    ctrl, _ = controller(client, clock, [node(ready="Unknown", taints=UNREACHABLE)],
                                [pod("plain"), patient, brief], default_toleration_seconds=20)
    eviction = ctrl.taint_eviction
    for key in ("ns/plain", "ns/patient", "ns/brief"):
        await eviction.sync_pod(key)
    assert writes(client) == []

    clock.advance(5)
    for key in ("ns/plain", "ns/patient", "ns/brief"):
        await eviction.sync_pod(key)
    assert writes(client) == [("delete", "pods", "ns/brief", None)]

    clock.advance(15)
    for key in ("ns/plain", "ns/patient"):
        await eviction.sync_pod(key)
    assert writes(client)[1:] == [("delete", "pods", "ns/plain", None)]
    assert ("plain", "TaintManagerEviction") in await events(ctrl, client)


async def test_a_pending_eviction_is_cancelled_when_the_node_recovers() -> None:
    clock, client = FakeClock(), fake_client()
    ctrl, _ = controller(client, clock, [node(ready="Unknown", taints=UNREACHABLE)], [pod("web")],
                         default_toleration_seconds=10)
    await ctrl.taint_eviction.sync_pod("ns/web")
    clock.advance(8)
    cache_add(ctrl.node_informer, node(ready="True"))
    await ctrl.taint_eviction.sync_pod("ns/web")
    clock.advance(8)
    cache_add(ctrl.node_informer, node(ready="Unknown", taints=UNREACHABLE))
    await ctrl.taint_eviction.sync_pod("ns/web")  # the clock starts again
    assert writes(client) == []


async def test_pods_of_a_node_that_does_not_exist_are_force_deleted() -> None:
    clock, client = FakeClock(), fake_client()
    ctrl, _ = controller(client, clock, [], [pod("stranded", node_name="gone")])
    await ctrl.pod_gc.sync_orphaned_node("gone")
    assert writes(client) == [("delete", "pods", "ns/stranded", 0)]


async def test_pods_of_a_node_missing_only_from_the_cache_are_kept() -> None:
    clock, client = FakeClock(), fake_client("late")
    ctrl, _ = controller(client, clock, [], [pod("web", node_name="late")])
    await ctrl.pod_gc.sync_orphaned_node("late")
    assert writes(client) == []


@pytest.mark.parametrize("toleration, taint, expected", [
    ({"operator": "Exists"}, {"key": "a", "effect": "NoExecute"}, True),
    ({"key": "a", "operator": "Exists"}, {"key": "a", "value": "x", "effect": "NoSchedule"}, True),
    ({"key": "a", "value": "x"}, {"key": "a", "value": "x", "effect": "NoExecute"}, True),
    ({"key": "a", "value": "y"}, {"key": "a", "value": "x", "effect": "NoExecute"}, False),
    ({"key": "a", "operator": "Exists", "effect": "NoSchedule"}, {"key": "a", "effect": "NoExecute"}, False),
    ({"key": "b", "operator": "Exists"}, {"key": "a", "effect": "NoExecute"}, False),
])
def test_tolerates_taint(toleration: Obj, taint: Obj, expected: bool) -> None:
    assert Toleration.from_dict(toleration).tolerates_taint(Taint.from_dict(taint)) is expected


@pytest.mark.parametrize("tolerations, expected", [
    ([], 0.0),
    ([{"key": "a", "operator": "Exists"}], None),
    ([{"key": "a", "operator": "Exists", "tolerationSeconds": 30},
      {"operator": "Exists", "tolerationSeconds": 10}], 10.0),
    ([{"key": "a", "operator": "Exists", "tolerationSeconds": -5}], 0.0),
])
def test_min_toleration_seconds(tolerations: list[Obj], expected: float | None) -> None:
    assert min_toleration_seconds([Taint(key="a", effect="NoExecute")],
                                  [Toleration.from_dict(t) for t in tolerations]) == expected
