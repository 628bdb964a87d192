"""SharedInformer over a scripted list/watch: sync, events, 410 relist, reconnects, resync."""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tinykube.api import Pod, parse_object
from tinykube.api.meta import WatchEvent
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import FakeClock
from tinykube.client.errors import Gone, ServerError
from tinykube.client.informer import SharedInformer

PODS = INDEX.by_name("pods")
assert PODS is not None

Obj = dict[str, Any]
Step = WatchEvent | Exception


def pod(name: str, rv: int, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv), "labels": labels}}


def event(type: str, obj: Obj) -> WatchEvent:
    return WatchEvent(type=type, object=obj)


def bookmark(rv: int) -> WatchEvent:
    return WatchEvent(type="BOOKMARK", object={"kind": "Pod", "metadata": {"resourceVersion": str(rv)}})


GONE = Gone(410, "Expired", "too old resource version")


class ScriptedAPI:
    """Answers lists and watches from scripts; once the watch scripts run out, a watch
    stays open and silent, like a quiet server."""

    def __init__(self, lists: list[tuple[list[Obj]] | tuple[list[Obj], str] | Exception],
                 watches: list[list[Step]]) -> None:
        self.lists = deque(lists)
        self.watches = deque(watches)
        self.list_calls = 0
        self.watch_versions: list[str | None] = []
        self.idle = False

    async def list(self, info: ResourceInfo, namespace: str | None = None, **_: Any) -> tuple[list[Obj], str]:
        self.list_calls += 1
        answer = self.lists.popleft()
        if isinstance(answer, Exception):
            raise answer
        return copy.deepcopy(answer[0]), answer[1]  # type: ignore[misc]

    async def watch(self, info: ResourceInfo, namespace: str | None = None, *,
                    resource_version: str | None = None, **_: Any) -> AsyncIterator[WatchEvent]:
        self.watch_versions.append(resource_version)
        if not self.watches:
            self.idle = True
            await asyncio.Event().wait()
        for step in self.watches.popleft():
            if isinstance(step, Exception):
                raise step
            yield step


async def until(condition: Callable[[], bool], timeout_seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.001)


class Recorder:
    """Handlers that record what they saw and check the cache was updated first."""

    def __init__(self, informer: SharedInformer) -> None:
        self.informer = informer
        self.seen: list[tuple[str, ...]] = []
        informer.add_event_handler(self.on_add, self.on_update, self.on_delete)

    def key(self, obj: Any) -> str:
        return self.informer.indexer.key_of(obj)

    def rv(self, obj: Any) -> str:
        return obj.metadata.resource_version if isinstance(obj, Pod) else obj["metadata"]["resourceVersion"]

    def on_add(self, obj: Any) -> None:
        assert self.informer.indexer.get(self.key(obj)) is obj
        self.seen.append(("add", self.key(obj), self.rv(obj)))

    def on_update(self, old: Any, new: Any) -> None:
        assert self.informer.indexer.get(self.key(new)) is new
        self.seen.append(("update", self.key(new), self.rv(old), self.rv(new)))

    async def on_delete(self, obj: Any) -> None:  # async handlers are awaited
        assert self.key(obj) not in self.informer.indexer
        self.seen.append(("delete", self.key(obj)))


async def test_syncs_then_follows_the_watch_and_relists_after_410() -> None:
    api = ScriptedAPI(
        lists=[([pod("a", 1), pod("b", 2)], "2"),
               ([pod("a", 3), pod("c", 6), pod("d", 7)], "7")],
        watches=[[event("MODIFIED", pod("a", 3)), event("ADDED", pod("c", 4)), bookmark(5), GONE],
                 [event("DELETED", pod("a", 8))]])
    informer = SharedInformer(api, PODS, clock=FakeClock(), rng=lambda: 0.0)
    rec = Recorder(informer)
    assert not informer.has_synced()
    informer.start()
    try:
        assert await informer.wait_for_cache_sync(5)
        await until(lambda: api.idle)
    finally:
        await informer.stop()
    assert rec.seen == [
        ("add", "ns/a", "1"), ("add", "ns/b", "2"),
        ("update", "ns/a", "1", "3"), ("add", "ns/c", "4"),
        # relist: known keys are updates, new keys adds, vanished keys deletes
        ("update", "ns/a", "3", "3"), ("update", "ns/c", "4", "6"), ("add", "ns/d", "7"),
        ("delete", "ns/b"),
        ("delete", "ns/a"),
    ]
    assert api.list_calls == 2
    assert api.watch_versions == ["2", "7", "8"]
    assert sorted(informer.indexer.list_keys()) == ["ns/c", "ns/d"]
    assert informer.last_sync_resource_version == "8"


