"""Automatic compaction: forget etcd's history older than one interval.

etcd keeps every revision of every key until it is compacted; without compaction
a busy cluster fills etcd's quota and every write fails. Every `interval` the
compactor runs one round of Kubernetes' protocol (`guarded_compact`), which
compacts to the revision seen one round earlier, so history always covers at
least the last interval (for watches resuming and lists continuing).

Several API servers on one etcd compact once per interval between them: a round
only compacts if the version of `compact_rev_key` is still the one this server
saw last; a server that loses the compare learns the winner's version and tries
again one interval later. The first round never compacts (it has no revision
from an interval ago). Compacted revisions answer 410: watches and list
continuations from before them fail as "too old", and clients relist.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tinykube.client.websocket import stop_task

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class CompactingStorage(Protocol):
    async def guarded_compact(self, expect_version: int, revision: int) -> tuple[int, int, int]:
        """(compact version, current revision, revision compacted to or 0)."""
        ...


class Compactor:
    """Guarantees:
    - nothing is compacted that is younger than one interval;
    - a failed round (etcd unreachable) is logged and retried the next interval;
    - `compact_revision` is the latest revision compacted to (by any API server).
    """

    def __init__(self, storage: CompactingStorage, interval_seconds: float,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._storage = storage
        self._interval_seconds = interval_seconds
        self._sleep = sleep
        self._version = 0  # compact_rev_key's version as last seen: the "compact time"
        self._revision = 0  # etcd's revision one round ago
        self.compact_revision = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval_seconds > 0:
            self._task = asyncio.create_task(self.run(), name="etcd compactor")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    async def run(self) -> None:
        while True:
            await self._sleep(self._interval_seconds)
            await self.compact_once()

    async def compact_once(self) -> None:
        try:
            self._version, self._revision, compacted = await self._storage.guarded_compact(
                self._version, self._revision)
        except Exception as err:  # etcd down or busy: the next round tries again
            log.warning("etcd compaction failed err=%r", err)
            return
        if compacted:
            self.compact_revision = compacted
            log.info("etcd compacted revision=%d", compacted)
