"""ReplicaSet controller: preload caches, run one sync, assert on the recorded actions."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, parsed, pod, replica_set, typed_factory

from controller_manager.controller_utils import active_pods_sort_key
from controller_manager.replicaset import ReplicaSetController
from tinykube.api.core import Pod
from tinykube.client import EventRecorder, FakeClock, ServerError

LABELS = {"app": "web"}
Obj = dict[str, Any]


def make_controller(rs: Obj, pods: list[Obj], **kwargs: Any) -> tuple[ReplicaSetController, FakeClient]:
    client = FakeClient()
    factory = typed_factory(client)
    clock = FakeClock(wall_start=1_767_225_600.0 + 3600)  # an hour after the pods' timestamps
    controller = ReplicaSetController(client, factory, EventRecorder(client, "test"),  # type: ignore[arg-type]
                                      clock=clock, **kwargs)
    cache_add(controller.rs_informer, rs)
    client.seed("replicasets", rs)
    cache_add(controller.pod_informer, *pods)
    return controller, client


async def test_creates_missing_pods_from_the_template() -> None:
    rs = replica_set("web", 3, LABELS)
    controller, client = make_controller(rs, [pod("web-a", LABELS, owner=rs)])
    await controller.sync_replica_set("default/web")
    creates = client.writes("pods", "create")
    assert len(creates) == 2
    for action in creates:
        meta = action.body["metadata"]
        assert meta["generateName"] == "web-"
        assert meta["labels"] == LABELS
        assert meta["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                            "uid": "uid-web", "controller": True, "blockOwnerDeletion": True}]
        assert action.body["spec"]["containers"][0]["image"] == "nginx"
    status = client.writes("replicasets", "update_status")[-1].body["status"]
    assert status["replicas"] == 1 and status["observedGeneration"] == 1


async def test_expectations_prevent_creating_twice_before_pods_are_seen() -> None:
    rs = replica_set("web", 2, LABELS)
    controller, client = make_controller(rs, [])
    await controller.sync_replica_set("default/web")
    assert len(client.writes("pods", "create")) == 2
    await controller.sync_replica_set("default/web")  # the cache has not shown them yet
    assert len(client.writes("pods", "create")) == 2
    for action in client.writes("pods", "create"):  # the informer delivers them
        cache_add(controller.pod_informer, action.body)
        controller.add_pod(parsed(controller.pod_informer, action.body))
    await controller.sync_replica_set("default/web")
    assert len(client.writes("pods", "create")) == 2


async def test_failed_create_lowers_expectations_and_sets_replica_failure() -> None:
    rs = replica_set("web", 4, LABELS)
    controller, client = make_controller(rs, [])
    client.fail[("create", "pods")] = ServerError(500, "InternalError", "quota exceeded")
    with pytest.raises(ServerError):
        await controller.sync_replica_set("default/web")
    assert client.writes("pods", "create") == []  # the first batch (1) failed: no more tries
    assert controller.expectations.satisfied_expectations("default/web")
    status = client.writes("replicasets", "update_status")[-1].body["status"]
    assert status["conditions"][0]["type"] == "ReplicaFailure"
    assert status["conditions"][0]["reason"] == "FailedCreate"


async def test_scale_down_deletes_the_least_valuable_pods_first() -> None:
    rs = replica_set("web", 2, LABELS)
    pods = [
        pod("old-ready", LABELS, owner=rs, ready_since="2026-01-01T00:00:00Z"),
        pod("unscheduled", LABELS, owner=rs, node=None, phase="Pending", ready=False),
        pod("not-ready", LABELS, owner=rs, ready=False),
        pod("new-ready", LABELS, owner=rs, ready_since="2026-01-01T00:30:00Z"),
        pod("restarting", LABELS, owner=rs, ready_since="2026-01-01T00:00:00Z", restarts=5),
    ]
    controller, client = make_controller(rs, pods)
    await controller.sync_replica_set("default/web")
    assert [a.name for a in client.writes("pods", "delete")] == ["unscheduled", "not-ready", "new-ready"]


@pytest.mark.parametrize(("a", "b"), [
    (pod("x", LABELS, node=None, phase="Pending", ready=False), pod("y", LABELS)),
    (pod("x", LABELS, phase="Pending", ready=False), pod("y", LABELS, phase="Running", ready=False)),
    (pod("x", LABELS, phase="Unknown", ready=False), pod("y", LABELS, phase="Running", ready=False)),
    (pod("x", LABELS, ready=False), pod("y", LABELS, ready=True)),
    (pod("x", LABELS, ready_since="2026-01-01T00:10:00Z"), pod("y", LABELS, ready_since="2026-01-01T00:05:00Z")),
    (pod("x", LABELS, restarts=3), pod("y", LABELS, restarts=1)),
    (pod("x", LABELS, created="2026-01-02T00:00:00Z"), pod("y", LABELS, created="2026-01-01T00:00:00Z")),
])
def test_active_pods_order_deletes_first_the_first(a: Obj, b: Obj) -> None:
    assert active_pods_sort_key(Pod.from_dict(a)) < active_pods_sort_key(Pod.from_dict(b))


async def test_deleted_pods_are_observed_once_each() -> None:
    rs = replica_set("web", 1, LABELS)
    pods = [pod("a", LABELS, owner=rs), pod("b", LABELS, owner=rs, ready=False),
            pod("c", LABELS, owner=rs, ready=False)]
    controller, client = make_controller(rs, pods)
    await controller.sync_replica_set("default/web")
    deleted = [a.name for a in client.writes("pods", "delete")]
    assert sorted(deleted) == ["b", "c"]
    victim = pods[1] if deleted[0] == "b" else pods[2]
    terminating = {**victim, "metadata": {**victim["metadata"], "deletionTimestamp": "x", "resourceVersion": "2"}}
    victim_pod, terminating_pod = Pod.from_dict(victim), Pod.from_dict(terminating)
    controller.update_pod(victim_pod, terminating_pod)  # terminating: counts as deleted
    controller.delete_pod(terminating_pod)  # and then really gone: must not count again
    assert not controller.expectations.satisfied_expectations("default/web")


async def test_adopts_matching_orphans_and_releases_non_matching_pods() -> None:
    rs = replica_set("web", 2, LABELS)
    orphan = pod("orphan", LABELS)
    stray = pod("stray", {"app": "other"}, owner=rs)
    foreign_owner = replica_set("other", 1, LABELS)
    foreign = pod("foreign", LABELS, owner=foreign_owner)
    controller, client = make_controller(rs, [orphan, stray, foreign, pod("mine", LABELS, owner=rs)])
    await controller.sync_replica_set("default/web")
    patches = {a.name: a.body for a in client.writes("pods", "patch")}
    assert set(patches) == {"orphan", "stray"}
    assert patches["orphan"]["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    assert patches["stray"]["metadata"]["ownerReferences"] == [{"$patch": "delete", "uid": "uid-web"}]
    assert client.writes("pods", "create") == []  # mine + adopted orphan = 2
    assert client.writes("pods", "delete") == []


async def test_does_not_adopt_when_the_fresh_owner_is_being_deleted() -> None:
    rs = replica_set("web", 1, LABELS)
    controller, client = make_controller(rs, [pod("orphan", LABELS)])
    client.seed("replicasets", {**rs, "metadata": {**rs["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    with pytest.raises(RuntimeError):
        await controller.sync_replica_set("default/web")
    assert client.writes("pods", "patch") == []


async def test_terminating_and_finished_pods_do_not_count() -> None:
    rs = replica_set("web", 2, LABELS)
    pods = [pod("done", LABELS, owner=rs, phase="Succeeded", ready=False),
            pod("going", LABELS, owner=rs, deleting=True), pod("alive", LABELS, owner=rs)]
    controller, client = make_controller(rs, pods)
    await controller.sync_replica_set("default/web")
    assert len(client.writes("pods", "create")) == 1


async def test_status_counts_ready_available_and_fully_labeled() -> None:
    rs = replica_set("web", 3, LABELS, generation=4, template_labels={**LABELS, "tier": "fe"})
    rs["spec"]["minReadySeconds"] = 600
    pods = [pod("a", {**LABELS, "tier": "fe"}, owner=rs, ready_since="2026-01-01T00:00:00Z"),
            pod("b", LABELS, owner=rs, ready_since="2026-01-01T00:59:00Z"),  # ready 1 min: not available
            pod("c", LABELS, owner=rs, ready=False)]
    controller, client = make_controller(rs, pods)
    await controller.sync_replica_set("default/web")
    status = client.writes("replicasets", "update_status")[-1].body["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 1, "readyReplicas": 2,
                      "availableReplicas": 1, "observedGeneration": 4}


async def test_unchanged_status_is_not_written() -> None:
    rs = replica_set("web", 1, LABELS, status={"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1,
                                                "availableReplicas": 1, "observedGeneration": 1})
    controller, client = make_controller(rs, [pod("a", LABELS, owner=rs)])
    await controller.sync_replica_set("default/web")
    assert client.actions == []


async def test_a_deleted_replica_set_is_forgotten() -> None:
    rs = replica_set("web", 1, LABELS)
    controller, client = make_controller(rs, [])
    controller.rs_informer.indexer.delete_key("default/web")
    await controller.sync_replica_set("default/web")
    assert client.actions == []


def test_pod_events_enqueue_the_owner_or_matching_replica_sets() -> None:
    rs = replica_set("web", 1, LABELS)
    other = replica_set("other", 1, {"app": "other"})
    controller, _ = make_controller(rs, [])
    cache_add(controller.rs_informer, other)
    controller.add_pod(Pod.from_dict(pod("orphan", LABELS)))
    controller.add_pod(Pod.from_dict(pod("owned", {"app": "zzz"}, owner=other)))
    assert sorted(controller.queue._queue) == ["default/other", "default/web"]
