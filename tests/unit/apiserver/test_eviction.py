"""pods/eviction: the decision table, the budget arithmetic, and `evict` over MemoryStorage.

Kubernetes counterpart: pkg/registry/core/pod/storage/eviction_test.go
"""

from __future__ import annotations

from typing import Any

import pytest
from test_update_path import ctx, server  # noqa: F401 - the fixture, shared

from apiserver import errors
from apiserver.eviction import (
    TOO_MANY_PDBS_MESSAGE, VIOLATION_MESSAGE, Action, check_and_decrement, decide_eviction, evict,
    matching_pdbs,
)
from apiserver.server import APIServer
from tinykube.api.resources import POD_DISRUPTION_BUDGETS, PODS

Obj = dict[str, Any]
NOW = "2026-01-01T00:00:00Z"
LABELS = {"app": "web"}


def pod(phase: str = "Running", ready: bool = True, deleting: bool = False) -> Obj:
    meta: Obj = {"name": "web-1", "namespace": "default", "labels": LABELS, "resourceVersion": "7"}
    if deleting:
        meta["deletionTimestamp"] = NOW
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(name: str = "web", allowed: int = 1, healthy: int = 3, desired: int = 2,
        generation: int = 1, observed: int = 1, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "generation": generation},
            "spec": {"selector": {"matchLabels": LABELS}, **spec},
            "status": {"disruptionsAllowed": allowed, "currentHealthy": healthy,
                       "desiredHealthy": desired, "observedGeneration": observed}}


@pytest.mark.parametrize(("the_pod", "budgets", "action"), [
    (pod(), [], Action.DELETE),
    (pod(phase="Pending"), [pdb(allowed=0)], Action.DELETE),
    (pod(phase="Succeeded"), [pdb(allowed=0)], Action.DELETE),
    (pod(phase="Failed"), [pdb(allowed=0)], Action.DELETE),
    (pod(deleting=True), [pdb(allowed=0)], Action.DELETE),
    (pod(), [pdb(), pdb("other")], Action.TOO_MANY_BUDGETS),
    (pod(), [pdb(allowed=0)], Action.DECREMENT),
    (pod(ready=False), [pdb(allowed=0, healthy=2, desired=2)], Action.DELETE_IF_UNCHANGED),
    (pod(ready=False), [pdb(allowed=0, healthy=1, desired=2)], Action.DECREMENT),
    (pod(ready=False), [pdb(allowed=0, healthy=1, desired=2,
                            unhealthyPodEvictionPolicy="AlwaysAllow")],
     Action.DELETE_IF_UNCHANGED),
])
def test_decision(the_pod: Obj, budgets: list[Obj], action: Action) -> None:
    assert decide_eviction(the_pod, budgets).action is action


def test_an_empty_or_missing_selector_matches_nothing() -> None:
    budgets = [pdb(), {**pdb("empty"), "spec": {"selector": {}}}, {**pdb("none"), "spec": {}},
               {**pdb("db"), "spec": {"selector": {"matchLabels": {"app": "db"}}}}]
    assert [b["metadata"]["name"] for b in matching_pdbs(pod(), budgets)] == ["web"]


def test_decrement_records_the_pod() -> None:
    status = check_and_decrement(pdb(allowed=1), "web-1", NOW)["status"]
    assert status["disruptionsAllowed"] == 0
    assert status["disruptedPods"] == {"web-1": NOW}
    assert status["conditions"][0]["type"] == "DisruptionAllowed"
    assert status["conditions"][0]["reason"] == "InsufficientPods"


@pytest.mark.parametrize(("budget", "code", "cause"), [
    (pdb(allowed=0), 429, "The disruption budget web needs 2 healthy pods and has 3 currently"),
    (pdb(generation=2, observed=1), 429,
     "The disruption budget web is still being processed by the server."),
])
def test_refusals(budget: Obj, code: int, cause: str) -> None:
    with pytest.raises(errors.APIError) as raised:
        check_and_decrement(budget, "web-1", NOW)
    assert raised.value.status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": VIOLATION_MESSAGE, "reason": "TooManyRequests", "code": code,
        "details": {"causes": [{"reason": "DisruptionBudget", "message": cause}]}}


def test_negative_allowed_is_forbidden() -> None:
    with pytest.raises(errors.APIError) as raised:
        check_and_decrement(pdb(allowed=-1), "web-1", NOW)
    assert raised.value.code == 403


# --- evict over MemoryStorage ---------------------------------------------------------

async def running_pod(server: APIServer, name: str = "web-1") -> None:
    pods = server.registries[PODS]
    created = await pods.create("default", {"metadata": {"name": name, "labels": LABELS},
                                            "spec": {"containers": [{"name": "c", "image": "x"}]}},
                                ctx())
    created["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await pods.update("default", name, created, ctx(), "status")


async def budget(server: APIServer, allowed: int, *, name: str = "web") -> None:
    pdbs = server.registries[POD_DISRUPTION_BUDGETS]
    created = await pdbs.create("default", {"metadata": {"name": name}, "spec": {
        "minAvailable": 2, "selector": {"matchLabels": LABELS}}}, ctx())
    created["status"] = {"disruptionsAllowed": allowed, "currentHealthy": 2 + allowed,
                         "desiredHealthy": 2, "expectedPods": 2 + allowed,
                         "observedGeneration": created["metadata"]["generation"]}
    await pdbs.update("default", name, created, ctx(), "status")


EVICTION = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web-1"}}


async def test_evict_spends_the_budget_and_deletes(server: APIServer) -> None:
    await running_pod(server)
    await budget(server, allowed=1)
    status, code = await evict(server.registries[PODS], server.registries[POD_DISRUPTION_BUDGETS],
                               "default", "web-1", EVICTION, ctx())
    assert (status["status"], code) == ("Success", 201)
    with pytest.raises(errors.APIError):
        await server.registries[PODS].get("default", "web-1")
    stored = await server.registries[POD_DISRUPTION_BUDGETS].get("default", "web")
    assert stored["status"]["disruptionsAllowed"] == 0
    assert list(stored["status"]["disruptedPods"]) == ["web-1"]


async def test_evict_blocked_by_the_budget_deletes_nothing(server: APIServer) -> None:
    await running_pod(server)
    await budget(server, allowed=0)
    with pytest.raises(errors.APIError) as raised:
        await evict(server.registries[PODS], server.registries[POD_DISRUPTION_BUDGETS],
                     "default", "web-1", EVICTION, ctx())
    assert (raised.value.code, raised.value.message) == (429, VIOLATION_MESSAGE)
    assert await server.registries[PODS].get("default", "web-1")


async def test_two_budgets_are_a_500(server: APIServer) -> None:
    await running_pod(server)
    await budget(server, allowed=1)
    await budget(server, allowed=1, name="second")
    status, code = await evict(server.registries[PODS], server.registries[POD_DISRUPTION_BUDGETS],
                               "default", "web-1", EVICTION, ctx())
    assert (status["message"], code) == (TOO_MANY_PDBS_MESSAGE, 500)


async def test_name_mismatch_is_a_bad_request(server: APIServer) -> None:
    await running_pod(server)
    with pytest.raises(errors.APIError) as raised:
        await evict(server.registries[PODS], server.registries[POD_DISRUPTION_BUDGETS],
                    "default", "web-1", {**EVICTION, "metadata": {"name": "other"}}, ctx())
    assert (raised.value.code, raised.value.message) == (
        400, "name in URL does not match name in Eviction object")
