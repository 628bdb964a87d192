"""DaemonSet controller: preload caches, run one sync, assert on the recorded actions."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, parsed, pod, typed_factory

from controller_manager.daemon import DaemonSetsController
from controller_manager.history import get_patch
from controller_manager.daemon.util import CONTROLLER_REVISION_HASH_LABEL, POD_TEMPLATE_GENERATION_LABEL
from controller_manager.deployment.util import compute_hash
from tinykube.api.apps import DaemonSet
from tinykube.client import EventRecorder, FakeClock, ServerError

LABELS = {"app": "agent"}
KEY = "default/agent"
Obj = dict[str, Any]


def node(name: str, labels: dict[str, str] | None = None, taints: list[Obj] | None = None) -> Obj:
    spec: Obj = {"taints": taints} if taints else {}
    return {"apiVersion": "v1", "kind": "Node", "spec": spec,
            "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1",
                         "labels": {"kubernetes.io/hostname": name, **(labels or {})}}}


def daemon_set(*, image: str = "agent:1", node_selector: dict[str, str] | None = None,
               strategy: Obj | None = None, generation: int = 1, template_generation: int = 1,
               history_limit: int = 10, tolerations: list[Obj] | None = None) -> Obj:
    pod_spec: Obj = {"containers": [{"name": "c", "image": image}]}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    if tolerations:
        pod_spec["tolerations"] = tolerations
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default", "uid": "uid-agent", "resourceVersion": "1",
                         "generation": generation, "creationTimestamp": "2026-01-01T00:00:00Z",
                         "annotations": {"deprecated.daemonset.template.generation": str(template_generation)}},
            "spec": {"selector": {"matchLabels": dict(LABELS)}, "revisionHistoryLimit": history_limit,
                     "updateStrategy": strategy or {"type": "RollingUpdate",
                                                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod_spec}},
            "status": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                       "numberReady": 0}}


def current_hash(ds: Obj) -> str:
    return compute_hash(DaemonSet.from_dict(ds).spec.template, None)  # type: ignore[union-attr]


def daemon_pod(name: str, ds: Obj, node_name: str, *, hash_: str | None = None, **kwargs: Any) -> Obj:
    labels = {**LABELS, CONTROLLER_REVISION_HASH_LABEL: hash_ if hash_ is not None else current_hash(ds)}
    return pod(name, labels, owner=ds, node=node_name, **kwargs)


def make_controller(ds: Obj, nodes: list[Obj], pods: list[Obj]) -> tuple[DaemonSetsController, FakeClient]:
    client = FakeClient()
    factory = typed_factory(client)
    clock = FakeClock(wall_start=1_767_225_600.0 + 3600)  # an hour after the pods' timestamps
    controller = DaemonSetsController(client, factory, EventRecorder(client, "test"),  # type: ignore[arg-type]
                                      clock=clock)
    cache_add(controller.ds_informer, ds)
    client.seed("daemonsets", ds)
    cache_add(controller.node_informer, *nodes)
    cache_add(controller.pod_informer, *pods)
    return controller, client


def created_nodes(client: FakeClient) -> list[str]:
    result = []
    for action in client.writes("pods", "create"):
        terms = action.body["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert len(terms) == 1
        result.append(terms[0]["matchFields"][0]["values"][0])
    return sorted(result)


def deleted_pods(client: FakeClient) -> list[str]:
    return sorted(a.name for a in client.writes("pods", "delete"))


def last_status(client: FakeClient) -> Obj:
    return client.writes("daemonsets", "update_status")[-1].body["status"]


def observe_creates(controller: DaemonSetsController, client: FakeClient) -> None:
    for action in client.writes("pods", "create"):
        cache_add(controller.pod_informer, action.body)
        controller.add_pod(parsed(controller.pod_informer, action.body))


# --- placement ------------------------------------------------------------------------------


async def test_one_pod_per_eligible_node_pinned_by_node_affinity() -> None:
    ds = daemon_set(node_selector={"role": "edge"})
    nodes = [node("a", {"role": "edge"}),
             node("b", {"role": "edge"}, [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
             node("c", {"role": "core"}),
             node("d", {"role": "edge"}, [{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
                                          {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])]
    controller, client = make_controller(ds, nodes, [])
    await controller.sync_daemon_set(KEY)
    assert created_nodes(client) == ["a", "d"]
    body = client.writes("pods", "create")[0].body
    assert body["metadata"]["generateName"] == "agent-"
    assert body["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert body["metadata"]["labels"] == {**LABELS, CONTROLLER_REVISION_HASH_LABEL: current_hash(ds),
                                          POD_TEMPLATE_GENERATION_LABEL: "1"}
    assert "nodeName" not in body["spec"]  # the scheduler binds it
    tolerations = {(t["key"], t["effect"]) for t in body["spec"]["tolerations"]}
    assert tolerations == {
        ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")}
    status = last_status(client)
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"]) == (2, 0)
    assert status["numberUnavailable"] == 2 and status["observedGeneration"] == 1


async def test_host_network_pods_tolerate_network_unavailable() -> None:
    ds = daemon_set()
    ds["spec"]["template"]["spec"]["hostNetwork"] = True
    tainted = node("a", taints=[{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}])
    controller, client = make_controller(ds, [tainted], [])
    await controller.sync_daemon_set(KEY)
    assert created_nodes(client) == ["a"]


async def test_a_toleration_in_the_template_admits_a_tainted_node() -> None:
    taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    ds = daemon_set(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}])
    controller, client = make_controller(ds, [node("a", taints=[taint])], [])
    await controller.sync_daemon_set(KEY)
    assert created_nodes(client) == ["a"]


async def test_pods_leave_nodes_that_stop_matching_or_get_a_no_execute_taint() -> None:
    ds = daemon_set(node_selector={"role": "edge"})
    nodes = [node("a", {"role": "edge"}), node("b", {"role": "core"}),
             node("c", {"role": "edge"}, [{"key": "maintenance", "effect": "NoSchedule"}]),
             node("d", {"role": "edge"}, [{"key": "maintenance", "effect": "NoExecute"}])]
    pods = [daemon_pod(f"agent-{n}", ds, n) for n in "abcd"]
    controller, client = make_controller(ds, nodes, pods)
    await controller.sync_daemon_set(KEY)
    # c keeps its pod: a NoSchedule taint keeps new pods away but evicts nobody
    assert deleted_pods(client) == ["agent-b", "agent-d"]
    assert client.writes("pods", "create") == []
    status = last_status(client)
    assert status["desiredNumberScheduled"] == 1 and status["numberMisscheduled"] == 3


async def test_a_node_that_joins_later_gets_a_pod() -> None:
    ds = daemon_set()
    controller, client = make_controller(ds, [node("a")], [])
    await controller.sync_daemon_set(KEY)
    observe_creates(controller, client)
    new_node = node("b")
    cache_add(controller.node_informer, new_node)
    controller.node_changed(parsed(controller.node_informer, new_node))
    assert await controller.queue.get() == KEY
    await controller.sync_daemon_set(KEY)
    assert created_nodes(client) == ["a", "b"]


async def test_unscheduled_pod_for_a_node_that_left_is_deleted() -> None:
    ds = daemon_set()
    stranded = daemon_pod("agent-gone", ds, "gone", phase="Pending", ready=False)
    del stranded["spec"]["nodeName"]
    stranded["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gone"]}]}]}}}
    controller, client = make_controller(ds, [node("a")], [stranded, daemon_pod("agent-a", ds, "a")])
    await controller.sync_daemon_set(KEY)
    assert deleted_pods(client) == ["agent-gone"]


async def test_expectations_prevent_creating_twice_before_pods_are_seen() -> None:
    ds = daemon_set()
    controller, client = make_controller(ds, [node("a"), node("b")], [])
    await controller.sync_daemon_set(KEY)
    await controller.sync_daemon_set(KEY)  # the cache has not shown them yet
    assert len(client.writes("pods", "create")) == 2
    observe_creates(controller, client)
    await controller.sync_daemon_set(KEY)
    assert len(client.writes("pods", "create")) == 2


async def test_failed_pod_is_deleted_with_backoff_and_extra_pods_removed() -> None:
    ds = daemon_set()
    pods = [daemon_pod("agent-a", ds, "a", phase="Failed", ready=False),
            daemon_pod("agent-b-old", ds, "b", created="2026-01-01T00:00:00Z"),
            daemon_pod("agent-b-new", ds, "b", created="2026-01-01T00:05:00Z")]
    controller, client = make_controller(ds, [node("a"), node("b")], pods)
    await controller.sync_daemon_set(KEY)
    assert deleted_pods(client) == ["agent-a", "agent-b-new"]
    assert any(e["reason"] == "FailedDaemonPod" for e in client.events)
    # The replacement fails again at once: it is left alone until the backoff has passed.
    again = daemon_pod("agent-a2", ds, "a", phase="Failed", ready=False)
    cache_add(controller.pod_informer, again)
    for name in ("agent-a", "agent-b-new"):
        controller.pod_informer.indexer.delete(parsed(controller.pod_informer, next(p for p in pods if p["metadata"]["name"] == name)))
        controller.expectations.deletion_observed(KEY, f"default/{name}")
    await controller.sync_daemon_set(KEY)
    assert "agent-a2" not in deleted_pods(client)
    controller.clock.advance(1.5)  # type: ignore[attr-defined]
    await controller.sync_daemon_set(KEY)
    assert "agent-a2" in deleted_pods(client)


# --- updates and history ----------------------------------------------------------------------


def rolled_out(ds: Obj, image: str, **kwargs: Any) -> tuple[Obj, Obj]:
    """(the old DaemonSet, the same DaemonSet after a template change to `image`)."""
    new = daemon_set(image=image, generation=2, template_generation=2, **kwargs)
    return ds, new


async def test_rolling_update_respects_max_unavailable() -> None:
    old, new = rolled_out(daemon_set(), "agent:2")
    old_hash = current_hash(old)
    nodes = [node(n) for n in "abcd"]
    pods = [daemon_pod(f"agent-{n}", old, n, hash_=old_hash) for n in "abcd"]
    controller, client = make_controller(new, nodes, pods)
    await controller.sync_daemon_set(KEY)
    assert len(deleted_pods(client)) == 1  # maxUnavailable: 1
    assert client.writes("pods", "create") == []
    revisions = client.writes("controllerrevisions", "create")
    assert len(revisions) == 1 and revisions[0].body["data"] == get_patch(DaemonSet.from_dict(new))
    assert revisions[0].body["metadata"]["labels"][CONTROLLER_REVISION_HASH_LABEL] == current_hash(new)
    status = last_status(client)
    assert status["updatedNumberScheduled"] == 0 and status["observedGeneration"] == 2


async def test_rolling_update_waits_while_an_updated_pod_is_unavailable() -> None:
    old, new = rolled_out(daemon_set(), "agent:2")
    pods = [daemon_pod("agent-a", new, "a", ready=False),
            daemon_pod("agent-b", old, "b", hash_=current_hash(old)),
            daemon_pod("agent-c", old, "c", hash_=current_hash(old), ready=False)]
    controller, client = make_controller(new, [node(n) for n in "abc"], pods)
    await controller.sync_daemon_set(KEY)
    # b is available and a is already unavailable: only the unavailable old pod on c goes
    assert deleted_pods(client) == ["agent-c"]


async def test_rolling_update_with_max_surge_starts_new_pods_first() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    old, new = rolled_out(daemon_set(strategy=strategy), "agent:2", strategy=strategy)
    pods = [daemon_pod("agent-a", old, "a", hash_=current_hash(old)),
            daemon_pod("agent-b", old, "b", hash_=current_hash(old)),
            daemon_pod("agent-b2", new, "b", created="2026-01-01T00:05:00Z")]
    controller, client = make_controller(new, [node("a"), node("b")], pods)
    await controller.sync_daemon_set(KEY)
    # b's new pod is available: its old pod goes; the surge slot is free again, so a gets a new pod
    assert deleted_pods(client) == ["agent-b"]
    assert created_nodes(client) == ["a"]


async def test_on_delete_leaves_old_pods_alone() -> None:
    strategy = {"type": "OnDelete"}
    old, new = rolled_out(daemon_set(strategy=strategy), "agent:2", strategy=strategy)
    pods = [daemon_pod(f"agent-{n}", old, n, hash_=current_hash(old)) for n in "ab"]
    controller, client = make_controller(new, [node("a"), node("b")], pods)
    await controller.sync_daemon_set(KEY)
    assert client.writes("pods", "delete") == [] and client.writes("pods", "create") == []
    # the user deletes one: its replacement has the new template
    controller.pod_informer.indexer.delete(parsed(controller.pod_informer, pods[0]))
    await controller.sync_daemon_set(KEY)
    assert created_nodes(client) == ["a"]
    assert client.writes("pods", "create")[0].body["spec"]["containers"][0]["image"] == "agent:2"


async def test_status_counts_ready_available_and_updated() -> None:
    old, new = rolled_out(daemon_set(), "agent:2")
    pods = [daemon_pod("agent-a", new, "a"), daemon_pod("agent-b", new, "b", ready=False),
            daemon_pod("agent-c", old, "c", hash_=current_hash(old))]
    controller, client = make_controller(new, [node(n) for n in "abc"], pods)
    await controller.sync_daemon_set(KEY)
    status = last_status(client)
    assert {k: status[k] for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                   "numberAvailable", "numberUnavailable", "updatedNumberScheduled")} == {
        "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "numberAvailable": 2,
        "numberUnavailable": 1, "updatedNumberScheduled": 2}


async def test_old_revisions_beyond_the_history_limit_are_deleted() -> None:
    ds = daemon_set(history_limit=1)
    controller, client = make_controller(ds, [node("a")], [daemon_pod("agent-a", ds, "a")])
    for revision, image in enumerate(["agent:0", "agent:00", "agent:000"], start=1):
        old = DaemonSet.from_dict(daemon_set(image=image))
        body = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": revision,
                "data": get_patch(old),
                "metadata": {"name": f"agent-r{revision}", "namespace": "default", "uid": f"uid-r{revision}",
                             "labels": {**LABELS, CONTROLLER_REVISION_HASH_LABEL: f"h{revision}"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                                  "uid": "uid-agent", "controller": True}]}}
        cache_add(controller.history_informer, body)
    await controller.sync_daemon_set(KEY)
    assert sorted(a.name for a in client.writes("controllerrevisions", "delete")) == ["agent-r1", "agent-r2"]
    assert client.writes("controllerrevisions", "create")[0].body["revision"] == 4


async def test_a_failed_create_still_writes_status_and_is_retried() -> None:
    ds = daemon_set()
    controller, client = make_controller(ds, [node("a")], [])
    client.fail[("create", "pods")] = ServerError(500, "InternalError", "quota exceeded")
    with pytest.raises(ServerError):
        await controller.sync_daemon_set(KEY)
    assert last_status(client)["desiredNumberScheduled"] == 1
    assert controller.expectations.satisfied_expectations(KEY)  # the failed create is not awaited
    assert any(e["reason"] == "FailedCreate" for e in client.events)


async def test_node_updates_that_do_not_touch_placement_are_ignored() -> None:
    ds = daemon_set()
    controller, _ = make_controller(ds, [], [])
    old = parsed(controller.node_informer, node("a"))
    heartbeat = parsed(controller.node_informer, {**node("a"), "status": {"conditions": [
        {"type": "Ready", "status": "True"}]}})
    controller.update_node(old, heartbeat)
    assert len(controller.queue) == 0
    controller.update_node(old, parsed(controller.node_informer, node("a", {"role": "edge"})))
    assert len(controller.queue) == 1


async def test_rolling_back_renumbers_the_matching_revision_as_the_newest() -> None:
    ds = daemon_set(image="agent:1")
    controller, client = make_controller(ds, [node("a")], [daemon_pod("agent-a", ds, "a")])
    for number, image in ((1, "agent:1"), (2, "agent:2")):
        template_of = DaemonSet.from_dict(daemon_set(image=image))
        cache_add(controller.history_informer, {
            "apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": number, "data": get_patch(template_of),
            "metadata": {"name": f"agent-{number}", "namespace": "default", "uid": f"uid-{number}",
                         "resourceVersion": "1", "labels": {**LABELS, CONTROLLER_REVISION_HASH_LABEL: f"h{number}"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                              "uid": "uid-agent", "controller": True}]}})
    client.seed("controllerrevisions", controller.history_informer.indexer.get("default/agent-1"))
    await controller.sync_daemon_set(KEY)
    assert client.writes("controllerrevisions", "create") == []
    [renumbered] = client.writes("controllerrevisions", "update")
    assert (renumbered.name, renumbered.body["revision"]) == ("agent-1", 3)
