"""An in-memory Storage with etcd's revision semantics, for fast tests.

It keeps a full history of changes (no compaction unless `compact` is called), so
watches from any remembered revision behave exactly as against etcd, and a list
at an older revision is the current data with the later changes undone. Lists come
in pages of `page_size` objects, as etcd's do, so paging callers are tested here.

Kubernetes counterpart: none (tests there use a real etcd); see storage/interface.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from apiserver.storage.interface import (
    CompactedError,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    Obj,
    Preconditions,
    StorageError,
    StorageEvent,
    TryUpdate,
    collect,
    decode,
    encode,
    same_encoding,
)


class MemoryStorage:
    """Guarantees: one global revision; CAS on updates; ordered, complete watches.

    A write itself never awaits, so it is atomic; `try_update` may await, and
    whatever another writer did meanwhile is seen as a conflict, as with etcd.
    """

    def __init__(self, page_size: int = 500) -> None:
        self._page_size = page_size
        self.active_alarms: list[str] = []  # what `alarms` reports; tests set it
        self._compact_version = 0
        self._data: dict[str, tuple[bytes, int]] = {}
        self._revision = 1
        self._compacted = 0
        self._history: list[StorageEvent] = []
        self._changed = asyncio.Condition()

    async def _record(self, event: StorageEvent) -> None:
        self._history.append(event)
        async with self._changed:
            self._changed.notify_all()

    async def create(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        if key in self._data:
            raise KeyExistsError(key)
        self._revision += 1
        data = encode(obj)
        self._data[key] = (data, self._revision)
        new = decode(data, self._revision)
        await self._record(StorageEvent(EventType.ADDED, key, new, None, self._revision))
        return decode(data, self._revision)

    async def get(self, key: str) -> dict[str, Any]:
        if key not in self._data:
            raise KeyNotFoundError(key)
        data, revision = self._data[key]
        return decode(data, revision)

    async def list(self, prefix: str, revision: int = 0) -> tuple[list[dict[str, Any]], int]:
        return await collect(self.list_pages(prefix, revision))

    async def list_pages(self, prefix: str, revision: int = 0, start_key: str = "",
                         first_page_size: int = 0) -> AsyncIterator[tuple[list[Obj], int]]:
        # Pages here are always `page_size` long: callers must not depend on the hint.
        revision = revision or self._revision
        data = self._data_at(prefix, revision)
        keys = sorted(k for k in data if k.startswith(prefix) and k >= start_key)
        for start in range(0, max(len(keys), 1), self._page_size):
            yield [decode(*data[k]) for k in keys[start:start + self._page_size]], revision

    def _data_at(self, prefix: str, revision: int) -> dict[str, tuple[bytes, int]]:
        """The data as it was at `revision`: the later changes undone, newest first."""
        if revision <= self._compacted:
            raise CompactedError(prefix, revision, self._compacted)
        if revision > self._revision:
            raise StorageError(prefix, "mvcc: required revision is a future revision")
        data = {k: v for k, v in self._data.items() if k.startswith(prefix)}
        for event in reversed(self._history):
            if event.revision <= revision:
                break
            if not event.key.startswith(prefix):
                continue
            if event.prev is None:
                data.pop(event.key, None)
            else:
                data[event.key] = (encode(event.prev), int(event.prev["metadata"]["resourceVersion"]))
        return data

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None,
                                cached: Obj | None = None) -> Obj:
        del cached  # reading this store costs nothing: always start from its state
        while True:
            if key not in self._data:
                raise KeyNotFoundError(key)
            old_data, old_revision = self._data[key]
            current = decode(old_data, old_revision)
            if preconditions is not None:
                preconditions.check(key, current)
            new = await try_update(current)
            if self._data.get(key, (b"", 0))[1] != old_revision:
                continue  # written (or removed) while try_update ran: again, from the fresh state
            if new is None:
                del self._data[key]
                return await self._record_delete(key, old_data, old_revision)
            data = encode(new)
            if same_encoding(data, old_data):
                return decode(old_data, old_revision)
            self._revision += 1
            self._data[key] = (data, self._revision)
            await self._record(StorageEvent(EventType.MODIFIED, key, decode(data, self._revision),
                                            decode(old_data, old_revision), self._revision))
            return decode(data, self._revision)

    async def delete(self, key: str) -> Obj:
        if key not in self._data:
            raise KeyNotFoundError(key)
        old_data, old_revision = self._data.pop(key)
        return await self._record_delete(key, old_data, old_revision)

    async def _record_delete(self, key: str, old_data: bytes, old_revision: int) -> Obj:
        self._revision += 1
        await self._record(StorageEvent(EventType.DELETED, key, decode(old_data, self._revision),
                                        decode(old_data, old_revision), self._revision))
        return decode(old_data, self._revision)

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        if start_revision <= self._compacted:
            raise CompactedError(prefix, start_revision, self._compacted)
        position = next((i for i, e in enumerate(self._history) if e.revision >= start_revision),
                        len(self._history))
        while True:
            while position < len(self._history):
                event = self._history[position]
                position += 1
                if event.key.startswith(prefix):
                    yield event
            async with self._changed:
                await self._changed.wait_for(lambda: position < len(self._history))

    async def current_revision(self) -> int:
        return self._revision

    async def ping(self) -> None:
        pass

    async def alarms(self) -> list[str]:
        return list(self.active_alarms)

    async def guarded_compact(self, expect_version: int, revision: int) -> tuple[int, int, int]:
        """As EtcdStorage.guarded_compact; the compact key's version is kept aside
        (it is not data under /registry)."""
        if self._compact_version != expect_version:
            return self._compact_version, self._revision, 0
        self._compact_version += 1
        if revision:
            self.compact(revision)
        return self._compact_version, self._revision, revision

    def compact(self, revision: int) -> None:
        """Forget history before `revision`, like etcd's compaction."""
        self._compacted = revision - 1
        self._history = [e for e in self._history if e.revision >= revision]

    async def close(self) -> None:
        pass
