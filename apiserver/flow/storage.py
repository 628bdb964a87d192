"""Feeding the flow log from the write path: a `Storage` that records its writes.

`FlowStorage` wraps the storage of one resource's registry. Every write that
reached the store (create, a changing `guaranteed_update` — update, patch,
status, binding, deletion marking, finalizer removal —, delete) becomes one
`WriteRecord`, with the caller from `log.CALLER` and the `Facts` of the object
before (what `try_update` was last given) and after (what the store returned).
A record's time is when the write was sent to the store: the store's own watch
can hand the event to a client watch before the writing request resumes, and a
delivery's latency is measured from that time, so it is never negative (it
includes the store's round trip). The record itself is appended once the write
returned, so in the ring a delivery may come before its write.
A `guaranteed_update` that changed nothing (same resourceVersion) records
nothing; a failed write raises before anything is recorded. Reads pass through.

Kubernetes counterpart: none (tinykube's flow log); the write path it wraps is
staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go
"""

from __future__ import annotations

import time
from typing import Any

from apiserver.flow.log import CALLER, FlowLog, WriteRecord
from apiserver.flow.summary import Facts, facts_of
from apiserver.storage.interface import Obj, Preconditions, Storage, TryUpdate
from tinykube.api.resources import ResourceInfo


class FlowStorage:
    def __init__(self, inner: Storage, info: ResourceInfo, flow_log: FlowLog) -> None:
        self._inner = inner
        self._info = info
        self._log = flow_log

    def __getattr__(self, name: str) -> Any:  # reads, watch, health: unchanged
        return getattr(self._inner, name)

    def _record(self, started_ns: int, obj: Obj, event: str, before: Facts | None,
                after: Facts | None) -> None:
        meta = obj.get("metadata") or {}
        owners = tuple((ref.get("uid", ""), ref.get("kind", ""), ref.get("name", ""))
                       for ref in meta.get("ownerReferences") or ())
        flow_log = self._log
        flow_log.record_write(WriteRecord(
            flow_log.next_seq(), started_ns, CALLER.get(), self._info,
            meta.get("namespace") or "", meta.get("name") or "", meta.get("uid") or "",
            int(meta.get("resourceVersion") or 0), event, owners, before, after))

    async def create(self, key: str, obj: Obj) -> Obj:
        started_ns = time.monotonic_ns()
        created = await self._inner.create(key, obj)
        if self._log.enabled:
            self._record(started_ns, created, "ADDED", None, facts_of(created))
        return created

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None,
                                cached: Obj | None = None) -> Obj:
        if not self._log.enabled:
            return await self._inner.guaranteed_update(key, try_update, preconditions, cached)
        seen: list[Any] = [None, "", False]  # facts before, resourceVersion before, removed

        async def observed(current: Obj) -> Obj | None:
            # Facts first: try_update may change `current` in place.
            seen[0] = facts_of(current)
            seen[1] = (current.get("metadata") or {}).get("resourceVersion", "")
            result = await try_update(current)
            seen[2] = result is None
            return result

        started_ns = time.monotonic_ns()
        stored = await self._inner.guaranteed_update(key, observed, preconditions, cached)
        if seen[2]:
            self._record(started_ns, stored, "DELETED", seen[0], None)
        elif (stored.get("metadata") or {}).get("resourceVersion", "") != seen[1]:
            self._record(started_ns, stored, "MODIFIED", seen[0], facts_of(stored))
        return stored

    async def delete(self, key: str) -> Obj:
        started_ns = time.monotonic_ns()
        removed = await self._inner.delete(key)
        if self._log.enabled:
            self._record(started_ns, removed, "DELETED", facts_of(removed), None)
        return removed
