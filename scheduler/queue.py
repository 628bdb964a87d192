"""The scheduling queue: which pending pod to try next, and when to try again.

Three places a pending pod can wait:
- **activeQ**: ready to be tried; popped highest `spec.priority` first, then oldest.
- **backoffQ**: failed recently; becomes active when its backoff expires. Backoff
  is initial * 2^(attempts-1), capped: 1 s, 2 s, 4 s, 8 s, 10 s, 10 s ...
- **unschedulable**: no node fit. It stays there until the cluster changes in a
  way that might help (a node added or updated, an assigned pod deleted): then
  `move_all_to_active_or_backoff` moves every such pod out (to backoffQ if it is
  still inside its backoff window, else to activeQ). As a safety net a pod never
  stays there longer than `max_in_unschedulable_seconds` (5 minutes).

A cluster change that happens *while* a pod is being scheduled is not lost: the
queue remembers the cycle of the last move request, and a pod whose cycle started
before it goes to backoffQ instead of unschedulable.

The periodic flushes are plain methods (`flush_backoff_completed`,
`flush_unschedulable_left_over`); `run()` calls them on the injected clock, so
tests move a `FakeClock` and call them directly.

Kubernetes counterpart: pkg/scheduler/backend/queue/scheduling_queue.go (PriorityQueue)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from dataclasses import dataclass, field

from scheduler.types import PodInfo
from tinykube.api.core import Pod
from tinykube.api.meta import meta_namespace_key
from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

DEFAULT_INITIAL_BACKOFF_SECONDS = 1.0
DEFAULT_MAX_BACKOFF_SECONDS = 10.0
DEFAULT_MAX_IN_UNSCHEDULABLE_SECONDS = 300.0


def _scheduling_relevant(pod: Pod) -> tuple[object, ...]:
    """What an update must change for an unschedulable pod to deserve a retry: not
    its status (our own PodScheduled=False write) nor its resourceVersion."""
    return (pod.spec, pod.metadata.labels, pod.metadata.annotations)


@dataclass
class QueuedPodInfo:
    pod_info: PodInfo
    timestamp: float  # when it last entered a queue
    initial_attempt_timestamp: float
    attempts: int = 0
    seq: int = 0  # identifies the live heap entry; older entries are skipped
    unschedulable_reasons: list[str] = field(default_factory=list)

    @property
    def priority(self) -> int:
        return self.pod_info.spec.priority or 0


class SchedulingQueue:
    """PriorityQueue with activeQ, backoffQ and the unschedulable pool.

    - A pod key is in at most one of the three at a time.
    - `pop` counts scheduling cycles and attempts; it waits while activeQ is empty.
    """

    def __init__(self, clock: Clock = REAL_CLOCK, *,
                 initial_backoff_seconds: float = DEFAULT_INITIAL_BACKOFF_SECONDS,
                 max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
                 max_in_unschedulable_seconds: float = DEFAULT_MAX_IN_UNSCHEDULABLE_SECONDS) -> None:
        self._clock = clock
        self.initial_backoff_seconds = initial_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_in_unschedulable_seconds = max_in_unschedulable_seconds
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._seq = itertools.count(1)
        self._wakeup = asyncio.Event()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1

    # --- observation ---------------------------------------------------------------

    def pending_pods(self) -> dict[str, list[str]]:
        return {"active": sorted(self._active), "backoff": sorted(self._backoff),
                "unschedulable": sorted(self._unschedulable)}

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self._unschedulable)

    # --- informer events -----------------------------------------------------------

    def add(self, pod: Pod) -> None:
        """A new pending pod: straight to activeQ."""
        info = PodInfo(pod)
        self._remove(info.key)
        now = self._clock.now()
        self._push_active(QueuedPodInfo(info, now, now))

    def update(self, old: Pod, new: Pod) -> None:
        if old.metadata.uid != new.metadata.uid:
            self.add(new)  # deleted and recreated under the same name
            return
        key = meta_namespace_key(new)
        for where in (self._active, self._backoff):
            if key in where:
                where[key].pod_info = PodInfo(new)
                return
        queued = self._unschedulable.get(key)
        if queued is None:
            return  # being scheduled right now; the cycle's outcome decides
        queued.pod_info = PodInfo(new)
        if _scheduling_relevant(old) != _scheduling_relevant(new):
            del self._unschedulable[key]
            self._requeue(queued)

    def delete(self, pod: Pod) -> None:
        self._remove(meta_namespace_key(pod))

    # --- the scheduling loop ---------------------------------------------------------

    async def pop(self) -> QueuedPodInfo:
        while True:
            while self._active_heap:
                _, _, seq, key = heapq.heappop(self._active_heap)
                queued = self._active.get(key)
                if queued is None or queued.seq != seq:
                    continue  # a stale heap entry
                del self._active[key]
                queued.attempts += 1
                self.scheduling_cycle += 1
                return queued
            self._wakeup.clear()
            await self._wakeup.wait()

    def add_unschedulable_if_not_present(self, queued: QueuedPodInfo, pod_scheduling_cycle: int,
                                         *, error: bool = False) -> None:
        """Put back a pod whose cycle failed. An error (not a "does not fit") and a
        cluster change since the cycle began both send it to backoffQ."""
        key = queued.pod_info.key
        if key in self._active or key in self._backoff or key in self._unschedulable:
            return
        queued.timestamp = self._clock.now()
        if error or self.move_request_cycle >= pod_scheduling_cycle:
            self._push_backoff(queued)
        else:
            self._unschedulable[key] = queued
            log.debug("pod unschedulable, parked pod=%s attempts=%d", key, queued.attempts)

    def move_all_to_active_or_backoff(self, event: str) -> None:
        """The cluster changed (`event`, e.g. "NodeAdd"): retry every parked pod."""
        if self._unschedulable:
            log.info("moving unschedulable pods event=%s pods=%d", event, len(self._unschedulable))
        parked, self._unschedulable = self._unschedulable, {}
        for queued in parked.values():
            self._requeue(queued)
        self.move_request_cycle = self.scheduling_cycle

    def backoff_duration(self, queued: QueuedPodInfo) -> float:
        duration = self.initial_backoff_seconds
        for _ in range(1, queued.attempts):
            duration *= 2
            if duration >= self.max_backoff_seconds:
                return self.max_backoff_seconds
        return min(duration, self.max_backoff_seconds)

    def backoff_expiry(self, queued: QueuedPodInfo) -> float:
        return queued.timestamp + self.backoff_duration(queued)

    def flush_backoff_completed(self) -> None:
        now = self._clock.now()
        while self._backoff_heap and self._backoff_heap[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff_heap)
            queued = self._backoff.get(key)
            if queued is not None and queued.seq == seq:
                del self._backoff[key]
                self._push_active(queued)

    def flush_unschedulable_left_over(self) -> None:
        now = self._clock.now()
        stale = [k for k, q in self._unschedulable.items()
                 if now - q.timestamp > self.max_in_unschedulable_seconds]
        for key in stale:
            self._requeue(self._unschedulable.pop(key))

    async def run(self, backoff_period_seconds: float = 1.0, unschedulable_period_seconds: float = 30.0) -> None:
        """The two periodic flushes (upstream: every 1 s and every 30 s)."""
        ticks_per_unschedulable_flush = max(1, round(unschedulable_period_seconds / backoff_period_seconds))
        for tick in itertools.count(1):
            await self._clock.sleep(backoff_period_seconds)
            self.flush_backoff_completed()
            if tick % ticks_per_unschedulable_flush == 0:
                self.flush_unschedulable_left_over()

    # --- internals -------------------------------------------------------------------

    def _requeue(self, queued: QueuedPodInfo) -> None:
        if self.backoff_expiry(queued) > self._clock.now():
            self._push_backoff(queued)
        else:
            self._push_active(queued)

    def _push_active(self, queued: QueuedPodInfo) -> None:
        queued.seq = next(self._seq)
        self._active[queued.pod_info.key] = queued
        heapq.heappush(self._active_heap, (-queued.priority, queued.timestamp, queued.seq,
                                           queued.pod_info.key))
        self._wakeup.set()

    def _push_backoff(self, queued: QueuedPodInfo) -> None:
        queued.seq = next(self._seq)
        self._backoff[queued.pod_info.key] = queued
        heapq.heappush(self._backoff_heap, (self.backoff_expiry(queued), queued.seq, queued.pod_info.key))

    def _remove(self, key: str) -> None:
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
