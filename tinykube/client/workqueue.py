"""The controller workqueue: de-duplicating, one-worker-per-key, delayed and rate-limited.

Event handlers `add` keys ("namespace/name"); workers `get` a key, reconcile it and
call `done`. On failure the worker calls `add_rate_limited` (retry after a per-key
exponential backoff); on success `forget` (reset that backoff).

- dirty set: a key waiting to be processed is queued once, however often it is added;
- processing set: a key being processed is never handed to a second worker; if it is
  added meanwhile, it is queued again when `done` is called, so no change is lost;
- `add_after`: timers on an injectable `Clock`; the earliest pending time wins.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/workqueue/{queue.go,
delaying_queue.go,rate_limiting_queue.go,default_rate_limiters.go}
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Protocol, TypeVar

from tinykube.client.clock import REAL_CLOCK, Clock, TimerHandle

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds to wait before `item` may be retried (records one more failure)."""
        ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """base * 2^failures per item, capped at max: 5 ms, 10 ms, 20 ms ... 1000 s."""

    def __init__(self, base_delay_seconds: float = 0.005, max_delay_seconds: float = 1000.0) -> None:
        self.base_delay_seconds = base_delay_seconds
        self.max_delay_seconds = max_delay_seconds
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        if failures > 64:  # 2**failures would overflow any sane cap anyway
            return self.max_delay_seconds
        return min(self.base_delay_seconds * 2**failures, self.max_delay_seconds)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """An overall token bucket (qps, burst) shared by all items: it caps the retry rate
    when many keys fail at once, where per-item backoff alone would not."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock = REAL_CLOCK) -> None:
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.now()

    def when(self, item: Hashable) -> float:
        now = self._clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0  # reserve a token, possibly one that arrives in the future
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        return None

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of its limiters asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock = REAL_CLOCK) -> RateLimiter:
    """Per-item 5 ms..1000 s exponential backoff, and 10 qps / burst 100 overall."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(0.005, 1000.0),
                            BucketRateLimiter(10.0, 100, clock))


class RateLimitingQueue(Generic[K]):
    """The queue every controller's workers pull keys from.

    - `get()` returns the next key, or None once shut down and drained.
    - Every key returned by `get()` must be handed back with `done(key)`.
    """

    def __init__(self, rate_limiter: RateLimiter | None = None, clock: Clock = REAL_CLOCK,
                 name: str = "") -> None:
        self.name = name
        self._clock = clock
        self._rate_limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, tuple[float, TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # `done` will queue it again
        self._queue.append(key)
        self._wake_one()

    async def get(self) -> K | None:
        while not self._queue:
            if self._shutting_down:
                return None
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._getters:
                    self._getters.remove(waiter)
                elif self._queue:
                    self._wake_one()  # we were woken but will not take the key: pass it on
                raise
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def add_after(self, key: K, delay_seconds: float) -> None:
        """Add `key` once `delay_seconds` have passed (at once if <= 0)."""
        if self._shutting_down:
            return
        if delay_seconds <= 0:
            self.add(key)
            return
        ready_at = self._clock.now() + delay_seconds
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= ready_at:
                return  # already due sooner
            pending[1].cancel()

        def fire() -> None:
            self._waiting.pop(key, None)
            self.add(key)

        self._waiting[key] = (ready_at, self._clock.call_later(delay_seconds, fire))

    def add_rate_limited(self, key: K) -> None:
        """Retry `key` after its backoff (and the overall rate limit)."""
        self.add_after(key, self._rate_limiter.when(key))

    def forget(self, key: K) -> None:
        """Stop tracking `key`'s failures: its next retry starts at the base delay."""
        self._rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self._rate_limiter.num_requeues(key)

    def shut_down(self) -> None:
        """Refuse new keys; `get()` drains what is queued, then returns None."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


async def run_workers(name: str, queue: RateLimitingQueue[str], sync: Callable[[str], Awaitable[None]],
                      workers: int, max_retries: int | None = None) -> None:
    """Run `workers` workers until cancelled; on cancel, shut the queue down."""
    try:
        async with asyncio.TaskGroup() as group:
            for index in range(max(1, workers)):
                group.create_task(_worker(name, queue, sync, max_retries), name=f"{name} worker {index}")
    finally:
        queue.shut_down()


async def _worker(name: str, queue: RateLimitingQueue[str], sync: Callable[[str], Awaitable[None]],
                  max_retries: int | None) -> None:
    while True:
        key = await queue.get()
        if key is None:
            return
        try:
            await sync(key)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if max_retries is not None and queue.num_requeues(key) >= max_retries:
                log.warning("dropping key out of the queue controller=%s key=%s err=%r", name, key, err)
                queue.forget(key)
            else:
                log.info("sync failed, will retry controller=%s key=%s err=%r", name, key, err)
                queue.add_rate_limited(key)
        else:
            queue.forget(key)
        finally:
            queue.done(key)
