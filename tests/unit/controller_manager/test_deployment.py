"""Deployment controller: preload caches, run one sync, assert on the recorded actions."""

from __future__ import annotations

import copy
from typing import Any

from controller_fakes import FakeClient, cache_add, pod, replica_set, typed_factory

from controller_manager.deployment import DeploymentController
from controller_manager.deployment.util import compute_hash
from tinykube.api.core import PodTemplateSpec
from tinykube.client import EventRecorder, FakeClock

Obj = dict[str, Any]
LABELS = {"app": "web"}
REVISION = "deployment.kubernetes.io/revision"
NOW_WALL = 1_767_225_600.0 + 3600  # 2026-01-01T01:00:00Z


def deployment(replicas: int = 3, image: str = "nginx:1", *, strategy: Obj | None = None, generation: int = 1,
               status: Obj | None = None, annotations: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-d", "resourceVersion": "5",
                         "generation": generation, "annotations": dict(annotations or {})},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(LABELS)},
                     "strategy": strategy or {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "template": {"metadata": {"labels": dict(LABELS)},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec},
            "status": status or {}}


def owned_rs(d: Obj, image: str, replicas: int, revision: int, *, available: int | None = None,
             created: str = "2026-01-01T00:00:00Z", max_replicas: int | None = None) -> Obj:
    template = {"metadata": {"labels": dict(LABELS)}, "spec": {"containers": [{"name": "c", "image": image}]}}
    pod_hash = compute_hash(PodTemplateSpec.from_dict(template), None)
    labels = {**LABELS, "pod-template-hash": pod_hash}
    desired = d["spec"]["replicas"]
    annotations = {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas": str(desired),
                   "deployment.kubernetes.io/max-replicas": str(max_replicas if max_replicas is not None
                                                                else desired + 1)}
    ready = replicas if available is None else available
    return replica_set(f"web-{pod_hash}", replicas, labels, owner=d, annotations=annotations, created=created,
                       image=image, status={"replicas": replicas, "readyReplicas": ready,
                                            "availableReplicas": ready, "observedGeneration": 1})


def make_controller(d: Obj, rss: list[Obj], pods: list[Obj] = ()) -> tuple[DeploymentController, FakeClient]:  # type: ignore[assignment]
    client = FakeClient()
    factory = typed_factory(client)
    controller = DeploymentController(client, factory, EventRecorder(client, "test"),  # type: ignore[arg-type]
                                      clock=FakeClock(wall_start=NOW_WALL))
    cache_add(controller.d_informer, d)
    client.seed("deployments", d)
    cache_add(controller.rs_informer, *rss)
    cache_add(controller.pod_informer, *pods)
    return controller, client


def scales(client: FakeClient) -> dict[str, int]:
    return {a.name: a.body["spec"]["replicas"] for a in client.writes("replicasets", "update")}


def last_status(client: FakeClient) -> Obj:
    return dict(client.writes("deployments", "update_status")[-1].body["status"])


async def test_a_new_deployment_gets_a_hashed_replica_set_at_revision_1() -> None:
    d = deployment(3)
    controller, client = make_controller(d, [])
    await controller.sync_deployment("default/web")
    [create] = client.writes("replicasets", "create")
    rs = create.body
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {**LABELS, "pod-template-hash": pod_hash}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["annotations"] == {REVISION: "1", "deployment.kubernetes.io/desired-replicas": "3",
                                             "deployment.kubernetes.io/max-replicas": "4"}
    assert rs["metadata"]["ownerReferences"][0]["uid"] == "uid-d"
    [patch] = client.writes("deployments", "patch")
    assert patch.body == {"metadata": {"annotations": {REVISION: "1"}}}
    progressing = [c for c in last_status(client)["conditions"] if c["type"] == "Progressing"]
    assert progressing[0]["reason"] == "NewReplicaSetCreated"


