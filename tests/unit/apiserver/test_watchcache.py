"""WatchCache over MemoryStorage: fan-out, resume, storage fallback, slow watchers.

No processes: the cache follows an in-memory store with etcd's revision semantics.
Watches start from an explicit revision, so it never matters when the consuming
task first runs; every wait is bounded by a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.storage.interface import CompactedError, EventType, StorageEvent, TryUpdate
from apiserver.storage.memory import MemoryStorage
from apiserver.watchcache import WatchCache, WatcherClosed

PREFIX = "/registry/pods/"
DEADLINE_SECONDS = 5.0


def pod(name: str, value: int = 0) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns"}, "spec": {"value": value}}


def key(name: str) -> str:
    return f"{PREFIX}ns/{name}"


async def take(events: AsyncIterator[StorageEvent], count: int) -> list[StorageEvent]:
    async def collect() -> list[StorageEvent]:
        taken: list[StorageEvent] = []
        while len(taken) < count:
            taken.append(await anext(events))
        return taken

    return await asyncio.wait_for(collect(), DEADLINE_SECONDS)


async def create(storage: MemoryStorage, name: str) -> int:
    """Create a pod; returns its resourceVersion."""
    return int((await storage.create(key(name), pod(name)))["metadata"]["resourceVersion"])


def set_value(value: int) -> TryUpdate:
    async def try_update(current: dict[str, Any]) -> dict[str, Any]:
        return pod(current["metadata"]["name"], value)

    return try_update


def revisions(events: list[StorageEvent]) -> list[int]:
    return [e.revision for e in events]


@pytest.fixture
async def storage() -> MemoryStorage:
    return MemoryStorage()


async def started(storage: MemoryStorage, **kwargs: int) -> WatchCache:
    cache = WatchCache(storage, PREFIX, **kwargs)
    await asyncio.wait_for(cache.start(), DEADLINE_SECONDS)
    return cache


async def test_every_watcher_gets_every_event_in_order(storage: MemoryStorage) -> None:
    cache = await started(storage)
    start = cache.revision
    watches = [cache.watch(start) for _ in range(20)]
    written = []
    for i in range(10):
        written.append(await create(storage, f"p{i}"))
    results = await asyncio.gather(*(take(w, 10) for w in watches))
    for events in results:
        assert revisions(events) == written
        assert [e.type for e in events] == [EventType.ADDED] * 10
    for w in watches:
        await w.aclose()
    await cache.stop()


async def test_resume_from_history_gives_exactly_the_later_events(storage: MemoryStorage) -> None:
    cache = await started(storage)
    created = await storage.create(key("a"), pod("a"))
    first_rv = int(created["metadata"]["resourceVersion"])
    later = []
    for value in range(1, 6):
        current = await storage.guaranteed_update(key("a"), set_value(value))
        later.append(int(current["metadata"]["resourceVersion"]))
    deleted = await storage.delete(key("a"))
    later.append(int(deleted["metadata"]["resourceVersion"]))

    events = await take(cache.watch(first_rv), len(later))
    assert revisions(events) == later
    assert [e.type for e in events] == [EventType.MODIFIED] * 5 + [EventType.DELETED]
    assert [e.obj["spec"]["value"] for e in events[:5]] == [1, 2, 3, 4, 5]
    await cache.stop()


async def test_watch_without_revision_starts_with_the_current_objects(storage: MemoryStorage) -> None:
    await storage.create(key("b"), pod("b"))
    await storage.create(key("a"), pod("a"))
    cache = await started(storage)
    watch = cache.watch(None)
    initial = await take(watch, 2)
    assert [(e.type, e.obj["metadata"]["name"]) for e in initial] == \
        [(EventType.ADDED, "a"), (EventType.ADDED, "b")]
    live = await storage.create(key("c"), pod("c"))
    (event,) = await take(watch, 1)
    assert (event.type, event.revision) == (EventType.ADDED, int(live["metadata"]["resourceVersion"]))
    await watch.aclose()
    await cache.stop()


async def test_revisions_older_than_history_come_from_storage(storage: MemoryStorage) -> None:
    cache = await started(storage, history_size=3)
    start = cache.revision
    written = []
    for i in range(10):
        written.append(await create(storage, f"p{i}"))
    # Wait until the cache has seen everything, so its history really has rolled over.
    tail = await take(cache.watch(written[-2]), 1)
    assert revisions(tail) == written[-1:]

    events = await take(cache.watch(start), 10)
    assert revisions(events) == written
    await cache.stop()


async def test_revisions_older_than_storage_history_are_compacted(storage: MemoryStorage) -> None:
    cache = await started(storage, history_size=2)
    start = cache.revision
    written = []
    for i in range(5):
        written.append(await create(storage, f"p{i}"))
    await take(cache.watch(written[-2]), 1)
    storage.compact(written[-1])
    with pytest.raises(CompactedError):
        await take(cache.watch(start), 1)
    await cache.stop()


async def test_a_slow_watcher_is_closed_and_the_others_carry_on(storage: MemoryStorage) -> None:
    cache = await started(storage, watcher_capacity=2)
    start = cache.revision
    slow, fast = cache.watch(start), cache.watch(start)
    # Both read the first event (which registers them); the slow one then stops reading.
    written = [await create(storage, "p0")]
    (slow_first,) = await take(slow, 1)
    assert slow_first.revision == written[0]
    assert revisions(await take(fast, 1)) == written[:1]
    for i in range(1, 8):
        written.append(await create(storage, f"p{i}"))
        # The fast watcher keeps up: it reads each event before the next write.
        assert revisions(await take(fast, 1)) == written[-1:]

    # The slow watcher gets what was queued for it, in order and without gaps,
    # then learns it was dropped (a client then resumes or re-lists).
    delivered: list[int] = []
    with pytest.raises(WatcherClosed):
        while True:
            delivered.extend(revisions(await take(slow, 1)))
    assert delivered == written[1:3]  # exactly what fit in its queue of 2
    # Resuming from the last delivered revision loses nothing.
    resumed = await take(cache.watch(delivered[-1]), len(written) - 3)
    assert revisions(resumed) == written[3:]
    await fast.aclose()
    await cache.stop()
