"""WatchCache watchers with an event filter and a trigger value (a pod's node).

The filter and the trigger index only decide which events reach a watcher's queue;
these tests check that a watcher still gets every event it wants, in order, and
that events it does not want neither reach it nor count against its capacity.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from apiserver.storage.interface import EventType, StorageEvent, TryUpdate
from apiserver.storage.memory import MemoryStorage
from apiserver.watchcache import WatchCache

PREFIX = "/registry/pods/"
DEADLINE_SECONDS = 5.0


def pod(name: str, node: str = "", value: int = 0) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"nodeName": node, "value": value}}


def key(name: str) -> str:
    return f"{PREFIX}ns/{name}"


def node_of(obj: dict[str, Any]) -> str:
    return str(obj["spec"].get("nodeName") or "")


def move_to(node: str) -> TryUpdate:
    async def try_update(current: dict[str, Any]) -> dict[str, Any]:
        return pod(current["metadata"]["name"], node, current["spec"]["value"] + 1)

    return try_update


async def take(events: AsyncIterator[StorageEvent], count: int) -> list[StorageEvent]:
    async def collect() -> list[StorageEvent]:
        return [await anext(events) for _ in range(count)]

    return await asyncio.wait_for(collect(), DEADLINE_SECONDS)


async def started(storage: MemoryStorage, **kwargs: Any) -> WatchCache:
    cache = WatchCache(storage, PREFIX, trigger=node_of, **kwargs)
    await asyncio.wait_for(cache.start(), DEADLINE_SECONDS)
    return cache


def on_node(node: str) -> Any:
    def wants(event: StorageEvent) -> bool:
        return (event.type is not EventType.DELETED and node_of(event.obj) == node) or \
            (event.prev is not None and node_of(event.prev) == node)

    return wants


async def test_triggered_watcher_sees_its_nodes_pods_arrive_change_and_leave() -> None:
    storage = MemoryStorage()
    cache = await started(storage)
    start = cache.revision
    mine = cache.watch(start, on_node("n1"), trigger_value="n1")
    everything = cache.watch(start)
    await storage.create(key("first"), pod("first", "n1"))
    await take(mine, 1)  # both registered and live from here on
    await take(everything, 1)
    await storage.create(key("other"), pod("other", "n2"))
    await storage.create(key("a"), pod("a"))  # not on any node yet
    await storage.guaranteed_update(key("a"), move_to("n1"))  # arrives on n1
    await storage.guaranteed_update(key("other"), move_to("n3"))  # never on n1
    await storage.guaranteed_update(key("a"), move_to("n2"))  # leaves n1
    await storage.delete(key("a"))  # gone from n2: not n1's business any more
    marker = await storage.create(key("b"), pod("b", "n1"))

    events = await take(mine, 3)
    assert [(e.type, e.obj["metadata"]["name"], node_of(e.obj)) for e in events] == [
        (EventType.MODIFIED, "a", "n1"), (EventType.MODIFIED, "a", "n2"), (EventType.ADDED, "b", "n1")]
    assert events[-1].revision == int(marker["metadata"]["resourceVersion"])
    assert len(await take(everything, 7)) == 7  # an untriggered watcher still gets all
    await mine.aclose()
    await everything.aclose()
    await cache.stop()


async def test_watchers_of_different_nodes_each_get_only_their_own() -> None:
    storage = MemoryStorage()
    cache = await started(storage)
    # The trigger value alone, without a filter: the index decides what arrives.
    watches = {}
    for node in ("n1", "n2", "n3"):
        created = await storage.create(key(f"first-{node}"), pod(f"first-{node}", node))
        watch = watches[node] = cache.watch(int(created["metadata"]["resourceVersion"]) - 1,
                                            trigger_value=node)
        assert node_of((await take(watch, 1))[0].obj) == node  # registered and live
    for i in range(9):
        await storage.create(key(f"p{i}"), pod(f"p{i}", f"n{i % 3 + 1}"))
    for node, watch in watches.items():
        events = await take(watch, 3)
        assert {node_of(e.obj) for e in events} == {node}
        assert [e.revision for e in events] == sorted(e.revision for e in events)
        await watch.aclose()
    await cache.stop()


async def test_unwanted_events_do_not_fill_a_watchers_queue() -> None:
    storage = MemoryStorage()
    cache = await started(storage, watcher_capacity=2)
    start = cache.revision
    filtered = cache.watch(start, on_node("n1"))  # a filter without a trigger value
    await storage.create(key("first"), pod("first", "n1"))
    await take(filtered, 1)  # registered and live from here on
    for i in range(10):  # would close an unfiltered watcher of capacity 2 nobody reads
        await storage.create(key(f"p{i}"), pod(f"p{i}", "n2"))
    wanted = await storage.create(key("mine"), pod("mine", "n1"))
    (event,) = await take(filtered, 1)
    assert (event.type, event.revision) == (EventType.ADDED, int(wanted["metadata"]["resourceVersion"]))
    await filtered.aclose()
    await cache.stop()


async def test_a_closed_triggered_watcher_is_no_longer_offered_events() -> None:
    storage = MemoryStorage()
    cache = await started(storage)
    first = cache.watch(cache.revision, on_node("n1"), trigger_value="n1")
    await storage.create(key("a"), pod("a", "n1"))
    await take(first, 1)
    await first.aclose()
    second = cache.watch(cache.revision, on_node("n1"), trigger_value="n1")
    created = await storage.create(key("b"), pod("b", "n1"))
    (event,) = await take(second, 1)
    assert event.revision == int(created["metadata"]["resourceVersion"])
    await second.aclose()
    await cache.stop()
