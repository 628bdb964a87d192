"""Scheduling cycles with a fake client (sample-controller style): preload the
informer-fed state through the event handlers, run one cycle, assert the actions."""

from __future__ import annotations

import asyncio

from scheduler.algorithm import FitError, schedule_pod
from scheduler.cache import SchedulerCache
from scheduler.cycle_state import CycleState
from scheduler.plugins import default_profile
from scheduler.plugins.default_binder import DefaultBinder
from scheduler.runtime import Framework, PluginEntry
from scheduler.scheduler import Scheduler
from scheduler.types import PodInfo
from tests.unit.scheduler.builders import make_node, make_pod, pod_dict
from tinykube.api.core import Node, Pod
from tinykube.api.meta import KubeObject
from tinykube.client.clock import FakeClock
from tinykube.client.errors import Conflict
from tinykube.testing.fake_client import FakeClient


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: KubeObject, type: str, reason: str, message: str) -> None:
        self.events.append((obj.metadata.name or "", str(type), reason, message))


def bindings(client: FakeClient) -> dict[str, str]:
    return {f"{a.namespace}/{a.name}": a.body["target"]["name"] for a in client.writes("pods", "create")
            if a.subresource == "binding"}


def fail_bindings(client: FakeClient) -> None:
    client.fail[("create_binding", "pods")] = Conflict(409, "Conflict", "pod is already assigned")


def new_scheduler(*nodes: Node, plugins: list[PluginEntry] | None = None
                  ) -> tuple[Scheduler, FakeClient, FakeRecorder]:
    """The default profile, or `plugins` followed by DefaultBinder on the same fake client."""
    client, recorder = FakeClient(), FakeRecorder()
    framework = None if plugins is None else Framework(
        "default-scheduler", [*plugins, PluginEntry(DefaultBinder(client))])
    sched = Scheduler(client, recorder, framework=framework, clock=FakeClock(), rng=lambda: 0.99)
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
    assert bindings(client) == {"ns/web": "large"}
    assert recorder.events == [("web", "Normal", "Scheduled", "Successfully assigned ns/web to large")]


async def test_assumed_pods_count_before_their_binding_is_observed() -> None:
    sched, client, _ = new_scheduler(make_node("a", cpu="2"), make_node("b", cpu="2"))
    for i in range(4):
        sched.on_pod_add(make_pod(f"p{i}", cpu="1"))
    await run_cycles(sched, 4)
    placed = list(bindings(client).values())
    assert sorted(placed) == ["a", "a", "b", "b"]  # never three on a 2-cpu node


async def test_pods_of_one_replicaset_spread_across_nodes() -> None:
    sched, client, _ = new_scheduler(*(make_node(f"n{i}") for i in range(3)))
    for i in range(6):
        sched.on_pod_add(make_pod(f"web-{i}", owner_uid="rs-1"))
    await run_cycles(sched, 6)
    per_node = [list(bindings(client).values()).count(f"n{i}") for i in range(3)]
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
    [action] = client.actions
    assert (action.verb, action.resource, action.subresource, action.namespace, action.name) == \
        ("patch", "pods", "status", "ns", "huge")
    [condition] = action.body["status"]["conditions"]
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
    assert bindings(client) == {"ns/huge": "big"}


async def test_a_failed_binding_forgets_the_assumed_pod_and_backs_off() -> None:
    sched, client, recorder = new_scheduler(make_node("n1", cpu="2"))
    fail_bindings(client)
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
    bound = make_pod("web", cpu="1", node_name="n1")
    sched.on_pod_update(pending, bound)
    assert not sched.cache.is_assumed("uid-web")
    assert sched.cache.get_node_info("n1").requested.milli_cpu == 1000  # type: ignore[union-attr]
    sched.on_pod_delete(bound)
    assert sched.cache.get_node_info("n1").requested.milli_cpu == 0  # type: ignore[union-attr]


async def test_pods_for_another_scheduler_or_being_deleted_are_ignored() -> None:
    sched, client, _ = new_scheduler(make_node("n1"))
    sched.on_pod_add(make_pod("other", scheduler_name="my-scheduler"))
    assert len(sched.queue) == 0
    doomed = pod_dict("doomed")
    sched.on_pod_add(Pod.from_dict(doomed))
    doomed["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    sched.pods["ns/doomed"] = Pod.from_dict(doomed)
    await run_cycles(sched, 1)
    assert client.actions == []


def test_no_nodes_at_all_says_so() -> None:
    try:
        schedule_pod(default_profile(FakeClient()), CycleState(), PodInfo(make_pod()), [])
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
