"""Per-key exponential backoff: CrashLoopBackOff for containers, ImagePullBackOff for images.

A container that exits is not restarted at once: the first restart waits
`initial_seconds` (10 s), each further one twice as long, capped at `max_seconds`
(300 s). A container that ran for `reset_seconds` (upstream: twice the cap, 10 min)
without a new failure starts again from `initial_seconds`.

`next(key, event_time)` records one failure at `event_time` (the container's
finishedAt, wall seconds) and returns the new delay; `is_in_backoff_since(key,
event_time)` says whether `event_time + delay` is still in the future. Times are
wall seconds from the injected clock, because they are compared with the engine's
timestamps.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/flowcontrol/backoff.go,
pkg/kubelet/kuberuntime/kuberuntime_manager.go (doBackOff)
"""

from __future__ import annotations

from dataclasses import dataclass

from tinykube.client.clock import REAL_CLOCK, Clock

DEFAULT_INITIAL_SECONDS = 10.0
DEFAULT_MAX_SECONDS = 300.0


@dataclass
class _Entry:
    delay_seconds: float
    last_update: float


class Backoff:
    """Delays per key.

    - The first `next()` for a key (or the first after `reset_seconds` of quiet) gives
      `initial_seconds`; each later one doubles, never beyond `max_seconds`.
    - `gc()` forgets keys that have been quiet for longer than `reset_seconds`.
    """

    def __init__(self, initial_seconds: float = DEFAULT_INITIAL_SECONDS,
                 max_seconds: float = DEFAULT_MAX_SECONDS, reset_seconds: float | None = None,
                 clock: Clock = REAL_CLOCK) -> None:
        self.initial_seconds, self.max_seconds = initial_seconds, max_seconds
        self.reset_seconds = 2 * max_seconds if reset_seconds is None else reset_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str) -> float:
        """The current delay for `key` (0 when it has none)."""
        entry = self._entries.get(key)
        return entry.delay_seconds if entry else 0.0

    def next(self, key: str, event_time: float) -> float:
        entry = self._entries.get(key)
        if entry is None or self._has_expired(event_time, entry.last_update):
            entry = self._entries[key] = _Entry(self.initial_seconds, event_time)
        else:
            entry.delay_seconds = min(entry.delay_seconds * 2, self.max_seconds)
            entry.last_update = event_time
        return entry.delay_seconds

    def is_in_backoff_since(self, key: str, event_time: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._has_expired(self._clock.wall(), entry.last_update):
            return False
        return self._clock.wall() - event_time < entry.delay_seconds

    def is_in_backoff_since_update(self, key: str) -> bool:
        """Whether the last `next()` for `key` was less than its delay ago (image pulls)."""
        entry = self._entries.get(key)
        return entry is not None and self._clock.wall() - entry.last_update < entry.delay_seconds

    def remaining_seconds(self, key: str, event_time: float) -> float:
        """How long until `event_time + delay` (0 when not in backoff)."""
        if not self.is_in_backoff_since(key, event_time):
            return 0.0
        return max(0.0, event_time + self._entries[key].delay_seconds - self._clock.wall())

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self) -> None:
        now = self._clock.wall()
        for key in [k for k, e in self._entries.items() if self._has_expired(now, e.last_update)]:
            del self._entries[key]

    def _has_expired(self, event_time: float, last_update: float) -> bool:
        return event_time - last_update > self.reset_seconds
