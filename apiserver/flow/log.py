"""The flow log's ring: writes and watch deliveries, numbered, bounded.

Every record gets the next sequence number; the ring keeps the newest `size`
records (0 turns the log off: nothing is kept and recording costs one check).

- a write is a `WriteRecord` (who, verb, object, resourceVersion, owners, the
  `Facts` before and after); it stays findable by its resourceVersion while it
  is in the ring, so a delivery, recorded as one small tuple
  `(seq, monotonic_ns, watch, event_type, revision)`, names its object through it;
- `since(seq)` returns the records after `seq`, or raises `Expired` when the ring
  no longer holds all of them (the endpoint answers 410, as a watch from a
  compacted resourceVersion);
- `wait(seq)` returns once a record after `seq` exists (or on timeout); only a
  waiting reader costs a wake-up, recording never awaits.

Who made a request is carried by `CALLER`, a context variable the request chain
sets once per request (user, user agent, method, path).

Kubernetes counterpart: none (tinykube's flow log); compare
staging/src/k8s.io/apiserver/pkg/audit (who did what) and
staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go (a ring of events
with a resourceVersion window and 410 beyond it)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

from apiserver.flow.summary import Facts
from tinykube.api.resources import ResourceInfo

DEFAULT_FLOW_LOG_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: the authenticated user and the User-Agent header."""

    user: str
    user_agent: str
    method: str = ""
    path: str = ""


SYSTEM_CALLER = Caller("system:apiserver", "kube-apiserver")
CALLER: ContextVar[Caller] = ContextVar("flow_caller", default=SYSTEM_CALLER)


@dataclass(frozen=True, slots=True)
class WatchIdentity:
    """One client watch, made once when it starts; deliveries point at it."""

    caller: Caller
    resource: str
    namespace: str
    label_selector: str
    field_selector: str


class WriteRecord(NamedTuple):  # a NamedTuple: about 1 µs to make, a frozen dataclass 4
    seq: int
    monotonic_ns: int
    caller: Caller
    info: ResourceInfo
    namespace: str
    name: str
    uid: str
    revision: int
    event: str  # the watch event it makes: ADDED | MODIFIED | DELETED
    owners: tuple[tuple[str, str, str], ...]  # (uid, kind, name)
    before: Facts | None
    after: Facts | None


# (seq, monotonic_ns, watch, event_type, revision)
Delivery = tuple[int, int, WatchIdentity, str, int]
Record = WriteRecord | Delivery


class Expired(Exception):
    """The ring no longer holds every record after the requested sequence number."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class FlowLog:
    def __init__(self, size: int = DEFAULT_FLOW_LOG_SIZE) -> None:
        self.size = size
        self.enabled = size > 0
        self._ring: deque[Record] = deque()
        self._writes: dict[int, WriteRecord] = {}  # by revision, while in the ring
        self.last_seq = 0
        self._wakeup: asyncio.Event | None = None
        # Wall time of a record = its monotonic time + this offset (one clock read each).
        self.wall_offset_ns = time.time_ns() - time.monotonic_ns()

    def _append(self, record: Record) -> None:
        ring = self._ring
        if len(ring) >= self.size:
            old = ring.popleft()
            if type(old) is WriteRecord and self._writes.get(old.revision) is old:
                del self._writes[old.revision]
        ring.append(record)
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq

    def record_write(self, record: WriteRecord) -> None:
        self._writes[record.revision] = record
        self._append(record)

    def record_deliveries(self, watch: WatchIdentity, events: Sequence[object]) -> None:
        """The events just written to one watch's connection: the watch server's
        `(type, object, revision)` items (others, its end markers, are skipped)."""
        now = time.monotonic_ns()
        for event in events:
            if type(event) is tuple:
                self.last_seq += 1
                self._append((self.last_seq, now, watch, event[0], event[2]))

    def write_at(self, revision: int) -> WriteRecord | None:
        return self._writes.get(revision)

    def oldest_seq(self) -> int:
        return seq_of(self._ring[0]) if self._ring else self.last_seq + 1

    def since(self, seq: int) -> list[Record]:
        """The records numbered after `seq`, oldest first; Expired if some are gone.
        A list, so the reader may await while the ring moves on."""
        oldest = self.oldest_seq()
        if seq + 1 < oldest:
            raise Expired(seq, oldest)
        return list(islice(self._ring, max(0, seq + 1 - oldest), None))

    async def wait(self, seq: int, timeout_seconds: float) -> None:
        if self.last_seq > seq:
            return
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        try:
            async with asyncio.timeout(timeout_seconds):
                await self._wakeup.wait()
        except TimeoutError:
            pass


def seq_of(record: Record) -> int:
    return record.seq if type(record) is WriteRecord else record[0]  # type: ignore[union-attr,index]