async def test_rolling_update_surges_the_new_replica_set_first() -> None:
    d = deployment(3, image="nginx:2")
    old = owned_rs(d, "nginx:1", 3, 1)
    controller, client = make_controller(d, [old])
    await controller.sync_deployment("default/web")
    [create] = client.writes("replicasets", "create")
    assert create.body["spec"]["replicas"] == 1  # maxSurge 1: 3 old + 1 new
    assert create.body["metadata"]["annotations"][REVISION] == "2"
    assert scales(client) == {}  # maxUnavailable 0: no old pod may go yet


async def test_rolling_update_scales_old_down_only_as_new_pods_become_available() -> None:
    d = deployment(3, image="nginx:2")
    old = owned_rs(d, "nginx:1", 3, 1, created="2026-01-01T00:00:00Z")
    new = owned_rs(d, "nginx:2", 1, 2, available=0, created="2026-01-01T00:10:00Z")
    controller, client = make_controller(d, [old, new])
    await controller.sync_deployment("default/web")
    assert scales(client) == {}  # the new pod is not available: hold
    new_available = owned_rs(d, "nginx:2", 1, 2, available=1, created="2026-01-01T00:10:00Z")
    controller, client = make_controller(d, [old, new_available])
    await controller.sync_deployment("default/web")
    assert scales(client) == {old["metadata"]["name"]: 2}


