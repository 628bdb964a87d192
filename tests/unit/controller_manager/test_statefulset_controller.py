"""StatefulSet controller: the plan as a table of pod states, and syncs against the fake client."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, pod, typed_factory

from controller_manager.history import get_patch
from controller_manager.statefulset import StatefulSetController
from controller_manager.statefulset.control import Revision, Verb, plan_stateful_set
from controller_manager.statefulset.status import calculate_status
from tinykube.api.apps import StatefulSet
from tinykube.api.core import Pod, PodTemplateSpec
from tinykube.api.other import PersistentVolumeClaim
from tinykube.client import EventRecorder, FakeClock, ServerError

LABELS = {"app": "db"}
Obj = dict[str, Any]
NOW = 1_767_225_600.0 + 3600  # an hour after the pods' timestamps


def stateful_set(replicas: int = 3, *, policy: str = "OrderedReady", strategy: Obj | None = None,
                 claims: bool = False, retention: Obj | None = None, image: str = "db:1",
                 min_ready: int = 0, status: Obj | None = None) -> Obj:
    spec: Obj = {"replicas": replicas, "serviceName": "db", "podManagementPolicy": policy,
                 "selector": {"matchLabels": dict(LABELS)}, "revisionHistoryLimit": 10,
                 "minReadySeconds": min_ready,
                 "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                 "template": {"metadata": {"labels": dict(LABELS)},
                              "spec": {"containers": [{"name": "c", "image": image}]}}}
    if claims:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = retention
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default", "uid": "uid-db", "resourceVersion": "1",
                         "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": spec, "status": status or {"replicas": 0}}


def member(sts: Obj, ordinal: int, revision: str = "rev-new", **kwargs: Any) -> Obj:
    name = f"db-{ordinal}"
    labels = {**LABELS, "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": name,
              "apps.kubernetes.io/pod-index": str(ordinal)}
    obj = pod(name, labels, owner=sts, **kwargs)
    obj["spec"].update(hostname=name, subdomain="db")
    return obj


def revision(name: str, image: str) -> Revision:
    return Revision(name, PodTemplateSpec.from_dict({"metadata": {"labels": dict(LABELS)},
                                                     "spec": {"containers": [{"name": "c", "image": image}]}}))


OLD, NEW = revision("rev-old", "db:0"), revision("rev-new", "db:1")


def plan(sts: Obj, pods: list[Obj], claims: list[Obj] | None = None) -> list[tuple[str, str]]:
    result = plan_stateful_set(StatefulSet.from_dict(sts), OLD, NEW, [Pod.from_dict(p) for p in pods],
                               {c["metadata"]["name"]: PersistentVolumeClaim.from_dict(c) for c in claims or []},
                               NOW)
    return [(step.verb.value, step.pod.metadata.name or "") for step in result.steps]


# --- the plan -----------------------------------------------------------------------------


def test_ordered_ready_creates_one_pod_at_a_time_and_waits_for_readiness() -> None:
    sts = stateful_set(3)
    assert plan(sts, []) == [("create", "db-0")]
    assert plan(sts, [member(sts, 0, phase="Pending", ready=False)]) == []
    assert plan(sts, [member(sts, 0, phase="Running", ready=False)]) == []
    assert plan(sts, [member(sts, 0)]) == [("create", "db-1")]
    assert plan(sts, [member(sts, 0), member(sts, 1)]) == [("create", "db-2")]


def test_ordered_ready_waits_for_min_ready_seconds() -> None:
    sts = stateful_set(2, min_ready=7200)  # ready for one hour only
    result = plan_stateful_set(StatefulSet.from_dict(sts), OLD, NEW, [Pod.from_dict(member(sts, 0))], {}, NOW)
    assert result.steps == [] and result.requeue_after_seconds == 7200


def test_parallel_creates_every_missing_pod_at_once() -> None:
    sts = stateful_set(3, policy="Parallel")
    assert plan(sts, [member(sts, 1, phase="Pending", ready=False)]) == [("create", "db-0"), ("create", "db-2")]


def test_scale_down_deletes_the_highest_ordinal_first_one_at_a_time() -> None:
    sts = stateful_set(1)
    pods = [member(sts, 0), member(sts, 1), member(sts, 2)]
    assert plan(sts, pods) == [("delete", "db-2")]
    assert plan(sts, [member(sts, 0), member(sts, 1), member(sts, 2, deleting=True)]) == []
    assert plan(stateful_set(1, policy="Parallel"), pods) == [("delete", "db-2"), ("delete", "db-1")]


def test_ordered_ready_does_not_scale_down_while_a_lower_pod_is_unhealthy() -> None:
    sts = stateful_set(1)
    assert plan(sts, [member(sts, 0, ready=False), member(sts, 1)]) == []


def test_failed_pod_is_deleted_and_recreated_later() -> None:
    sts = stateful_set(2)
    assert plan(sts, [member(sts, 0, phase="Failed", ready=False), member(sts, 1)]) == [("delete", "db-0")]
    assert plan(sts, [member(sts, 1)]) == [("create", "db-0")]


def test_rolling_update_replaces_pods_from_the_highest_ordinal() -> None:
    sts = stateful_set(3)
    old = [member(sts, i, "rev-old") for i in range(3)]
    assert plan(sts, old) == [("delete", "db-2")]
    assert plan(sts, old[:2] + [member(sts, 2, phase="Pending", ready=False)]) == []  # waits for db-2
    assert plan(sts, old[:2] + [member(sts, 2)]) == [("delete", "db-1")]


def test_partition_keeps_lower_ordinals_at_the_current_revision() -> None:
    sts = stateful_set(3, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    pods = [member(sts, 0, "rev-old"), member(sts, 1, "rev-old"), member(sts, 2)]
    assert plan(sts, pods) == []
    created = plan_stateful_set(StatefulSet.from_dict(sts), OLD, NEW, [Pod.from_dict(p) for p in pods[1:]], {}, NOW)
    assert created.steps[0].pod.metadata.labels["controller-revision-hash"] == "rev-old"  # type: ignore[index]
    assert created.steps[0].pod.spec.containers[0].image == "db:0"  # type: ignore[union-attr]


def test_max_unavailable_deletes_several_old_pods_at_once() -> None:
    sts = stateful_set(4, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 2}})
    pods = [member(sts, i, "rev-old") for i in range(4)]
    assert plan(sts, pods) == [("delete", "db-3"), ("delete", "db-2")]
    # an unready updated pod uses one of the two (Parallel: OrderedReady would wait for it first)
    sts["spec"]["podManagementPolicy"] = "Parallel"
    assert plan(sts, pods[:3] + [member(sts, 3, ready=False)]) == [("delete", "db-2")]


def test_on_delete_never_deletes_old_pods_but_recreates_at_the_update_revision() -> None:
    sts = stateful_set(2, strategy={"type": "OnDelete"})
    assert plan(sts, [member(sts, 0, "rev-old"), member(sts, 1, "rev-old")]) == []
    result = plan_stateful_set(StatefulSet.from_dict(sts), OLD, NEW, [Pod.from_dict(member(sts, 0, "rev-old"))],
                               {}, NOW)
    assert result.steps[0].pod.metadata.labels["controller-revision-hash"] == "rev-new"  # type: ignore[index]


def test_a_pod_with_the_wrong_identity_is_fixed() -> None:
    sts = stateful_set(1)
    wrong = member(sts, 0)
    wrong["spec"]["subdomain"] = "other"
    assert plan(sts, [wrong]) == [("update", "db-0")]


def test_new_pod_has_identity_storage_and_revision() -> None:
    sts = StatefulSet.from_dict(stateful_set(1, claims=True))
    new_pod = plan_stateful_set(sts, OLD, NEW, [], {}, NOW).steps[0].pod
    assert new_pod.metadata.name == "db-0" and new_pod.spec is not None
    assert (new_pod.spec.hostname, new_pod.spec.subdomain) == ("db-0", "db")
    assert new_pod.metadata.labels == {**LABELS, "controller-revision-hash": "rev-new",
                                       "statefulset.kubernetes.io/pod-name": "db-0",
                                       "apps.kubernetes.io/pod-index": "0"}
    volume = (new_pod.spec.volumes or [])[0]
    assert volume.name == "data" and volume.persistent_volume_claim is not None
    assert volume.persistent_volume_claim.claim_name == "data-db-0"


def test_a_new_pod_waits_while_its_claim_still_belongs_to_a_deleted_pod() -> None:
    sts = stateful_set(1, claims=True)
    stale = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": "data-db-0", "namespace": "default", "uid": "uid-claim",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "db-0", "uid": "uid-gone"}]}}
    assert plan(sts, [], [stale]) == []


def test_status_counts_and_completes_the_rolling_update() -> None:
    sts = StatefulSet.from_dict(stateful_set(2))
    pods = [Pod.from_dict(member(stateful_set(), 0, "rev-old")), Pod.from_dict(member(stateful_set(), 1))]
    status = calculate_status(sts, pods, "rev-old", "rev-new", NOW)
    assert (status.replicas, status.ready_replicas, status.current_replicas, status.updated_replicas,
            status.current_revision, status.update_revision) == (2, 2, 1, 1, "rev-old", "rev-new")
    done = calculate_status(sts, [Pod.from_dict(member(stateful_set(), i)) for i in range(2)], "rev-old",
                            "rev-new", NOW)
    assert (done.current_revision, done.current_replicas, done.available_replicas) == ("rev-new", 2, 2)


# --- syncs against the fake client -------------------------------------------------------------


def make_controller(sts: Obj, pods: list[Obj], claims: list[Obj] | None = None,
                    revisions: list[Obj] | None = None) -> tuple[StatefulSetController, FakeClient]:
    client = FakeClient()
    controller = StatefulSetController(client, typed_factory(client), EventRecorder(client, "test"),  # type: ignore[arg-type]
                                       clock=FakeClock(wall_start=NOW))
    cache_add(controller.set_informer, sts)
    client.seed("statefulsets", sts)
    cache_add(controller.pod_informer, *pods)
    cache_add(controller.claim_informer, *(claims or []))
    cache_add(controller.history_informer, *(revisions or []))
    return controller, client


async def sync(controller: StatefulSetController) -> None:
    try:
        await controller.sync_stateful_set("default/db")
    finally:
        await controller.recorder.shut_down()  # flush the events


def current_revision_name(client: FakeClient) -> str:
    return client.writes("controllerrevisions", "create")[0].body["metadata"]["name"]


async def test_sync_creates_revision_claims_then_pod_with_events() -> None:
    controller, client = make_controller(stateful_set(2, claims=True,
                                                      retention={"whenDeleted": "Delete", "whenScaled": "Retain"}), [])
    await sync(controller)
    revision_name = current_revision_name(client)
    assert revision_name.startswith("db-")
    claim = client.writes("persistentvolumeclaims", "create")[0].body
    assert claim["metadata"]["name"] == "data-db-0" and claim["metadata"]["labels"] == LABELS
    assert [(r["kind"], r["name"]) for r in claim["metadata"]["ownerReferences"]] == [("StatefulSet", "db")]
    created = client.writes("pods", "create")
    assert [a.name for a in created] == ["db-0"]
    assert created[0].body["metadata"]["labels"]["controller-revision-hash"] == revision_name
    messages = [e["message"] for e in client.events]
    assert "create Claim data-db-0 Pod db-0 in StatefulSet db success" in messages
    assert "create Pod db-0 in StatefulSet db successful" in messages
    status = client.writes("statefulsets", "update_status")[-1].body["status"]
    assert status["updateRevision"] == revision_name and status["currentRevision"] == revision_name


async def test_scale_down_with_when_scaled_delete_hands_the_claim_to_the_pod() -> None:
    sts = stateful_set(1, claims=True, retention={"whenDeleted": "Retain", "whenScaled": "Delete"})
    controller, client = make_controller(sts, [])
    await sync(controller)  # creates the revision; use its name for the members
    name = current_revision_name(client)
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": "data-db-1", "namespace": "default", "uid": "uid-claim-1", "resourceVersion": "1"}}
    pods = []
    for ordinal in range(2):
        obj = member(sts, ordinal, name)
        obj["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-db-{ordinal}"}}]
        pods.append(obj)
    controller, client = make_controller(sts, pods, [claim], [client.writes("controllerrevisions", "create")[0].body])
    await sync(controller)
    updated = client.writes("persistentvolumeclaims", "update")[0].body
    assert [(r["kind"], r["name"]) for r in updated["metadata"]["ownerReferences"]] == [("Pod", "db-1")]
    assert [a.name for a in client.writes("pods", "delete")] == ["db-1"]
    assert "delete Pod db-1 in StatefulSet db successful" in [e["message"] for e in client.events]


async def test_history_is_pruned_to_the_limit_but_keeps_the_current_revision() -> None:
    sts = stateful_set(0, status={"replicas": 0, "currentRevision": "db-r1"})
    sts["spec"]["revisionHistoryLimit"] = 1

    def old(number: int) -> Obj:
        data = get_patch(StatefulSet.from_dict(stateful_set(image=f"db:old{number}")))
        return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": number, "data": data,
                "metadata": {"name": f"db-r{number}", "namespace": "default", "uid": f"uid-r{number}",
                             "resourceVersion": "1", "labels": {**LABELS, "controller-revision-hash": f"r{number}"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                                  "uid": "uid-db", "controller": True}]}}

    controller, client = make_controller(sts, [], revisions=[old(1), old(2), old(3)])
    await sync(controller)
    assert sorted(a.name for a in client.writes("controllerrevisions", "delete")) == ["db-r2", "db-r3"]


async def test_failed_create_records_a_warning_and_still_writes_status() -> None:
    controller, client = make_controller(stateful_set(1), [])
    client.fail[("create", "pods")] = ServerError(500, "InternalError", "etcd is down")
    with pytest.raises(ServerError):
        await sync(controller)
    assert client.writes("statefulsets", "update_status")
    assert any(e["reason"] == "FailedCreate" and e["message"].startswith("create Pod db-0 in StatefulSet db failed")
               for e in client.events)
