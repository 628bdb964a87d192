"""Keeps the Node authorizer's graph in step with the API server's watch caches.

One task per followed kind (pods, persistent volumes) reads the cache's current
objects and revision together (no `await` in between, so they agree), draws
every object's edges, then follows the cache's events from that revision and
redraws the edges of each object that changes. When the cache drops the watcher
(it re-listed etcd), the task starts over from a fresh snapshot and replaces all
edges of that kind, so a deletion it never saw leaves nothing behind.

The first snapshot is taken when the populator is made, so the graph is complete
before the API server serves its first authorized request.

Kubernetes counterpart: plugin/pkg/auth/authorizer/node/graph_populator.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apiserver.authorization.node.graph import (POD, PV, Edge, Graph, Vertex, pod_edges,
                                                pod_vertex, pv_edges, pv_vertex)
from apiserver.authorization.node.references import Obj
from apiserver.storage.interface import CompactedError, EventType
from apiserver.watchcache import WatchCache, WatcherClosed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Followed:
    """One kind the graph follows: its cache, whose vertex an object is, its edges."""

    kind: str
    cache: WatchCache
    vertex: Callable[[Obj], Vertex]
    edges: Callable[[Obj], frozenset[Edge]]


def _pod_vertex_of(pod: Obj) -> Vertex:
    return pod_vertex(pod["metadata"].get("namespace", ""), pod["metadata"]["name"])


def _pv_vertex_of(pv: Obj) -> Vertex:
    return pv_vertex(pv["metadata"]["name"])


class GraphPopulator:
    def __init__(self, graph: Graph, pods: WatchCache, persistent_volumes: WatchCache) -> None:
        self.graph = graph
        self.followed = [Followed(POD, pods, _pod_vertex_of, pod_edges),
                         Followed(PV, persistent_volumes, _pv_vertex_of, pv_edges)]
        self._revisions = {f.kind: self._resync(f) for f in self.followed}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._follow(f), name=f"node graph {f.kind}")
                       for f in self.followed]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _resync(self, followed: Followed) -> int:
        """Draw the edges of every object the cache holds now; its revision."""
        objects, revision = followed.cache.snapshot(), followed.cache.revision
        self.graph.replace_owners(followed.kind,
                                  {followed.vertex(o): followed.edges(o) for o in objects})
        return revision

    async def _follow(self, followed: Followed) -> None:
        revision = self._revisions[followed.kind]
        while True:
            try:
                async for event in followed.cache.watch(revision):
                    gone = event.type is EventType.DELETED
                    self.graph.set_edges(followed.vertex(event.obj),
                                         frozenset() if gone else followed.edges(event.obj))
            except (WatcherClosed, CompactedError):  # the cache re-listed; so do we
                log.info("node graph resyncing kind=%s", followed.kind)
            except Exception as err:  # never let the graph stop following: start over
                log.warning("node graph restarting kind=%s err=%r", followed.kind, err)
                await asyncio.sleep(1.0)
            revision = self._resync(followed)