async def test_a_broken_watch_resumes_from_the_last_version_after_backoff() -> None:
    clock = FakeClock()
    api = ScriptedAPI(lists=[([], "2")],
                      watches=[[event("ADDED", pod("x", 3)), bookmark(9), ConnectionError("reset")],
                               [ServerError(500, "InternalError", "etcd hiccup")],
                               [event("MODIFIED", pod("x", 10))]])
    informer = SharedInformer(api, PODS, clock=clock, rng=lambda: 0.0)
    rec = Recorder(informer)
    informer.start()
    try:
        for expected_watches in (2, 3):
            await until(lambda: clock.pending_timers > 0)  # sleeping in backoff, not spinning
            assert len(api.watch_versions) == expected_watches - 1
            clock.advance(60)
            await until(lambda: len(api.watch_versions) >= expected_watches)
        await until(lambda: api.idle)
    finally:
        await informer.stop()
    assert api.list_calls == 1  # plain errors do not relist
    assert api.watch_versions == ["2", "9", "9", "10"]  # the bookmark moved the resume point
    assert rec.seen == [("add", "ns/x", "3"), ("update", "ns/x", "3", "10")]


async def test_a_failed_list_is_retried_and_sync_waits_for_it() -> None:
    clock = FakeClock()
    api = ScriptedAPI(lists=[ServerError(503, "ServiceUnavailable", "starting"), ([pod("a", 1)], "1")],
                      watches=[])
    informer = SharedInformer(api, PODS, clock=clock, rng=lambda: 0.0)
    rec = Recorder(informer)
    informer.start()
    try:
        await until(lambda: clock.pending_timers > 0)
        assert not await informer.wait_for_cache_sync(0.01)
        clock.advance(60)
        assert await informer.wait_for_cache_sync(5)
    finally:
        await informer.stop()
    assert rec.seen == [("add", "ns/a", "1")]


async def test_periodic_resync_redelivers_cached_objects_as_updates() -> None:
    clock = FakeClock()
    api = ScriptedAPI(lists=[([pod("a", 1)], "1")], watches=[])
    informer = SharedInformer(api, PODS, clock=clock, rng=lambda: 0.0, resync_period_seconds=30)
    rec = Recorder(informer)
    informer.start()
    try:
        await until(lambda: api.idle and clock.pending_timers > 0)
        clock.advance(30)
        await until(lambda: len(rec.seen) == 2)
    finally:
        await informer.stop()
    assert rec.seen == [("add", "ns/a", "1"), ("update", "ns/a", "1", "1")]


async def test_a_failing_handler_does_not_stop_the_informer_or_other_handlers() -> None:
    api = ScriptedAPI(lists=[([pod("a", 1)], "1")], watches=[[event("ADDED", pod("b", 2))]])
    informer = SharedInformer(api, PODS, clock=FakeClock(), rng=lambda: 0.0)

    def broken(obj: Obj) -> None:
        raise RuntimeError("bug in a controller")

    informer.add_event_handler(on_add=broken)
    rec = Recorder(informer)
    informer.start()
    try:
        await until(lambda: api.idle)
    finally:
        await informer.stop()
    assert rec.seen == [("add", "ns/a", "1"), ("add", "ns/b", "2")]


async def test_transform_caches_typed_models() -> None:
    api = ScriptedAPI(lists=[([pod("a", 1, app="web")], "1")], watches=[])
    informer = SharedInformer(api, PODS, clock=FakeClock(), transform=parse_object)
    rec = Recorder(informer)
    informer.start()
    try:
        assert await informer.wait_for_cache_sync(5)
    finally:
        await informer.stop()
    cached = informer.indexer.get("ns/a")
    assert isinstance(cached, Pod) and cached.metadata.labels == {"app": "web"}
    assert rec.seen == [("add", "ns/a", "1")]


async def test_typed_informer_parses_each_event_once_and_keeps_unknown_fields() -> None:
    listed = pod("a", 1, app="web")
    listed["spec"] = {"containers": [{"name": "c", "image": "nginx", "futureField": {"x": 1}}]}
    listed["metadata"]["futureMeta"] = "kept"  # list items carry no kind: the model comes from the resource
    del listed["apiVersion"], listed["kind"]
    api = ScriptedAPI(lists=[([listed], "1")], watches=[[event("MODIFIED", pod("a", 2, app="api"))]])
    informer = SharedInformer(api, PODS, clock=FakeClock(), typed=True)
    seen: list[Any] = []
    informer.add_event_handler(on_add=seen.append, on_update=lambda old, new: seen.append(new))
    informer.start()
    try:
        assert await informer.wait_for_cache_sync(5)
        await until(lambda: len(seen) == 2)
    finally:
        await informer.stop()
    added, updated = seen
    assert isinstance(added, Pod) and isinstance(updated, Pod)
    assert updated is informer.indexer.get("ns/a")  # the handler got the cached object: parsed once
    assert added.to_dict()["spec"]["containers"][0]["futureField"] == {"x": 1}
    assert added.to_dict()["metadata"]["futureMeta"] == "kept"
    assert updated.metadata.labels == {"app": "api"}


async def test_handlers_must_be_registered_before_start() -> None:
    informer = SharedInformer(ScriptedAPI(lists=[([], "1")], watches=[]), PODS, clock=FakeClock())
    informer.start()
    try:
        with pytest.raises(RuntimeError, match="before"):
            informer.add_event_handler(on_add=print)
    finally:
        await informer.stop()
