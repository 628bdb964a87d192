"""Storage on a real etcd v3 through aetcd: the only module that imports aetcd.

Every write is one etcd request, so a create never overwrites and an update
never loses a concurrent change:

- create: `if version(key) == 0 then put`;
- guaranteed_update: `if mod_revision(key) == read then put (or delete) else get`;
  the `else get` hands a lost race the fresh state for its next attempt without
  another round trip (as Kubernetes' etcd3 store does). Given the watch cache's
  copy it skips the first read too, so an update usually costs one request; an
  error found on that copy is only believed after a fresh read;
- delete: an unconditional delete that returns the last state (prev_kv).

resourceVersion is etcd's mod_revision; a list's resourceVersion is the header
revision of the range read. Lists are read in pages at one revision
(`storage/paging.py`), so no answer grows with the kind past the client's receive
limit (`max_receive_bytes`, gRPC's `grpc.max_receive_message_length`). Watches ask
etcd for prev_kv so DELETED events carry the last state of the object and selector
changes can be computed, and for fragments, so a watch resumed across a large
backlog gets it in messages of etcd's request size rather than one message.

Encryption at rest (`--encryption-provider-config`) is a value transformer here,
below everything else: each value of a configured resource is transformed on its
way to etcd and back (reads, lists, watch events, CAS answers), with the etcd key
as its authenticated context. A value read as *stale* (an older key or provider)
is written again by `guaranteed_update` even when the object did not change.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import aetcd
from aetcd import rpc

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
    stored_copy,
)
from apiserver.storage.paging import KeyValue, RangePage, ResponseTooLarge, prefix_range_end, read_pages
from apiserver.storage.value.resource_transformers import ResourceTransformers
from apiserver.storage.value.transformer import TransformError

log = logging.getLogger(__name__)

# The key whose version orders the compactions of all API servers on one etcd
# (Kubernetes' compactRevKey, outside /registry).
COMPACT_REV_KEY = b"compact_rev_key"
DEFAULT_MAX_RECEIVE_BYTES = 16 * 1024 * 1024


def parse_etcd_servers(servers: str) -> tuple[str, int]:
    """`http://127.0.0.1:2379[,other]` -> the first endpoint's host and port."""
    first = servers.split(",")[0].strip()
    parsed = urlparse(first if "://" in first else f"http://{first}")
    return parsed.hostname or "127.0.0.1", parsed.port or 2379


