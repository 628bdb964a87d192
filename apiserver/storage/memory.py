"""An in-memory Storage with etcd's revision semantics, for fast tests.

It keeps a full history of changes (no compaction unless `compact` is called), so
watches from any remembered revision behave exactly as against etcd.

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
    StorageEvent,
    TryUpdate,
    decode,
    encode,
    same_encoding,
)


class MemoryStorage:
    """Guarantees: one global revision; CAS on updates; ordered, complete watches.

    A write itself never awaits, so it is atomic; `try_update` may await, and
    whatever another writer did meanwhile is seen as a conflict, as with etcd.
    """

    def __init__(self) -> None:
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

    async def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        items = [decode(d, r) for k, (d, r) in sorted(self._data.items()) if k.startswith(prefix)]
        return items, self._revision

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None) -> Obj:
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

    def compact(self, revision: int) -> None:
        """Forget history before `revision`, like etcd's compaction."""
        self._compacted = revision - 1
        self._history = [e for e in self._history if e.revision >= revision]

    async def close(self) -> None:
        pass
