"""The dashboard's caches and its fan-out of page updates to browsers.

`Hub` starts one typed informer per resource the pages show (nodes, pods,
deployments, statefulsets, daemonsets, jobs, events) from one
SharedInformerFactory. Informer handlers only mark a topic stale (overview,
workloads, events) and wake the publisher; the publisher waits `coalesce_seconds`
so a burst of watch events makes one update, recomputes the stale topics' view
models from the caches and hands them to every subscriber.

- A `Subscriber` (one browser's event stream) keeps only the newest view of each
  topic: a slow browser skips intermediate states, never gets a stale one last,
  and costs bounded memory.
- Nothing lists the API server after the informers' first list: updates come
  from their watches.

Kubernetes counterpart: none (tinykube's dashboard); the informer pattern is
staging/src/k8s.io/client-go/tools/cache/shared_informer.go
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from dashboard import views
from tinykube.api.resources import (DAEMON_SETS, DEPLOYMENTS, EVENTS, JOBS, NODES, PODS,
                                    STATEFUL_SETS, ResourceInfo)
from tinykube.client import RESTClient
from tinykube.client.factory import SharedInformerFactory
from tinykube.client.informer import SharedInformer

log = logging.getLogger(__name__)

OVERVIEW, WORKLOADS, EVENTS_TOPIC = "overview", "workloads", "events"
TOPICS_OF: dict[ResourceInfo, str] = {
    NODES: OVERVIEW, PODS: OVERVIEW, DEPLOYMENTS: WORKLOADS, STATEFUL_SETS: WORKLOADS,
    DAEMON_SETS: WORKLOADS, JOBS: WORKLOADS, EVENTS: EVENTS_TOPIC}
COALESCE_SECONDS = 0.1


class Subscriber:
    """The newest JSON text of each topic not yet taken by one browser."""

    def __init__(self) -> None:
        self.pending: dict[str, str] = {}
        self.wake = asyncio.Event()

    def offer(self, topic: str, text: str) -> None:
        self.pending[topic] = text
        self.wake.set()

    async def take(self) -> dict[str, str]:
        await self.wake.wait()
        self.wake.clear()
        taken, self.pending = self.pending, {}
        return taken


class Hub:
    def __init__(self, client: RESTClient, coalesce_seconds: float = COALESCE_SECONDS) -> None:
        self.factory = SharedInformerFactory(client, typed=True)
        self.informers: dict[ResourceInfo, SharedInformer] = {
            info: self.factory.informer_for(info) for info in TOPICS_OF}
        self.coalesce_seconds = coalesce_seconds
        self.subscribers: set[Subscriber] = set()
        self._stale: set[str] = set()
        self._published: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        for info, topic in TOPICS_OF.items():
            self.informers[info].add_event_handler(
                on_add=self._marker(topic), on_update=lambda _old, _new, t=topic: self.mark_stale(t),
                on_delete=self._marker(topic))

    def _marker(self, topic: str) -> Callable[[Any], None]:
        return lambda _obj: self.mark_stale(topic)

    def mark_stale(self, topic: str) -> None:
        self._stale.add(topic)
        self._wake.set()

    def _items(self, info: ResourceInfo) -> list[Any]:
        return list(self.informers[info].indexer.list())

    def view(self, topic: str) -> Any:
        """The current view model of one topic, from the caches."""
        if topic == OVERVIEW:
            return views.overview(self._items(NODES), self._items(PODS))
        if topic == WORKLOADS:
            return views.workloads(self._items(DEPLOYMENTS), self._items(STATEFUL_SETS),
                                   self._items(DAEMON_SETS), self._items(JOBS))
        if topic == EVENTS_TOPIC:
            return views.recent_events(self._items(EVENTS))
        raise KeyError(topic)

    def has_synced(self) -> bool:
        return all(informer.has_synced() for informer in self.informers.values())

    def subscribe(self) -> Subscriber:
        """A new subscriber, given every topic's current view first."""
        subscriber = Subscriber()
        for topic in (OVERVIEW, WORKLOADS, EVENTS_TOPIC):
            subscriber.offer(topic, json.dumps(self.view(topic)))
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def publish_stale(self) -> None:
        """Offer each stale topic's view, unless it reads as it did last time (a node
        heartbeat changes the Node, not what the overview shows)."""
        stale, self._stale = self._stale, set()
        for topic in sorted(stale):
            text = json.dumps(self.view(topic))
            if self._published.get(topic) == text:
                continue
            self._published[topic] = text
            for subscriber in self.subscribers:
                subscriber.offer(topic, text)

    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.coalesce_seconds)  # let a burst of events land
            self._wake.clear()
            self.publish_stale()

    async def start(self, sync_timeout_seconds: float | None = None) -> bool:
        self.factory.start()
        synced = await self.factory.wait_for_cache_sync(sync_timeout_seconds)
        self._task = asyncio.create_task(self._publish_loop())
        return synced

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.factory.stop()
