"""The scheduling queue on a fake clock: order, backoff 1 s..10 s, and cluster events."""

from __future__ import annotations

import asyncio

import pytest

from scheduler.queue import QueuedPodInfo, SchedulingQueue
from scheduler.types import PodInfo
from tests.unit.scheduler.builders import make_pod, pod_dict
from tinykube.api.core import Pod
from tinykube.client.clock import FakeClock


def new_queue() -> tuple[SchedulingQueue, FakeClock]:
    clock = FakeClock()
    return SchedulingQueue(clock), clock


async def pop_now(queue: SchedulingQueue) -> QueuedPodInfo:
    return await asyncio.wait_for(queue.pop(), 1)


async def fail(queue: SchedulingQueue, name: str) -> QueuedPodInfo:
    """Pop `name` and report it unschedulable in that cycle."""
    queued = await pop_now(queue)
    assert queued.pod_info.key == f"ns/{name}"
    queue.add_unschedulable_if_not_present(queued, queue.scheduling_cycle)
    return queued


async def test_pods_pop_by_priority_then_arrival() -> None:
    queue, clock = new_queue()
    queue.add(make_pod("first"))
    clock.advance(1)
    queue.add(make_pod("urgent", priority=100))
    queue.add(make_pod("second"))
    assert [(await pop_now(queue)).pod_info.key for _ in range(3)] == ["ns/urgent", "ns/first", "ns/second"]


async def test_pop_waits_for_a_pod() -> None:
    queue, _ = new_queue()
    popping = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)
    assert not popping.done()
    queue.add(make_pod("late"))
    assert (await asyncio.wait_for(popping, 1)).pod_info.key == "ns/late"


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)])
async def test_backoff_doubles_from_one_second_up_to_ten(attempts: int, seconds: float) -> None:
    queue, _ = new_queue()
    queued = QueuedPodInfo(PodInfo(make_pod()), 0.0, 0.0, attempts=attempts)
    assert queue.backoff_duration(queued) == seconds


async def test_an_unschedulable_pod_waits_for_a_cluster_event() -> None:
    queue, clock = new_queue()
    queue.add(make_pod("big"))
    await fail(queue, "big")
    assert queue.pending_pods()["unschedulable"] == ["ns/big"]
    clock.advance(60)
    queue.flush_backoff_completed()
    assert queue.pending_pods()["active"] == []  # time alone does not retry it (before 5 minutes)
    queue.move_all_to_active_or_backoff("NodeAdd")
    assert queue.pending_pods()["active"] == ["ns/big"]


async def test_a_cluster_event_inside_the_backoff_window_goes_through_backoff() -> None:
    queue, clock = new_queue()
    queue.add(make_pod("big"))
    await fail(queue, "big")  # attempt 1: 1 s backoff, parked as unschedulable
    queue.move_all_to_active_or_backoff("NodeAdd")
    assert queue.pending_pods()["backoff"] == ["ns/big"]
    clock.advance(0.5)
    queue.flush_backoff_completed()
    assert queue.pending_pods()["backoff"] == ["ns/big"]
    clock.advance(0.5)
    queue.flush_backoff_completed()
    assert queue.pending_pods()["active"] == ["ns/big"]
    queued = await pop_now(queue)
    assert queued.attempts == 2


async def test_a_move_during_the_cycle_sends_the_pod_to_backoff_not_unschedulable() -> None:
    queue, clock = new_queue()
    queue.add(make_pod("big"))
    queued = await pop_now(queue)
    cycle = queue.scheduling_cycle
    queue.move_all_to_active_or_backoff("NodeAdd")  # a node arrived while "big" was being scheduled
    queue.add_unschedulable_if_not_present(queued, cycle)
    assert queue.pending_pods()["backoff"] == ["ns/big"]


async def test_pods_left_unschedulable_for_five_minutes_are_retried() -> None:
    queue, clock = new_queue()
    queue.add(make_pod("big"))
    await fail(queue, "big")
    clock.advance(299)
    queue.flush_unschedulable_left_over()
    assert queue.pending_pods()["unschedulable"] == ["ns/big"]
    clock.advance(2)
    queue.flush_unschedulable_left_over()
    assert queue.pending_pods()["active"] == ["ns/big"]


async def test_run_flushes_the_backoff_queue_every_second() -> None:
    queue, clock = new_queue()
    queue.add(make_pod("p"))
    queued = await pop_now(queue)
    queue.add_unschedulable_if_not_present(queued, queue.scheduling_cycle, error=True)
    assert queue.pending_pods()["backoff"] == ["ns/p"]
    runner = asyncio.create_task(queue.run())
    try:
        while clock.pending_timers == 0:
            await asyncio.sleep(0)
        clock.advance(1)
        await asyncio.sleep(0)
        assert queue.pending_pods()["active"] == ["ns/p"]
    finally:
        runner.cancel()


async def test_only_a_spec_or_label_change_retries_an_unschedulable_pod() -> None:
    queue, _ = new_queue()
    wire = pod_dict("big", cpu="8")
    old = Pod.from_dict(wire)
    queue.add(old)
    await fail(queue, "big")
    status_only = {**wire, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}}
    queue.update(old, Pod.from_dict(status_only))
    assert queue.pending_pods()["unschedulable"] == ["ns/big"]
    relabelled = {**status_only, "metadata": {**wire["metadata"], "labels": {"tier": "b"}}}
    queue.update(Pod.from_dict(status_only), Pod.from_dict(relabelled))
    assert queue.pending_pods()["unschedulable"] == []
    assert len(queue) == 1


async def test_deleting_a_pod_removes_it_from_every_queue() -> None:
    queue, _ = new_queue()
    pods = [make_pod(name) for name in ("a", "b", "c")]
    for pod in pods:
        queue.add(pod)
    await fail(queue, "a")
    queued = await pop_now(queue)
    queue.add_unschedulable_if_not_present(queued, queue.scheduling_cycle, error=True)
    for pod in pods:
        queue.delete(pod)
    assert len(queue) == 0
