"""ReplicationController manager: the ReplicaSet loop, seen through the RC's own wire shape."""

from __future__ import annotations

from typing import Any

from controller_fakes import FakeClient, cache_add, parsed, pod, typed_factory

from controller_manager.replication import ReplicationManager, rc_to_replica_set, replica_set_to_rc
from tinykube.api.core import ReplicationController
from tinykube.client import EventRecorder, FakeClock

LABELS = {"app": "web"}
Obj = dict[str, Any]


def replication_controller(name: str, replicas: int, labels: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "generation": 1,
                     "resourceVersion": "1", "labels": labels},
        "spec": {"replicas": replicas, "selector": labels,
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }


def make_manager(rc: Obj, pods: list[Obj]) -> tuple[ReplicationManager, FakeClient]:
    client = FakeClient()
    controller = ReplicationManager(client, typed_factory(client), EventRecorder(client, "test"),  # type: ignore[arg-type]
                                    clock=FakeClock(wall_start=1_767_225_600.0 + 3600))
    cache_add(controller.rs_informer, rc)
    client.seed("replicationcontrollers", rc)
    cache_add(controller.pod_informer, *pods)
    return controller, client


async def test_creates_pods_owned_by_the_replication_controller_and_writes_its_status() -> None:
    rc = replication_controller("web", 3, LABELS)
    controller, client = make_manager(rc, [pod("web-a", LABELS, owner=rc)])
    await controller.sync_replica_set("default/web")
    creates = client.writes("pods", "create")
    assert len(creates) == 2
    assert creates[0].body["metadata"]["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "ReplicationController", "name": "web", "uid": "uid-web",
        "controller": True, "blockOwnerDeletion": True}]
    update = client.writes("replicationcontrollers", "update_status")[-1].body
    assert update["kind"] == "ReplicationController"
    assert update["spec"]["selector"] == LABELS  # written back as a label map, not a LabelSelector
    assert update["status"]["replicas"] == 1 and update["status"]["observedGeneration"] == 1
    assert client.writes("replicasets") == []


async def test_scale_down_and_orphans_of_other_kinds_are_left_alone() -> None:
    rc = replication_controller("web", 1, LABELS)
    rs_owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "web", "uid": "uid-other"}}
    owned = [pod("web-a", LABELS, owner=rc), pod("web-b", LABELS, owner=rc)]
    foreign = pod("web-rs", LABELS, owner=rs_owner)
    controller, client = make_manager(rc, [*owned, foreign])
    await controller.sync_replica_set("default/web")
    deletes = client.writes("pods", "delete")
    assert len(deletes) == 1 and deletes[0].name in ("web-a", "web-b")
    # a pod owned by a namesake ReplicaSet resolves to no RC
    assert controller.resolve_controller_ref("default", parsed(controller.pod_informer, foreign)) is None


async def test_orphan_pods_matching_the_selector_enqueue_the_rc() -> None:
    rc = replication_controller("web", 1, LABELS)
    controller, _ = make_manager(rc, [])
    orphan = parsed(controller.pod_informer, pod("stray", LABELS))
    controller.add_pod(orphan)
    assert len(controller.queue) == 1


def test_conversion_round_trips_and_shares_nothing_with_the_cache() -> None:
    rc = ReplicationController.from_dict(replication_controller("web", 2, LABELS))
    rs = rc_to_replica_set(rc)
    assert rs.kind == "ReplicationController" and rs.api_version == "v1"
    assert rs.spec is not None and rs.spec.selector is not None
    assert rs.spec.selector.match_labels == LABELS
    rs.metadata.labels = {"changed": "yes"}
    assert rc.metadata.labels == LABELS
    assert replica_set_to_rc(rc_to_replica_set(rc)).to_dict() == rc.to_dict()
