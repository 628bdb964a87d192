"""FakeClock: time moves only when a test advances it."""

from __future__ import annotations

import asyncio

from tinykube.client.clock import FakeClock


async def test_sleepers_and_timers_fire_only_when_time_reaches_them() -> None:
    clock = FakeClock()
    order: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        order.append(name)

    tasks = [asyncio.create_task(sleeper("slow", 5)), asyncio.create_task(sleeper("fast", 1))]
    clock.call_later(3, lambda: order.append("timer"))
    await asyncio.sleep(0)
    assert clock.pending_timers == 3
    clock.advance(4)
    assert order == ["timer"]  # timers run inside advance(); sleepers at the next await
    await asyncio.sleep(0)
    assert order == ["timer", "fast"]
    clock.advance(1)
    await asyncio.gather(*tasks)
    assert order == ["timer", "fast", "slow"]
    assert clock.now() == 1005.0 and clock.pending_timers == 0


async def test_a_cancelled_sleeper_no_longer_counts() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(10))
    await asyncio.sleep(0)
    assert clock.pending_timers == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.pending_timers == 0
