"""Writes before their deliveries: the order a reader of the flow log shows records in.

The flow log numbers a write when the store has answered the writing request, but
the store's watch may deliver the change to watchers (and the log record those
deliveries) a moment earlier. A reader that draws the causal chain holds each
delivery until the write of the same resourceVersion has been shown, or for
`hold_seconds` when that write will never come (it happened before the reader
started, or it was filtered out).

Kubernetes counterpart: none (tinykube's flow log)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tinykube.flow.chain import DELIVERY

Record = dict[str, Any]
WRITES_REMEMBERED = 4096


def _version(record: Record) -> str:
    return str((record.get("object") or {}).get("resourceVersion") or "")


class WritesFirst:
    def __init__(self, hold_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_seconds, self.clock = hold_seconds, clock
        self._written: deque[str] = deque(maxlen=WRITES_REMEMBERED)
        self._held: dict[str, list[tuple[float, Record]]] = {}

    def push(self, record: Record) -> list[Record]:
        """The records to show now, in order: this one (unless held), the deliveries
        it releases, and any whose wait is over."""
        version = _version(record)
        out: list[Record] = []
        if record.get("type") == DELIVERY and version not in self._written:
            self._held.setdefault(version, []).append((self.clock(), record))
        else:
            out.append(record)
            if record.get("type") != DELIVERY:
                self._written.append(version)
                out += [delivery for _, delivery in self._held.pop(version, ())]
        return out + self.due()

    def due(self, everything: bool = False) -> list[Record]:
        """Held deliveries whose wait is over (all of them with `everything`)."""
        now = self.clock()
        out: list[Record] = []
        for version, waiting in list(self._held.items()):
            if everything or waiting[0][0] + self.hold_seconds <= now:
                del self._held[version]
                out += [delivery for _, delivery in waiting]
        return out
