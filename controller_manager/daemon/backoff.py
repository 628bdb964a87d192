"""Per-key exponential backoff measured from the last update (client-go flowcontrol.Backoff).

The DaemonSet controller keys it by "<namespace>/<ds>/<node>": a daemon pod that
keeps failing on one node is deleted and recreated after 1 s, 2 s, 4 s ... up to
15 minutes, while the other nodes are not held back. An entry untouched for twice
the maximum starts over at the initial delay.

Kubernetes counterpart: staging/src/k8s.io/client-go/util/flowcontrol/backoff.go
"""

from __future__ import annotations

from dataclasses import dataclass

from tinykube.client import Clock


@dataclass
class _Entry:
    delay_seconds: float
    last_update: float


class Backoff:
    """Guarantees: delays double per `next` and never exceed `max_seconds`; no jitter."""

    def __init__(self, clock: Clock, *, initial_seconds: float, max_seconds: float) -> None:
        self.clock = clock
        self.initial_seconds, self.max_seconds = initial_seconds, max_seconds
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.delay_seconds if entry else 0.0

    def next(self, key: str) -> None:
        """Record an attempt now: the first one (or one after a long quiet) waits `initial_seconds`."""
        now = self.clock.now()
        entry = self._entries.get(key)
        if entry is None or now - entry.last_update > 2 * self.max_seconds:
            self._entries[key] = _Entry(self.initial_seconds, now)
            return
        entry.delay_seconds = min(entry.delay_seconds * 2, self.max_seconds)
        entry.last_update = now

    def is_in_back_off_since_update(self, key: str) -> bool:
        entry = self._entries.get(key)
        return entry is not None and self.clock.now() - entry.last_update < entry.delay_seconds

    def gc(self) -> None:
        """Forget keys untouched for twice the maximum delay."""
        now = self.clock.now()
        for key in [k for k, e in self._entries.items() if now - e.last_update > 2 * self.max_seconds]:
            del self._entries[key]