class EtcdStorage:
    """Guarantees: CAS on every write; watches resume exactly from a revision."""

    def __init__(self, servers: str, timeout_seconds: float = 10.0,
                 max_receive_bytes: int = DEFAULT_MAX_RECEIVE_BYTES,
                 transformers: ResourceTransformers | None = None) -> None:
        host, port = parse_etcd_servers(servers)
        self._transformers = transformers
        self._timeout_seconds = timeout_seconds
        # A page aims at a quarter of the limit: room for objects larger than average.
        self._page_budget_bytes = max(1, max_receive_bytes // 4)
        self._client = aetcd.Client(
            host=host, port=port, timeout=timeout_seconds,
            options={"grpc.max_receive_message_length": max_receive_bytes})

    async def connect(self) -> None:
        await self._client.connect()

    # --- values: the transformer of the key's resource, if any --------------
    def _to_storage(self, key: str, data: bytes) -> bytes:
        transformer = self._transformers.for_key(key) if self._transformers else None
        return data if transformer is None else transformer.to_storage(data, key.encode())

    def _from_storage(self, key: str, value: bytes) -> tuple[bytes, bool]:
        """(the object's JSON, stale)."""
        transformer = self._transformers.for_key(key) if self._transformers else None
        if transformer is None:
            return value, False
        try:
            return transformer.from_storage(value, key.encode())
        except TransformError as err:
            raise StorageError(key, f"unable to transform key {key!r}: {err}") from None

    def _decode(self, key: str | bytes, value: bytes, revision: int) -> Obj:
        if self._transformers is None:
            return decode(value, revision)
        text = key if isinstance(key, str) else key.decode()
        return decode(self._from_storage(text, value)[0], revision)

    def _storage_event(self, event: Any) -> StorageEvent | None:
        key, revision = event.kv.key.decode(), event.kv.mod_revision
        prev = (self._decode(key, event.prev_kv.value, event.prev_kv.mod_revision)
                if event.prev_kv.key else None)
        if event.type == rpc.Event.DELETE:
            if prev is None:
                return None  # nothing to report without the last state
            return StorageEvent(EventType.DELETED, key,
                                self._decode(key, event.prev_kv.value, revision), prev, revision)
        kind = EventType.ADDED if event.kv.create_revision == revision else EventType.MODIFIED
        return StorageEvent(kind, key, self._decode(key, event.kv.value, revision), prev, revision)

    async def create(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        client, data = self._client, self._to_storage(key, encode(obj))
        ok, responses = await client.transaction(
            compare=[client.transactions.version(key.encode()) == 0],
            success=[client.transactions.put(key.encode(), data)],
            failure=[],
        )
        if not ok:
            raise KeyExistsError(key)
        return stored_copy(obj, responses[0].response_put.header.revision)

    async def get(self, key: str) -> dict[str, Any]:
        result = await self._client.get(key.encode())
        if result is None:
            raise KeyNotFoundError(key)
        return self._decode(key, result.value, result.mod_revision)

    async def list(self, prefix: str, revision: int = 0) -> tuple[list[dict[str, Any]], int]:
        return await collect(self.list_pages(prefix, revision))

    async def list_pages(self, prefix: str, revision: int = 0, start_key: str = "",
                         first_page_size: int = 0) -> AsyncIterator[tuple[list[Obj], int]]:
        start = max(prefix, start_key).encode()
        pages = read_pages(self._range, start, prefix_range_end(prefix.encode()),
                           self._page_budget_bytes, revision, first_page_size)
        async for page in pages:
            yield [self._decode(kv.key, kv.value, kv.mod_revision) for kv in page.kvs], page.revision

    async def _range(self, start: bytes, end: bytes, limit: int, revision: int) -> RangePage:
        """One etcd range request (aetcd's `get_range` sends neither limit nor revision)."""
        await self._client.connect()
        request = rpc.RangeRequest(key=start, range_end=end, limit=limit, revision=revision)
        try:
            response = await self._client.kvstub.Range(
                request, timeout=self._timeout_seconds, metadata=self._client.metadata)
        except rpc.AioRpcError as err:
            if err.code() == rpc.StatusCode.RESOURCE_EXHAUSTED:
                raise ResponseTooLarge(err.details()) from err
            if err.code() == rpc.StatusCode.OUT_OF_RANGE and "compacted" in (err.details() or ""):
                raise CompactedError(start.decode(errors="replace"), revision) from err
            if err.code() == rpc.StatusCode.OUT_OF_RANGE:
                raise StorageError(start.decode(errors="replace"), err.details() or "") from err
            raise
        kvs = [KeyValue(kv.key, kv.value, kv.mod_revision) for kv in response.kvs]
        return RangePage(kvs, response.header.revision, response.more)

    async def guaranteed_update(self, key: str, try_update: TryUpdate,
                                preconditions: Preconditions | None = None,
                                cached: Obj | None = None) -> Obj:
        client, etcd_key = self._client, key.encode()
        revision = (cached or {}).get("metadata", {}).get("resourceVersion")
        fresh = cached is None or not str(revision).isdigit()
        stale = False  # the stored value must be written again (an older key)
        if fresh:
            old_data, old_revision, stale = await self._read(key)
        else:  # a copy, as try_update may change what it gets
            old_data, old_revision = encode(cached or {}), int(revision)
        while True:
            current = decode(old_data, old_revision)
            try:
                if preconditions is not None:
                    preconditions.check(key, current)
                new = await try_update(current)
            except Exception:
                if fresh:
                    raise
                # Judged on a possibly stale copy: only the store's state counts.
                fresh = True
                old_data, old_revision, stale = await self._read(key)
                continue
            if new is None:
                operation = client.transactions.delete(etcd_key)
            else:
                data = encode(new)
                if not stale and same_encoding(data, old_data):
                    if not fresh:  # no change from a stale copy may still be one from the store's
                        fresh = True
                        old_data, old_revision, stale = await self._read(key)
                        continue
                    return decode(old_data, old_revision)
                operation = client.transactions.put(etcd_key, self._to_storage(key, data))
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
            value, got = responses[0][0]
            old_revision, fresh = got.mod_revision, True
            old_data, stale = self._from_storage(key, value)

    async def _read(self, key: str) -> tuple[bytes, int, bool]:
        """The stored object's JSON, its revision, and whether its value is stale."""
        got = await self._client.get(key.encode())
        if got is None:
            raise KeyNotFoundError(key)
        data, stale = self._from_storage(key, got.value)
        return data, got.mod_revision, stale

    async def delete(self, key: str) -> Obj:
        result = await self._client.delete(key.encode(), prev_kv=True)
        if result is None or result.prev_kv is None:
            raise KeyNotFoundError(key)
        return self._decode(key, result.prev_kv.value, result.header.revision)

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[StorageEvent]:
        """One gRPC watch stream of its own (aetcd's shared stream sends no `fragment`,
        and one oversized answer there ends every watch of the client)."""
        await self._client.connect()
        create = rpc.WatchCreateRequest(
            key=prefix.encode(), range_end=prefix_range_end(prefix.encode()),
            start_revision=start_revision, prev_kv=True, fragment=True)

        async def requests() -> AsyncIterator[rpc.WatchRequest]:
            yield rpc.WatchRequest(create_request=create)
            await asyncio.Event().wait()  # the stream stays open until cancelled

        call = rpc.WatchStub(self._client.channel).Watch(requests(), metadata=self._client.metadata)
        try:
            async for response in call:
                if response.compact_revision:
                    raise CompactedError(prefix, start_revision, response.compact_revision)
                if response.canceled:
                    raise StorageError(prefix, f"etcd canceled the watch: {response.cancel_reason}")
                for event in response.events:
                    storage_event = self._storage_event(event)
                    if storage_event is not None:
                        yield storage_event
        finally:
            call.cancel()

    async def current_revision(self) -> int:
        # A range read of a key that never exists returns the store's revision.
        result = await self._client.get_prefix(b"/registry/-revision-probe-")
        return int(result.header.revision)

    async def ping(self) -> None:
        await self._client.get(b"health")

    async def alarms(self) -> list[str]:
        names = {rpc.AlarmType.NOSPACE: "NOSPACE", rpc.AlarmType.CORRUPT: "CORRUPT"}
        return [names.get(alarm.alarm_type, str(alarm.alarm_type))
                async for alarm in self._client.list_alarms()]

    async def guarded_compact(self, expect_version: int, revision: int) -> tuple[int, int, int]:
        """One round of Kubernetes' compaction protocol (etcd3/compact.go `compact`).

        If `compact_rev_key`'s version is still `expect_version`, this API server
        wins the round: it bumps the version (storing `revision`) and compacts etcd
        to `revision` (not on the first round, where `revision` is 0). Otherwise
        another API server compacted meanwhile: learn its version and revision.
        Returns (compact version, etcd's current revision, revision compacted to or 0).
        """
        client = self._client
        ok, responses = await client.transaction(
            compare=[client.transactions.version(COMPACT_REV_KEY) == expect_version],
            success=[client.transactions.put(COMPACT_REV_KEY, str(revision).encode())],
            failure=[client.transactions.get(COMPACT_REV_KEY)])
        if not ok:
            value, kv = responses[0][0]
            compacted = int(value) if value.isdigit() else 0
            return kv.version, kv.header.revision, compacted
        current = responses[0].response_put.header.revision
        if revision == 0:
            return expect_version + 1, current, 0
        await client.compact(revision)
        return expect_version + 1, current, revision

    async def close(self) -> None:
        await self._client.close()
