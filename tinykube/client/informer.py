"""Informers: a local cache kept in step with the API server by list + watch.

A `Reflector` lists a resource, hands the whole list to its sink, then watches from
the list's resourceVersion and hands over each event. A `SharedInformer` is that
sink: it files every object in an `Indexer` and only then calls the registered
handlers, so a handler (or the worker it wakes) always finds the cache at least as
new as the event it was told about.

Recovery, as in client-go:
- the watch ends normally (timeoutSeconds): watch again from the last resourceVersion;
- the watch fails (connection lost, 5xx): wait a jittered exponential backoff and
  watch again from the last resourceVersion;
- 410 Gone (that version is no longer in the server's history): relist, and diff the
  new list against the cache: new keys are adds, known keys updates, missing keys
  deletes (the handlers see the last state the cache held);
- the list fails: backoff, then list again.
BOOKMARK events carry no object change, only a newer resourceVersion to resume from.

Kubernetes counterpart: staging/src/k8s.io/client-go/tools/cache/reflector.go,
staging/src/k8s.io/client-go/tools/cache/shared_informer.go
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

from tinykube.api.meta import WatchEvent
from tinykube.api.resources import ResourceInfo
from tinykube.client.cache import Indexer, IndexFunc, resource_version_of
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import Gone

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Handler = Callable[..., Any]  # sync or async; its result is awaited when awaitable


class ListerWatcher(Protocol):
    """What a Reflector needs from the API; `RESTClient` provides it."""

    async def list(self, info: ResourceInfo, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   limit: int | None = None) -> tuple[list[Obj], str]: ...

    def watch(self, info: ResourceInfo, namespace: str | None = None, *,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None, timeout_seconds: int | None = None,
              allow_bookmarks: bool = True) -> AsyncIterator[WatchEvent]: ...


class ReflectorSink(Protocol):
    async def replace(self, items: list[Obj], resource_version: str) -> None: ...

    async def apply(self, event_type: str, obj: Obj) -> None: ...


class Backoff:
    """Exponential backoff with jitter: initial * factor^n, capped, times (1 + jitter*rand)."""

    def __init__(self, initial_seconds: float = 0.8, max_seconds: float = 30.0, factor: float = 2.0,
                 jitter: float = 1.0, rng: Callable[[], float] = random.random) -> None:
        self.initial_seconds, self.max_seconds = initial_seconds, max_seconds
        self.factor, self.jitter, self._rng = factor, jitter, rng
        self._attempt = 0

    def next_delay(self) -> float:
        base = min(self.initial_seconds * self.factor**min(self._attempt, 64), self.max_seconds)
        self._attempt += 1
        return base * (1.0 + self.jitter * self._rng())

    def reset(self) -> None:
        self._attempt = 0


class Reflector:
    """Mirrors one resource (optionally one namespace / selector) into a sink.

    - `last_sync_resource_version` is the newest version seen (list, event or bookmark).
    - `run()` loops until cancelled; errors never escape it.
    """

    def __init__(self, lister_watcher: ListerWatcher, info: ResourceInfo, sink: ReflectorSink, *,
                 namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, clock: Clock = REAL_CLOCK,
                 rng: Callable[[], float] = random.random,
                 min_watch_timeout_seconds: int = 300) -> None:
        self._lw, self.info, self._sink = lister_watcher, info, sink
        self.namespace, self.label_selector, self.field_selector = namespace, label_selector, field_selector
        self._clock, self._rng = clock, rng
        self._min_watch_timeout_seconds = min_watch_timeout_seconds
        self._backoff = Backoff(rng=rng)
        self.last_sync_resource_version = ""

    async def run(self) -> None:
        while True:
            try:
                await self.list_and_replace()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("list failed resource=%s err=%r", self.info.plural, err)
                await self._clock.sleep(self._backoff.next_delay())
                continue
            await self.watch_until_gone()

    async def list_and_replace(self) -> None:
        items, resource_version = await self._lw.list(
            self.info, self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector)
        await self._sink.replace(items, resource_version)
        self.last_sync_resource_version = resource_version
        self._backoff.reset()
        log.debug("listed resource=%s items=%d rv=%s", self.info.plural, len(items), resource_version)

    async def watch_until_gone(self) -> None:
        """Watch, re-watching after ends and errors; returns when a relist is needed."""
        while True:
            try:
                received = await self._watch_once()
            except Gone as err:
                log.info("watch expired, relisting resource=%s rv=%s err=%s",
                         self.info.plural, self.last_sync_resource_version, err.message)
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("watch failed resource=%s rv=%s err=%r",
                            self.info.plural, self.last_sync_resource_version, err)
                received = 0
            if received == 0:  # failed, or closed at once: do not hammer the server
                await self._clock.sleep(self._backoff.next_delay())

    async def _watch_once(self) -> int:
        # Spread reconnects of many clients: 1x to 2x the minimum timeout.
        timeout = int(self._min_watch_timeout_seconds * (1.0 + self._rng()))
        received = 0
        stream = self._lw.watch(
            self.info, self.namespace, resource_version=self.last_sync_resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            timeout_seconds=timeout, allow_bookmarks=True)
        async with aclosing(stream) as events:  # type: ignore[type-var]
            async for event in events:
                received += 1
                self._backoff.reset()
                if event.type != "BOOKMARK":
                    if event.type not in ("ADDED", "MODIFIED", "DELETED"):
                        log.warning("unknown watch event type=%s resource=%s", event.type,
                                    self.info.plural)
                        continue
                    await self._sink.apply(event.type, event.object)
                version = resource_version_of(event.object)
                if version:
                    self.last_sync_resource_version = version
        return received


@dataclass
class EventHandler:
    """client-go's ResourceEventHandlerFuncs; any of the three may be None."""

    on_add: Handler | None = None
    on_update: Handler | None = None
    on_delete: Handler | None = None


