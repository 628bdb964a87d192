"""Scheduling cycles with a fake client (sample-controller style): preload the
informer-fed state through the event handlers, run one cycle, assert the actions."""

from __future__ import annotations

import asyncio
from typing import Any

from scheduler.algorithm import FitError, schedule_pod
from scheduler.cache import SchedulerCache
from scheduler.plugins import default_profile
from scheduler.scheduler import Scheduler
from scheduler.types import PodInfo
from tests.unit.scheduler.builders import make_node, make_pod
from tinykube.client.clock import FakeClock
from tinykube.client.errors import Conflict

Obj = dict[str, Any]


class FakeClient:
    """Records every write; `fail_bind` makes bindings answer 409."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, str, Any]] = []
        self.fail_bind = False

    async def create_subresource(self, info: Any, name: str, subresource: str, body: Any,
                                 namespace: str | None = None) -> Obj:
        self.actions.append((f"create {info.plural}/{subresource}", f"{namespace}/{name}", body))
        if self.fail_bind:
            raise Conflict(409, "Conflict", f"pod {name} is already assigned")
        return {"kind": "Status", "status": "Success"}

    async def patch(self, info: Any, name: str, body: Any, *, patch_type: Any = None,
                    namespace: str | None = None, subresource: str | None = None) -> Obj:
        self.actions.append((f"patch {info.plural}/{subresource}", f"{namespace}/{name}", body))
        return {}

    def bindings(self) -> dict[str, str]:
        return {key: body["target"]["name"] for verb, key, body in self.actions if verb == "create pods/binding"}


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: Obj, type: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], str(type), reason, message))


def new_scheduler(*nodes: Obj) -> tuple[Scheduler, FakeClient, FakeRecorder]:
    client, recorder = FakeClient(), FakeRecorder()
    sched = Scheduler(client, recorder, clock=FakeClock(), rng=lambda: 0.99)
    for node in nodes:
        sched.on_node_add(node)
    return sched, client, recorder


async def run_cycles(sched: Scheduler, count: int) -> None:
    for _ in range(count):
        await asyncio.wait_for(sched.schedule_one(), 1)
    while sched._binding_tasks:
        await asyncio.gather(*list(sched._binding_tasks))


async def test_a_pod_is_bound_to_the_node_with_room() -> None:
    sched, client, recorder = new_scheduler(make_node("small", cpu="1"), make_node("large", cpu="8"))
    sched.on_pod_add(make_pod("web", cpu="2"))
    await run_cycles(sched, 1)
    assert client.bindings() == {"ns/web": "large"}
    assert recorder.events == [("web", "Normal", "Scheduled", "Successfully assigned ns/web to large")]


async def test_assumed_pods_count_before_their_binding_is_observed() -> None:
    sched, client, _ = new_scheduler(make_node("a", cpu="2"), make_node("b", cpu="2"))
    for i in range(4):
        sched.on_pod_add(make_pod(f"p{i}", cpu="1"))
    await run_cycles(sched, 4)
    placed = list(client.bindings().values())
    assert sorted(placed) == ["a", "a", "b", "b"]  # never three on a 2-cpu node


async def test_pods_of_one_replicaset_spread_across_nodes() -> None:
    sched, client, _ = new_scheduler(*(make_node(f"n{i}") for i in range(3)))
    for i in range(6):
        sched.on_pod_add(make_pod(f"web-{i}", owner_uid="rs-1"))
    await run_cycles(sched, 6)
    per_node = [list(client.bindings().values()).count(f"n{i}") for i in range(3)]
    assert per_node == [2, 2, 2]


async def test_an_unschedulable_pod_gets_the_condition_and_the_event() -> None:
    sched, client, recorder = new_scheduler(
        make_node("n1", cpu="2"), make_node("n2", cpu="2"),
        make_node("n3", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]))
    sched.on_pod_add(make_pod("huge", cpu="3"))
    await run_cycles(sched, 1)
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. "
               "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
               "2 No preemption victims found for incoming pod.")
    assert recorder.events == [("huge", "Warning", "FailedScheduling", message)]
    [(verb, key, patch)] = client.actions
    assert (verb, key) == ("patch pods/status", "ns/huge")
    [condition] = patch["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"], condition["message"]) == \
        ("PodScheduled", "False", "Unschedulable", message)
    assert sched.queue.pending_pods()["unschedulable"] == ["ns/huge"]


async def test_a_new_node_brings_the_unschedulable_pod_back() -> None:
    sched, client, _ = new_scheduler(make_node("n1", cpu="2"))
    sched.on_pod_add(make_pod("huge", cpu="3"))
    await run_cycles(sched, 1)
    sched.queue._clock.advance(5)  # type: ignore[attr-defined]  # past the 1 s backoff
    sched.on_node_add(make_node("big", cpu="16"))
    await run_cycles(sched, 1)
    assert client.bindings() == {"ns/huge": "big"}


async def test_a_failed_binding_forgets_the_assumed_pod_and_backs_off() -> None:
    sched, client, recorder = new_scheduler(make_node("n1", cpu="2"))
    client.fail_bind = True
    sched.on_pod_add(make_pod("web", cpu="2"))
    await run_cycles(sched, 1)
    assert sched.cache.get_node_info("n1").requested.milli_cpu == 0  # type: ignore[union-attr]
    assert sched.queue.pending_pods()["backoff"] == ["ns/web"]
    assert recorder.events[-1][2] == "FailedScheduling"


async def test_the_informer_confirming_the_binding_replaces_the_assumed_pod() -> None:
    sched, _, _ = new_scheduler(make_node("n1", cpu="2"))
    pending = make_pod("web", cpu="1")
    sched.on_pod_add(pending)
    await run_cycles(sched, 1)
    bound = {**pending, "spec": {**pending["spec"], "nodeName": "n1"}}
    sched.on_pod_update(pending, bound)
    assert not sched.cache.is_assumed("uid-web")
    assert sched.cache.get_node_info("n1").requested.milli_cpu == 1000  # type: ignore[union-attr]
    sched.on_pod_delete(bound)
    assert sched.cache.get_node_info("n1").requested.milli_cpu == 0  # type: ignore[union-attr]


async def test_pods_for_another_scheduler_or_being_deleted_are_ignored() -> None:
    sched, client, _ = new_scheduler(make_node("n1"))
    other = make_pod("other")
    other["spec"]["schedulerName"] = "my-scheduler"
    sched.on_pod_add(other)
    assert len(sched.queue) == 0
    doomed = make_pod("doomed")
    sched.on_pod_add(doomed)
    sched.pods["ns/doomed"] = {**doomed, "metadata": {**doomed["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    await run_cycles(sched, 1)
    assert client.actions == []


def test_no_nodes_at_all_says_so() -> None:
    try:
        schedule_pod(default_profile(), PodInfo.from_pod(make_pod()), [])
    except FitError as err:
        assert err.message() == "no nodes available to schedule pods"
    else:
        raise AssertionError("expected a FitError")


def test_the_cache_keeps_bound_pods_of_a_node_it_has_not_seen_yet() -> None:
    cache = SchedulerCache()
    cache.add_pod(make_pod("early", cpu="1", node_name="late-node"))
    assert cache.node_infos() == []
    cache.add_node(make_node("late-node"))
    [info] = cache.node_infos()
    assert info.requested.milli_cpu == 1000