async def test_unavailable_old_pods_are_removed_first() -> None:
    d = deployment(4, image="nginx:2", strategy={"type": "RollingUpdate",
                                                 "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
    old = owned_rs(d, "nginx:1", 4, 1, available=2, max_replicas=4)
    new = owned_rs(d, "nginx:2", 0, 2, created="2026-01-01T00:10:00Z", max_replicas=4)
    controller, client = make_controller(d, [old, new])
    await controller.sync_deployment("default/web")
    # total 4, floor 3, new RS has none unavailable: may remove 1, and an unhealthy one goes first
    assert scales(client) == {old["metadata"]["name"]: 3}


async def test_recreate_scales_old_to_zero_and_waits_for_pods_to_go() -> None:
    d = deployment(2, image="nginx:2", strategy={"type": "Recreate"})
    old = owned_rs(d, "nginx:1", 2, 1, max_replicas=2)
    controller, client = make_controller(d, [old])
    await controller.sync_deployment("default/web")
    assert scales(client) == {old["metadata"]["name"]: 0}
    assert client.writes("replicasets", "create") == []
    # Scaled to 0, but a pod is still running: still no new ReplicaSet.
    emptied = owned_rs(d, "nginx:1", 0, 1, max_replicas=2)
    emptied["status"]["replicas"] = 0
    lingering = pod("old-pod", emptied["metadata"]["labels"], owner=emptied)
    controller, client = make_controller(d, [emptied], [lingering])
    await controller.sync_deployment("default/web")
    assert client.writes("replicasets", "create") == []
    # Gone: the new ReplicaSet is created at full size.
    controller, client = make_controller(d, [emptied])
    await controller.sync_deployment("default/web")
    [create] = client.writes("replicasets", "create")
    assert create.body["spec"]["replicas"] == 2


async def test_paused_deployment_scales_but_does_not_roll_out() -> None:
    d = deployment(5, image="nginx:2", paused=True)
    old = owned_rs(d, "nginx:1", 3, 1)
    old["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = "3"
    controller, client = make_controller(d, [old])
    await controller.sync_deployment("default/web")
    assert client.writes("replicasets", "create") == []
    assert scales(client) == {old["metadata"]["name"]: 5}
    conditions = {c["type"]: c for c in client.writes("deployments", "update_status")[0].body["status"]["conditions"]}
    assert conditions["Progressing"]["reason"] == "DeploymentPaused"


async def test_proportional_scaling_during_a_rollout() -> None:
    d = deployment(20, image="nginx:3", strategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 2}})
    # Sized for 10 (max-replicas 10): 6 old, 4 new. Now spec.replicas is 20.
    a = owned_rs(d, "nginx:1", 6, 1, max_replicas=10)
    b = owned_rs(d, "nginx:2", 4, 2, max_replicas=10, created="2026-01-01T00:10:00Z")
    for rs in (a, b):
        rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = "10"
    controller, client = make_controller(d, [a, b])
    await controller.sync_deployment("default/web")
    assert scales(client) == {a["metadata"]["name"]: 12, b["metadata"]["name"]: 8}


async def test_restarted_at_annotation_makes_a_new_replica_set() -> None:
    d = deployment(2)
    current = owned_rs(d, "nginx:1", 2, 1)
    restarted = copy.deepcopy(d)
    restarted["spec"]["template"]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:30:00Z"}
    controller, client = make_controller(restarted, [current])
    await controller.sync_deployment("default/web")
    [create] = client.writes("replicasets", "create")
    assert create.body["metadata"]["name"] != current["metadata"]["name"]
    assert create.body["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:30:00Z"}


async def test_rollback_reuses_the_old_replica_set_with_the_next_revision() -> None:
    d = deployment(2, image="nginx:1", annotations={REVISION: "2"})  # template set back to nginx:1
    v1 = owned_rs(d, "nginx:1", 0, 1)
    v2 = owned_rs(d, "nginx:2", 2, 2, created="2026-01-01T00:10:00Z")
    controller, client = make_controller(d, [v1, v2])
    await controller.sync_deployment("default/web")
    assert client.writes("replicasets", "create") == []
    updates = client.writes("replicasets", "update")
    assert updates[0].name == v1["metadata"]["name"]
    assert updates[0].body["metadata"]["annotations"][REVISION] == "3"
    assert updates[0].body["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"


async def test_complete_rollout_cleans_up_history_beyond_the_limit() -> None:
    d = deployment(1, image="nginx:4", revisionHistoryLimit=1, generation=2,
                   status={"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                           "readyReplicas": 1})
    old = [owned_rs(d, f"nginx:{i}", 0, i, created=f"2026-01-01T00:0{i}:00Z") for i in (1, 2, 3)]
    current = owned_rs(d, "nginx:4", 1, 4, created="2026-01-01T00:09:00Z")
    controller, client = make_controller(d, [*old, current])
    await controller.sync_deployment("default/web")
    deleted = [a.name for a in client.writes("replicasets", "delete")]
    assert deleted == [old[0]["metadata"]["name"], old[1]["metadata"]["name"]]


async def test_complete_rollout_reports_new_replica_set_available() -> None:
    d = deployment(2, generation=3)
    current = owned_rs(d, "nginx:1", 2, 1, max_replicas=3)
    controller, client = make_controller(d, [current])
    await controller.sync_deployment("default/web")
    status = last_status(client)
    assert {k: status[k] for k in ("observedGeneration", "replicas", "updatedReplicas", "availableReplicas",
                                   "unavailableReplicas")} == {
        "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
        "unavailableReplicas": 0}
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"


async def test_a_stalled_rollout_exceeds_its_progress_deadline() -> None:
    stalled_since = "2026-01-01T00:00:00Z"  # an hour ago; the deadline is 600 s
    status = {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3,
              "availableReplicas": 3, "unavailableReplicas": 1,
              "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                              "lastUpdateTime": stalled_since, "lastTransitionTime": stalled_since},
                             {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                              "lastUpdateTime": stalled_since, "lastTransitionTime": stalled_since}]}
    d = deployment(3, image="nginx:2", status=status)
    old = owned_rs(d, "nginx:1", 3, 1)
    new = owned_rs(d, "nginx:2", 1, 2, available=0, created="2026-01-01T00:10:00Z")
    new["status"]["readyReplicas"] = 0
    controller, client = make_controller(d, [old, new])
    await controller.sync_deployment("default/web")
    conditions = {c["type"]: c for c in last_status(client)["conditions"]}
    assert conditions["Progressing"]["status"] == "False"
    assert conditions["Progressing"]["reason"] == "ProgressDeadlineExceeded"


async def test_orphan_replica_sets_matching_the_selector_are_adopted() -> None:
    d = deployment(1)
    orphan = replica_set("stray", 1, LABELS)
    controller, client = make_controller(d, [orphan])
    await controller.sync_deployment("default/web")
    [adopt] = client.writes("replicasets", "patch")
    assert adopt.name == "stray"
    assert adopt.body["metadata"]["ownerReferences"][0]["uid"] == "uid-d"
