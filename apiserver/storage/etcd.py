"""Storage on a real etcd v3 through aetcd: the only module that imports aetcd.

Every write is one etcd request, so a create never overwrites and an update
never loses a concurrent change:

- create: `if version(key) == 0 then put`;
- guaranteed_update: `if mod_revision(key) == read then put (or delete) else get`;
  the `else get` hands a lost race the fresh state for its next attempt without
  another round trip (as Kubernetes' etcd3 store does);
- delete: an unconditional delete that returns the last state (prev_kv).

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

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None) -> Obj:
        client, etcd_key = self._client, key.encode()
        got = await client.get(etcd_key)
        if got is None:
            raise KeyNotFoundError(key)
        old_data, old_revision = got.value, got.mod_revision
        while True:
            current = decode(old_data, old_revision)
            if preconditions is not None:
                preconditions.check(key, current)
            new = await try_update(current)
            if new is None:
                operation = client.transactions.delete(etcd_key)
            else:
                data = encode(new)
                if same_encoding(data, old_data):
                    return decode(old_data, old_revision)
                operation = client.transactions.put(etcd_key, data)
            ok, responses = await client.transaction(
                compare=[client.transactions.mod(etcd_key) == old_revision],
                success=[operation],
                failure=[client.transactions.get(etcd_key)],
            )
            if ok:
                if new is None:
                    return decode(old_data, responses[0].response_delete_range.header.revision)
                return decode(data, responses[0].response_put.header.revision)
            if not responses[0]:
                raise KeyNotFoundError(key)
            log.debug("guaranteed update conflict, retrying key=%s", key)
            old_data, fresh = responses[0][0]
            old_revision = fresh.mod_revision

    async def delete(self, key: str) -> Obj:
        result = await self._client.delete(key.encode(), prev_kv=True)
        if result is None or result.prev_kv is None:
            raise KeyNotFoundError(key)
        return decode(result.prev_kv.value, result.header.revision)

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
