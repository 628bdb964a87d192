"""One informer per resource, shared by every controller in a process.

Controllers ask the factory for an informer (`factory.informer_for("pods")`), add
their handlers, and the process starts all informers at once and waits until every
cache has synced before any worker runs. Sharing means one list+watch per resource
per process however many controllers read it.

Kubernetes counterpart: staging/src/k8s.io/client-go/informers/factory.go
"""

from __future__ import annotations

import asyncio

from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.informer import ListerWatcher, SharedInformer


class SharedInformerFactory:
    """Guarantees: at most one informer per resource; `start` starts each once."""

    def __init__(self, client: ListerWatcher, *, clock: Clock = REAL_CLOCK,
                 resync_period_seconds: float = 0.0, typed: bool = False) -> None:
        self._client = client
        self._typed = typed
        self._clock = clock
        self._resync_period_seconds = resync_period_seconds
        self._informers: dict[ResourceInfo, SharedInformer] = {}

    def informer_for(self, resource: str | ResourceInfo) -> SharedInformer:
        info = resource if isinstance(resource, ResourceInfo) else INDEX.by_name(resource)
        if info is None:
            raise KeyError(f"unknown resource {resource!r}")
        if info not in self._informers:
            self._informers[info] = SharedInformer(
                self._client, info, clock=self._clock, typed=self._typed,
                resync_period_seconds=self._resync_period_seconds)
        return self._informers[info]

    def start(self) -> None:
        for informer in self._informers.values():
            informer.start()

    async def wait_for_cache_sync(self, timeout_seconds: float | None = None) -> bool:
        results = await asyncio.gather(*(i.wait_for_cache_sync(timeout_seconds)
                                         for i in self._informers.values()))
        return all(results)

    async def stop(self) -> None:
        for informer in self._informers.values():
            await informer.stop()
