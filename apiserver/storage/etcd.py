"""Storage on a real etcd v3 through aetcd: the only module that imports aetcd.

Every write is one etcd transaction, so a create never overwrites and an update
or delete never loses a concurrent change:

- create: `if version(key) == 0 then put`;
- update: `if mod_revision(key) == expected then put`;
- delete: `if mod_revision(key) == expected then delete` (or unconditional).

resourceVersion is etcd's mod_revision; a list's resourceVersion is the header
revision of the range read. Watches ask etcd for prev_kv so DELETED events carry the
last state of the object and selector changes can be computed.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import aetcd
from aetcd.exceptions import RevisionCompactedError

from apiserver.storage.interface import (
    CompactedError,
    ConflictError,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    StorageEvent,
    decode,
    encode,
)

log = logging.getLogger(__name__)


def parse_etcd_servers(servers: str) -> tuple[str, int]:
    """`http://127.0.0.1:2379[,other]` -> the first endpoint's host and port."""
    first = servers.split(",")[0].strip()
    parsed = urlparse(first if "://" in first else f"http://{first}")
    return parsed.hostname or "127.0.0.1", parsed.port or 2379


class EtcdStorage:
    """Guarantees: CAS on every write; watches resume exactly from a revision."""

    def __init__(self, servers: str, timeout_seconds: float = 10.0) -> None:
        host, port = parse_etcd_servers(servers)
        self._client = aetcd.Client(host=host, port=port, timeout=timeout_seconds)

    async def connect(self) -> None:
        await self._client.connect()

    async def create(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        client, data = self._client, encode(obj)
        ok, responses = await client.transaction(
            compare=[client.transactions.version(key.encode()) == 0],
            success=[client.transactions.put(key.encode(), data)],
            failure=[],
        )
        if not ok:
            raise KeyExistsError(key)
        return decode(data, responses[0].response_put.header.revision)

    async def get(self, key: str) -> dict[str, Any]:
        result = await self._client.get(key.encode())
        if result is None:
            raise KeyNotFoundError(key)
        return decode(result.value, result.mod_revision)

    async def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        result = await self._client.get_prefix(prefix.encode())
        items = [decode(kv.value, kv.mod_revision) for kv in result]
        return items, result.header.revision

    async def update(self, key: str, obj: dict[str, Any], expected_revision: int) -> dict[str, Any]:
        client, data = self._client, encode(obj)
        ok, responses = await client.transaction(
            compare=[client.transactions.mod(key.encode()) == expected_revision],
            success=[client.transactions.put(key.encode(), data)],
            failure=[],
        )
        if not ok:
            await self.get(key)  # raises KeyNotFoundError when the object is gone
            raise ConflictError(key)
        return decode(data, responses[0].response_put.header.revision)

    async def delete(self, key: str, expected_revision: int | None = None) -> dict[str, Any]:
        client = self._client
        while True:
            last = await client.get(key.encode())
            if last is None:
                raise KeyNotFoundError(key)
            if expected_revision is not None and last.mod_revision != expected_revision:
                raise ConflictError(key)
            # Delete exactly the state we read, so the returned object is the last one.
            ok, responses = await client.transaction(
                compare=[client.transactions.mod(key.encode()) == last.mod_revision],
                success=[client.transactions.delete(key.encode())],
                failure=[],
            )
            if ok:
                return decode(last.value, responses[0].response_delete_range.header.revision)

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        try:
            stream = await self._client.watch_prefix(
                prefix.encode(), start_revision=start_revision, prev_kv=True)
        except RevisionCompactedError as err:
            raise CompactedError(prefix, start_revision) from err
        try:
            async for event in stream:
                key = event.kv.key.decode()
                revision = event.kv.mod_revision
                prev = decode(event.prev_kv.value, event.prev_kv.mod_revision) if event.prev_kv.key else None
                if event.kind == aetcd.rtypes.EventKind.DELETE:
                    if prev is None:
                        continue  # nothing to report without the last state
                    gone = decode(event.prev_kv.value, revision)
                    yield StorageEvent(EventType.DELETED, key, gone, prev, revision)
                else:
                    kind = EventType.ADDED if event.kv.create_revision == revision else EventType.MODIFIED
                    yield StorageEvent(kind, key, decode(event.kv.value, revision), prev, revision)
        except RevisionCompactedError as err:
            raise CompactedError(prefix, start_revision) from err
        finally:
            await stream.cancel()

    async def current_revision(self) -> int:
        # A range read of a key that never exists returns the store's revision.
        result = await self._client.get_prefix(b"/registry/-revision-probe-")
        return int(result.header.revision)

    async def compact(self, revision: int) -> None:
        await self._client.compact(revision)

    async def close(self) -> None:
        await self._client.close()
