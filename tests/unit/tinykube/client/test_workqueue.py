"""RateLimitingQueue: de-duplication, one worker per key, delays and backoff on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from tinykube.client.clock import FakeClock
from tinykube.client.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    RateLimitingQueue,
    default_controller_rate_limiter,
)


async def drain(queue: RateLimitingQueue[str]) -> list[str]:
    """Keys ready right now, in order, each processed and marked done."""
    keys = []
    while len(queue):
        key = await queue.get()
        assert key is not None
        keys.append(key)
        queue.done(key)
    return keys


async def test_adding_a_waiting_key_twice_queues_it_once() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    for key in ("a", "b", "a", "a"):
        queue.add(key)
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["a", "b"]


async def test_a_key_being_processed_is_not_handed_out_again_until_done() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")  # changed while a worker holds it
    assert len(queue) == 0
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not second.done()
    queue.done("a")  # now it is queued again, so the change is not lost
    assert await asyncio.wait_for(second, 5) == "a"


async def test_done_without_a_re_add_does_not_requeue() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    queue.add("a")
    queue.done(await queue.get() or "")
    assert len(queue) == 0


async def test_get_waits_for_an_add() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=FakeClock())
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.add("x")
    assert await asyncio.wait_for(getter, 5) == "x"


async def test_add_after_fires_when_the_clock_reaches_it_and_earliest_wins() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    queue.add_after("a", 10)
    queue.add_after("b", 5)
    queue.add_after("a", 3)   # earlier: replaces the 10 s timer
    queue.add_after("b", 8)   # later: ignored
    clock.advance(2.9)
    assert len(queue) == 0
    clock.advance(0.1)
    assert await drain(queue) == ["a"]
    clock.advance(2)
    assert await drain(queue) == ["b"]
    clock.advance(100)
    assert len(queue) == 0  # the replaced 10 s timer for "a" never fires


def test_item_backoff_doubles_from_5ms_up_to_1000s() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("k") for _ in range(20)]
    assert delays[:4] == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert delays[-1] == 1000.0
    assert limiter.num_requeues("k") == 20
    assert limiter.when("other") == pytest.approx(0.005)
    limiter.forget("k")
    assert limiter.when("k") == pytest.approx(0.005)


def test_bucket_allows_a_burst_then_10_per_second() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    assert [bucket.when(i) for i in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    clock.advance(10)
    assert bucket.when("later") == 0.0


async def test_add_rate_limited_retries_after_backoff_and_forget_resets() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(default_controller_rate_limiter(clock), clock)
    queue.add_rate_limited("k")
    queue.add_rate_limited("k")  # second failure: 10 ms, but the 5 ms timer is sooner
    assert queue.num_requeues("k") == 2
    clock.advance(0.005)
    assert await drain(queue) == ["k"]
    queue.add_rate_limited("k")  # third failure: 20 ms
    clock.advance(0.019)
    assert len(queue) == 0
    clock.advance(0.001)
    assert await drain(queue) == ["k"]
    queue.forget("k")
    assert queue.num_requeues("k") == 0


async def test_shut_down_drains_then_returns_none_and_wakes_waiters() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    idle: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    waiter = asyncio.create_task(idle.get())
    await asyncio.sleep(0)
    idle.shut_down()
    assert await asyncio.wait_for(waiter, 5) is None

    queue.add("a")
    queue.add_after("later", 1)
    queue.shut_down()
    queue.add("b")  # refused after shut down
    assert await queue.get() == "a"
    assert await queue.get() is None
    clock.advance(5)
    assert len(queue) == 0
    assert clock.pending_timers == 0
