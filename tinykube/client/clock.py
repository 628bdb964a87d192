"""Clocks: the one seam through which client machinery reads time and waits.

Everything time-dependent in `tinykube.client` (workqueue delays, rate limiters,
expectations' TTL, leader election, event aggregation, informer backoff) takes a
`Clock` in its constructor, defaulting to `RealClock`. Tests pass a `FakeClock` and
move time forward with `advance()`, so no test ever sleeps.

- `now()` is monotonic seconds (for durations); `wall()` is seconds since the epoch
  (for timestamps written into objects, e.g. a Lease's renewTime).
- `call_later` runs a plain callback after a delay; `sleep` suspends a coroutine.

Kubernetes counterpart: staging/src/k8s.io/utils/clock/clock.go (and clock/testing)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the client machinery needs from time."""

    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch, for timestamps stored in objects."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, delay_seconds: float, callback: Callable[[], None]) -> TimerHandle: ...


class RealClock:
    """The process's clocks and the running event loop's timers."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay_seconds), callback)


REAL_CLOCK = RealClock()


@dataclass(order=True)
class _Timer:
    deadline: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when a test calls `advance()`.

    - Timers and sleepers whose deadline is reached fire in deadline order, inside
      `advance()`; a woken sleeper resumes at the test's next `await`.
    - `pending_timers` counts the sleepers and timers still waiting, so a test can
      advance only once the code under test has actually gone to sleep.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    @property
    def pending_timers(self) -> int:
        return sum(1 for t in self._timers if not t.cancelled)

    def call_later(self, delay_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _Timer(self._now + max(0.0, delay_seconds), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await future
        finally:
            timer.cancel()  # a cancelled sleeper must not count as waiting

    def advance(self, seconds: float) -> None:
        """Move time forward and fire every timer that is now due."""
        target = self._now + seconds
        while self._timers and self._timers[0].deadline <= target:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, timer.deadline)
            timer.cancelled = True
            timer.callback()
        self._now = target
