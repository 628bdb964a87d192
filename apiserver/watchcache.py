"""Watch fan-out: one etcd watch per resource, shared by every client watch.

A `WatchCache` lists its resource once (a paged storage list, so a kind of any
size starts), then follows one storage watch from the list's revision. It keeps the current objects (for the synthetic ADDED events of a
watch without resourceVersion) and a bounded history of recent events, and pushes
each new event to every registered `Watcher` queue.

Invariants:
- a watcher from revision R gets exactly the events with revision > R, in order,
  each once: replay from history and registration happen without an `await` in
  between, so no event can slip through the gap;
- a revision older than the history falls back to a dedicated storage watch (etcd
  keeps its own history until compaction), so a client resuming after an API
  server restart still gets exactly the events after its revision; older than
  etcd's history is 410 Gone;
- a watcher that cannot keep up (its queue is full) is closed; the client re-lists;
- a watcher may carry a filter (`EventFilter`, its client's selectors): events it
  would not send are dropped as they are offered, so a kubelet watching its own
  node's pods is not woken for every other pod's change (upstream filters in
  cacheWatcher.add the same way);
- with a `trigger` (pods: spec.nodeName, upstream's NodeNameTriggerFunc), a watcher
  whose selector pins that value is offered only events whose old or new object
  has it: an event costs one dict lookup for those watchers, not one filter call
  each.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/cacher/cacher.go
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from apiserver.storage.interface import CompactedError, EventType, Storage, StorageEvent

log = logging.getLogger(__name__)

# Filter: given an object, does the client's selector (and namespace) select it?
ObjectFilter = Callable[[dict[str, Any]], bool]
# Does a watcher send anything for this event (its old or new state is selected)?
EventFilter = Callable[[StorageEvent], bool]
# The value a cache indexes its watchers by (e.g. a pod's spec.nodeName).
Trigger = Callable[[dict[str, Any]], str]


class WatcherClosed(Exception):
    """The watcher fell too far behind and was dropped."""


class Watcher:
    """One client watch: a bounded queue of events newer than `after_revision`."""

    def __init__(self, after_revision: int, capacity: int, wants: EventFilter | None = None,
                 trigger_value: str | None = None) -> None:
        self.after_revision = after_revision
        self.queue: asyncio.Queue[StorageEvent | None] = asyncio.Queue(capacity)
        self.closed = False
        self.wants = wants
        self.trigger_value = trigger_value

    def offer(self, event: StorageEvent) -> bool:
        if self.closed or event.revision <= self.after_revision:
            return True
        if self.wants is not None and not self.wants(event):
            return True
        try:
            self.queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            self.close()
            return False

    def close(self) -> None:
        self.closed = True
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            # Never drop a queued event to make room: a client that saw a later
            # event would resume after it and miss the dropped one. The reader
            # drains the queue and then sees `closed` (it is not blocked: the
            # queue is full).
            pass


class WatchCache:
    def __init__(self, storage: Storage, prefix: str, history_size: int = 10_000,
                 watcher_capacity: int = 10_000, trigger: Trigger | None = None) -> None:
        self._storage = storage
        self._prefix = prefix
        self._history: deque[StorageEvent] = deque(maxlen=history_size)
        self._objects: dict[str, dict[str, Any]] = {}
        self._watchers: set[Watcher] = set()  # every watcher; those without a trigger value:
        self._untriggered: set[Watcher] = set()
        self._by_trigger: dict[str, set[Watcher]] = {}
        self._trigger = trigger
        self._watcher_capacity = watcher_capacity
        # History covers every event with revision > _history_start.
        self._history_start = 0
        self.revision = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"watchcache {self._prefix}")
        await self._ready.wait()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for watcher in list(self._watchers):
            watcher.close()

    async def _run(self) -> None:
        while True:
            try:
                await self._list_and_watch()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # storage hiccup: re-list and carry on
                log.warning("watch cache restarting prefix=%s err=%r", self._prefix, err)
                await asyncio.sleep(1.0)

    async def _list_and_watch(self) -> None:
        items, revision = await self._storage.list(self._prefix)
        self._objects = {_key_of(self._prefix, o): o for o in items}
        if revision != self.revision or not self._ready.is_set():
            # Anything a watcher may have missed between the old and new list is
            # unknowable now: drop watchers so they re-list, and restart history.
            for watcher in list(self._watchers):
                watcher.close()
                self._discard(watcher)
            self._history.clear()
            self._history_start = revision
        self.revision = revision
        self._ready.set()
        async for event in self._storage.watch(self._prefix, revision + 1):
            self._apply(event)

    def _apply(self, event: StorageEvent) -> None:
        if event.type is EventType.DELETED:
            self._objects.pop(event.key, None)
        else:
            self._objects[event.key] = event.obj
        if len(self._history) == self._history.maxlen:
            self._history_start = self._history[0].revision
        self._history.append(event)
        self.revision = event.revision
        for watcher in self._targets(event):
            if not watcher.offer(event):
                log.info("watcher too slow, closing prefix=%s", self._prefix)
                self._discard(watcher)

    def _targets(self, event: StorageEvent) -> list[Watcher]:
        targets = list(self._untriggered)
        if self._by_trigger and self._trigger is not None:
            values = {self._trigger(event.obj)}
            if event.prev is not None:
                values.add(self._trigger(event.prev))
            for value in values:
                targets.extend(self._by_trigger.get(value, ()))
        return targets

    def _add(self, watcher: Watcher) -> None:
        self._watchers.add(watcher)
        if watcher.trigger_value is None:
            self._untriggered.add(watcher)
        else:
            self._by_trigger.setdefault(watcher.trigger_value, set()).add(watcher)

    def _discard(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        self._untriggered.discard(watcher)
        if watcher.trigger_value is not None:
            same = self._by_trigger.get(watcher.trigger_value)
            if same is not None:
                same.discard(watcher)
                if not same:
                    del self._by_trigger[watcher.trigger_value]

    def cached(self, key: str) -> dict[str, Any] | None:
        """The object as this cache last saw it (may lag etcd slightly)."""
        return self._objects.get(key)

    def snapshot(self) -> list[dict[str, Any]]:
        return [self._objects[k] for k in sorted(self._objects)]

    async def watch(self, after_revision: int | None, wants: EventFilter | None = None,
                    trigger_value: str | None = None) -> AsyncIterator[StorageEvent]:
        """Events after `after_revision`; None means synthetic ADDED for the
        current state first (stamped with each object's own revision). `wants`
        and `trigger_value` (the value the watch's selector pins the trigger
        field to) may drop events early; the caller still applies its selectors."""
        if after_revision is not None and after_revision < self._history_start:
            async for event in self._storage.watch(self._prefix, after_revision + 1):
                yield event
            return
        watcher = Watcher(after_revision if after_revision is not None else self.revision,
                          self._watcher_capacity, wants,
                          trigger_value if self._trigger is not None else None)
        initial: list[StorageEvent] = []
        if after_revision is None:
            initial = [StorageEvent(EventType.ADDED, k, o, None, int(o["metadata"]["resourceVersion"]))
                       for k, o in sorted(self._objects.items())]
        else:
            initial = [e for e in self._history
                       if e.revision > after_revision and (wants is None or wants(e))]
        # No await between reading history and registering: nothing can be missed.
        self._add(watcher)
        try:
            for event in initial:
                yield event
            while True:
                if watcher.closed and watcher.queue.empty():
                    raise WatcherClosed(self._prefix)
                event = await watcher.queue.get()
                if event is None:
                    raise WatcherClosed(self._prefix)
                yield event
        finally:
            self._discard(watcher)


def _key_of(prefix: str, obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    return f"{prefix}{namespace}/{meta['name']}" if namespace else f"{prefix}{meta['name']}"


__all__ = ["WatchCache", "Watcher", "WatcherClosed", "CompactedError", "ObjectFilter", "EventFilter", "Trigger"]
