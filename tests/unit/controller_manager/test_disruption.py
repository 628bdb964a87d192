"""Disruption controller: budget math as tables, one sync against the fake client."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, pod, replica_set, typed_factory

from controller_manager.disruption import DisruptionController
from controller_manager.disruption.status import calculate_status, scaled_value
from tinykube.api.core import Pod
from tinykube.api.policy import PodDisruptionBudget
from tinykube.client import EventRecorder, FakeClock

LABELS = {"app": "web"}
NOW = 1_767_225_600.0 + 3600  # 2026-01-01T01:00:00Z
NOW_TEXT = "2026-01-01T01:00:00Z"
Obj = dict[str, Any]


def deployment(name: str, replicas: int) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "resourceVersion": "1", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS},
                     "template": {"metadata": {"labels": LABELS},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def pdb(spec: Obj, *, generation: int = 1, status: Obj | None = None) -> Obj:
    obj: Obj = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": "web", "namespace": "default", "uid": "uid-pdb",
                             "resourceVersion": "5", "generation": generation},
                "spec": {"selector": {"matchLabels": LABELS}, **spec}}
    if status is not None:
        obj["status"] = status
    return obj


DEPLOY = deployment("web", 3)
RS = replica_set("web-1", 3, LABELS, owner=DEPLOY)


def scale_of_deployment(ref: Any, namespace: str) -> tuple[str, int] | None:
    return ("uid-web", 5) if ref.kind == "ReplicaSet" else None


@pytest.mark.parametrize(("spec", "ready", "expected", "desired", "healthy", "allowed"), [
    ({"minAvailable": 2}, 3, 3, 2, 3, 1),                 # an int: just counts the pods
    ({"minAvailable": 2}, 2, 3, 2, 2, 0),
    ({"minAvailable": 4}, 3, 3, 4, 3, 0),                 # never negative
    ({"minAvailable": "50%"}, 3, 5, 3, 3, 0),             # 50% of the scale 5, rounded up
    ({"minAvailable": "40%"}, 3, 5, 2, 3, 1),
    ({"maxUnavailable": 1}, 3, 5, 4, 3, 0),               # expected comes from the Deployment
    ({"maxUnavailable": "60%"}, 3, 5, 2, 3, 1),           # 60% of 5 = 3 → desired 2
    ({"maxUnavailable": 10}, 1, 5, 0, 1, 1),              # desired never below 0
])
def test_status_math(spec: Obj, ready: int, expected: int, desired: int, healthy: int,
                     allowed: int) -> None:
    pods = [Pod.from_dict(pod(f"p{i}", LABELS, owner=RS, ready=i < ready)) for i in range(3)]
    status, _ = calculate_status(PodDisruptionBudget.from_dict(pdb(spec)), pods,
                                 scale_of_deployment, NOW, NOW_TEXT)
    assert (status.expected_pods, status.desired_healthy, status.current_healthy,
            status.disruptions_allowed) == (expected, desired, healthy, allowed)
    condition = status.conditions[0] if status.conditions else None
    assert condition is not None and condition.type == "DisruptionAllowed"
    assert condition.status == ("True" if allowed else "False")
    assert condition.reason == ("SufficientPods" if allowed else "InsufficientPods")


def test_no_pods_allows_nothing() -> None:
    status, _ = calculate_status(PodDisruptionBudget.from_dict(pdb({"minAvailable": 0})), [],
                                 scale_of_deployment, NOW, NOW_TEXT)
    assert status.expected_pods == 0 and status.disruptions_allowed == 0


def test_unknown_controller_fails_safe() -> None:
    pods = [Pod.from_dict(pod("p", LABELS, owner=RS))]
    status, _ = calculate_status(PodDisruptionBudget.from_dict(pdb({"maxUnavailable": 1})), pods,
                                 lambda ref, ns: None, NOW, NOW_TEXT)
    assert status.disruptions_allowed == 0
    assert status.conditions is not None
    assert (status.conditions[0].reason, status.conditions[0].message) == (
        "SyncFailed", 'found no controllers for pod "p"')


def test_disrupted_pods_are_not_healthy_until_they_expire() -> None:
    pods = [Pod.from_dict(pod(f"p{i}", LABELS, owner=RS)) for i in range(3)]
    recorded = {"p0": "2026-01-01T00:59:00Z",   # 1 min ago: still expected to go
                "p1": "2026-01-01T00:57:00Z",   # 3 min ago: the eviction did not delete it
                "gone": "2026-01-01T00:59:30Z"}  # no such pod any more
    budget = PodDisruptionBudget.from_dict(pdb({"minAvailable": 1}, status={
        "disruptedPods": recorded, "observedGeneration": 1}))
    status, recheck = calculate_status(budget, pods, scale_of_deployment, NOW, NOW_TEXT)
    assert status.disrupted_pods == {"p0": "2026-01-01T00:59:00Z"}
    assert status.current_healthy == 2 and status.disruptions_allowed == 1
    assert recheck == pytest.approx(60.0)


@pytest.mark.parametrize(("value", "total", "scaled"), [(3, 10, 3), ("50%", 5, 3), ("0%", 7, 0),
                                                         ("100%", 7, 7), ("10%", 1, 1)])
def test_scaled_value_rounds_up(value: int | str, total: int, scaled: int) -> None:
    assert scaled_value(value, total) == scaled


def make_controller(budget: Obj, pods: list[Obj]) -> tuple[DisruptionController, FakeClient]:
    client = FakeClient()
    controller = DisruptionController(client, typed_factory(client),  # type: ignore[arg-type]
                                      EventRecorder(client, "test"),  # type: ignore[arg-type]
                                      clock=FakeClock(wall_start=NOW))
    cache_add(controller.pdb_informer, budget)
    client.seed("poddisruptionbudgets", budget)
    cache_add(controller.deployment_informer, DEPLOY)
    cache_add(controller.rs_informer, RS)
    cache_add(controller.pod_informer, *pods)
    return controller, client


async def test_sync_writes_status_from_the_deployment_scale() -> None:
    pods = [pod(f"web-{i}", LABELS, owner=RS, ready=i != 2) for i in range(3)]
    controller, client = make_controller(pdb({"maxUnavailable": 1}, generation=2), pods)
    await controller.sync_pod_disruption_budget("default/web")
    writes = client.writes("poddisruptionbudgets", "update_status")
    assert len(writes) == 1
    status = writes[0].body["status"]
    assert {k: status[k] for k in ("observedGeneration", "expectedPods", "desiredHealthy",
                                    "currentHealthy", "disruptionsAllowed")} == {
        "observedGeneration": 2, "expectedPods": 3, "desiredHealthy": 2, "currentHealthy": 2,
        "disruptionsAllowed": 0}


async def test_sync_writes_nothing_when_status_is_current() -> None:
    pods = [pod(f"web-{i}", LABELS, owner=RS) for i in range(3)]
    controller, client = make_controller(pdb({"minAvailable": 2}), pods)
    await controller.sync_pod_disruption_budget("default/web")
    written = client.writes("poddisruptionbudgets", "update_status")[0].body
    controller2, client2 = make_controller(written, pods)
    await controller2.sync_pod_disruption_budget("default/web")
    assert client2.writes("poddisruptionbudgets", "update_status") == []


def test_pod_events_enqueue_matching_budgets_only() -> None:
    controller, _ = make_controller(pdb({"minAvailable": 1}), [])
    controller.add_pod(Pod.from_dict(pod("other", {"app": "db"})))
    assert len(controller.queue) == 0
    controller.add_pod(Pod.from_dict(pod("web-x", LABELS)))
    assert len(controller.queue) == 1


async def test_a_replication_controller_gives_the_expected_scale() -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController",
          "metadata": {"name": "legacy", "namespace": "default", "uid": "uid-legacy", "resourceVersion": "1"},
          "spec": {"replicas": 4, "selector": LABELS,
                   "template": {"metadata": {"labels": LABELS},
                                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    pods = [pod(f"legacy-{i}", LABELS, owner=rc) for i in range(3)]
    controller, client = make_controller(pdb({"maxUnavailable": "50%"}), pods)
    cache_add(controller.rc_informer, rc)
    await controller.sync_pod_disruption_budget("default/web")
    status = client.writes("poddisruptionbudgets", "update_status")[0].body["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (4, 2, 1)