class SharedInformer:
    """A cache of one resource plus the handlers that react to its changes.

    - Handlers are called after the cache reflects the change, in registration order.
    - After a relist, objects that were already cached arrive as `on_update(old, new)`
      even if unchanged (as in client-go); periodic resync does the same with old is new.
    - With `typed=True` each wire dict is parsed once, into its kind's model
      (`tinykube.api`), before it is cached: handlers, listers and indexers all see
      that one parsed object. `transform` is the general hook (typed is one).
    - Cached objects are shared: copy before mutating (`tinykube.api.registry.deep_copy`).
    """

    def __init__(self, lister_watcher: ListerWatcher, info: ResourceInfo, *,
                 namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, resync_period_seconds: float = 0.0,
                 indexers: dict[str, IndexFunc] | None = None,
                 transform: Callable[[Obj], Any] | None = None, typed: bool = False,
                 clock: Clock = REAL_CLOCK,
                 rng: Callable[[], float] = random.random,
                 min_watch_timeout_seconds: int = 300) -> None:
        self.info = info
        self.indexer = Indexer(indexers)
        if typed and transform is None:
            transform = model_parser(info)
        self._transform = transform
        self._clock = clock
        self._resync_period_seconds = resync_period_seconds
        self._handlers: list[EventHandler] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reflector = Reflector(
            lister_watcher, info, self, namespace=namespace, label_selector=label_selector,
            field_selector=field_selector, clock=clock, rng=rng,
            min_watch_timeout_seconds=min_watch_timeout_seconds)

    def add_event_handler(self, on_add: Handler | None = None, on_update: Handler | None = None,
                          on_delete: Handler | None = None) -> EventHandler:
        if self._task is not None:
            raise RuntimeError("add event handlers before the informer is started")
        handler = EventHandler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        return handler

    @property
    def last_sync_resource_version(self) -> str:
        return self.reflector.last_sync_resource_version

    def has_synced(self) -> bool:
        """True once the first list is in the cache and its adds were handled."""
        return self._synced.is_set()

    async def wait_for_cache_sync(self, timeout_seconds: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._synced.wait(), timeout_seconds)
        except TimeoutError:
            return False
        return True

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"informer {self.info.plural}")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.reflector.run())
            if self._resync_period_seconds > 0:
                group.create_task(self._resync_loop())

    async def _resync_loop(self) -> None:
        while True:
            await self._clock.sleep(self._resync_period_seconds)
            for obj in self.indexer.list():
                await self._distribute("on_update", obj, obj)

    # --- ReflectorSink -----------------------------------------------------------------

    async def replace(self, items: list[Obj], resource_version: str) -> None:
        objects = [self._transform(item) if self._transform else item for item in items]
        previous = {self.indexer.key_of(obj): obj for obj in self.indexer.list()}
        self.indexer.replace(objects)
        for obj in objects:
            old = previous.pop(self.indexer.key_of(obj), None)
            if old is None:
                await self._distribute("on_add", obj)
            else:
                await self._distribute("on_update", old, obj)
        for old in previous.values():
            await self._distribute("on_delete", old)
        self._synced.set()

    async def apply(self, event_type: str, obj: Obj) -> None:
        item = self._transform(obj) if self._transform else obj
        key = self.indexer.key_of(item)
        old = self.indexer.get(key)
        if event_type == "DELETED":
            self.indexer.delete_key(key)
            await self._distribute("on_delete", item)
        else:
            self.indexer.add(item)
            if old is None:
                await self._distribute("on_add", item)
            else:
                await self._distribute("on_update", old, item)

    async def _distribute(self, which: str, *args: Any) -> None:
        for handler in self._handlers:
            func = getattr(handler, which)
            if func is None:
                continue
            try:
                result = func(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("event handler failed resource=%s handler=%s", self.info.plural, which)


def model_parser(info: ResourceInfo) -> Callable[[Obj], Any]:
    """Parse a wire dict of `info`'s kind into its model (KubeObject when there is none).

    List items carry no apiVersion/kind, so the model comes from the resource, not
    from the object."""
    # Imported here: the kind registry builds every model, which a light client may not need.
    from tinykube.api.meta import KubeObject
    from tinykube.api.registry import model_for

    model = model_for(info.api_version, info.kind) or KubeObject
    return model.model_validate
