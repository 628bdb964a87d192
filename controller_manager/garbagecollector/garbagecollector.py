"""The garbage collector: deletes objects whose owners are gone, honours propagation.

Three deletion policies meet here (the API server turns the last two into finalizers):

- Background (default): the owner disappears at once; the graph then enqueues its
  dependents, `attempt_to_delete_item` finds every owner of each one absent (a live
  GET, never the cache alone) and deletes it.
- Foreground: the owner stays with deletionTimestamp + `foregroundDeletion`; its
  dependents are deleted (those with dependents of their own in foreground too), and
  once no dependent with `blockOwnerDeletion: true` remains the finalizer is removed,
  which lets the API server remove the owner.
- Orphan: the owner stays with the `orphan` finalizer until `attempt_to_orphan_item`
  has removed its ownerReference from every dependent; then the finalizer goes.

Two queues of UIDs, each drained by the workers: `attempt_to_delete` and
`attempt_to_orphan`. Failures retry with per-item backoff.

Every kind is a generic `KubeObject` here (metadata typed, the rest kept as it came):
the collector reads and rewrites only metadata, of kinds with and without a model,
and a read-modify-write sends back every other field unchanged.

Kubernetes counterpart: pkg/controller/garbagecollector/garbagecollector.go,
pkg/controller/garbagecollector/operations.go
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from controller_manager.controller_utils import run_workers
from controller_manager.garbagecollector.graph import (
    FINALIZER_FOREGROUND, FINALIZER_ORPHAN, GraphBuilder, GraphNode, ObjectReference, owner_identity,
)
from tinykube.api.meta import KubeObject, ObjectMeta, OwnerReference
from tinykube.api.resources import INDEX, PREFERRED_RESOURCES, ResourceInfo
from tinykube.client import (
    REAL_CLOCK, Clock, Conflict, EventRecorder, NotFound, RateLimitingQueue, RESTClient,
    SharedInformerFactory,
)
from tinykube.client.discovery import discover_resources

log = logging.getLogger(__name__)

# Events are never owners nor meaningfully owned; upstream ignores them too.
IGNORED_RESOURCES = frozenset({"events"})
ABSENT_OWNER_CACHE_SIZE = 1024
DISCOVERY_RESYNC_SECONDS = 30.0  # upstream's garbage collector re-reads discovery this often
MAX_CONFLICT_RETRIES = 5


def default_monitored_resources() -> list[ResourceInfo]:
    return [info for info in PREFERRED_RESOURCES if info.plural not in IGNORED_RESOURCES
            and {"list", "watch", "delete"} <= set(info.verbs)]


class GarbageCollector:
    """Deletes dependents of absent owners; runs foreground and orphan propagation.

    - Never deletes on cache evidence alone: an owner is absent only after a live GET
      answers 404 (or another object now holds the name); absences are remembered in
      a small LRU so that a thousand pods of one deleted ReplicaSet cost one GET.
    - Deletes carry a UID precondition, so a re-created namesake is never hit.
    """

    name = "garbagecollector"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK,
                 resources: Iterable[ResourceInfo] | None = None,
                 discovery_resync_seconds: float = DISCOVERY_RESYNC_SECONDS,
                 **options: Any) -> None:
        self.client = client
        self.recorder = recorder
        self.factory = factory
        self.clock = clock
        # None: a fixed set of resources (tests); else custom resources follow discovery.
        self.discovery_resync_seconds = None if resources is not None else discovery_resync_seconds
        self.monitored: set[ResourceInfo] = set()
        self.attempt_to_delete: RateLimitingQueue[str] = RateLimitingQueue(
            clock=clock, name="garbage_collector_attempt_to_delete")
        self.attempt_to_orphan: RateLimitingQueue[str] = RateLimitingQueue(
            clock=clock, name="garbage_collector_attempt_to_orphan")
        self.graph = GraphBuilder(self.attempt_to_delete, self.attempt_to_orphan)
        self.absent_owner_cache: OrderedDict[str, None] = OrderedDict()
        for info in resources if resources is not None else default_monitored_resources():
            self.monitor(info)

    def monitor(self, info: ResourceInfo) -> None:
        """Feed the graph from `info`'s informer (started by the factory, or here)."""
        self.monitored.add(info)
        self.factory.informer_for(info).add_event_handler(
            on_add=self.graph.on_add, on_update=self.graph.on_update,
            on_delete=self.graph.on_delete)

    async def sync_monitors(self) -> None:
        """Monitor the custom resources discovery lists, as upstream's GC Sync does
        every 30 seconds; a resource no longer served keeps its idle informer."""
        try:
            await discover_resources(self.client)
        except Exception as err:  # discovery hiccup: the next resync tries again
            log.warning("garbage collector discovery failed err=%r", err)
            return
        for info in INDEX.resources:
            if info not in self.monitored and not INDEX.is_builtin(info) \
                    and {"list", "watch", "delete"} <= set(info.verbs):
                log.info("garbage collector monitors resource=%s", info.group_resource)
                self.monitor(info)
                self.factory.informer_for(info).start()

    async def run_discovery_sync(self) -> None:
        assert self.discovery_resync_seconds is not None
        while True:
            await self.sync_monitors()
            await self.clock.sleep(self.discovery_resync_seconds)

    async def run(self, workers: int) -> None:
        async with asyncio.TaskGroup() as group:
            if self.discovery_resync_seconds is not None:
                group.create_task(self.run_discovery_sync())
            group.create_task(run_workers("garbagecollector-delete", self.attempt_to_delete,
                                          self.attempt_to_delete_item, workers))
            group.create_task(run_workers("garbagecollector-orphan", self.attempt_to_orphan,
                                          self.attempt_to_orphan_item, workers))

    # --- attempt to delete -----------------------------------------------------------------

    async def attempt_to_delete_item(self, uid: str) -> None:
        """Decide whether the object `uid` is garbage, and act on it (attemptToDeleteItem)."""
        item = self.graph.get(uid)
        if item is None:
            return
        if item.being_deleted and not item.deleting_dependents:
            return  # being deleted already, by something other than foreground propagation
        if INDEX.by_kind(item.identity.api_version, item.identity.kind) is None:
            log.warning("cannot verify an object of unknown kind object=%s", item.identity)
            return
        latest = await self.get_object(item.identity)
        if latest is None:
            # A virtual owner that does not exist, or a stale node: drop it, which
            # hands its dependents to this queue.
            self.graph.remove_virtual_node(uid)
            return
        if item.deleting_dependents:
            await self.process_deleting_dependents_item(item)
            return
        owner_references = list(latest.metadata.owner_references or ())
        if not owner_references:
            return
        solid, dangling, waiting = await self.classify_references(item, owner_references)
        if solid:
            if dangling or waiting:
                # Some owners are gone or going: only drop the references to them.
                gone = {ref.uid for ref in dangling + waiting}
                log.info("removing references to absent owners object=%s owners=%s",
                         item.identity, sorted(gone))
                await self.update_owner_references(
                    item.identity, lambda refs: [r for r in refs if r.uid not in gone])
            return
        finalizers = latest.metadata.finalizers or ()
        if waiting and item.dependents:
            # An owner waits for us in foreground: delete our own dependents first.
            policy = "Foreground"
        elif FINALIZER_ORPHAN in finalizers:
            policy = "Orphan"
        elif FINALIZER_FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        log.info("deleting object whose owners are gone object=%s policy=%s", item.identity, policy)
        await self.delete_object(item.identity, policy)

    async def classify_references(self, item: GraphNode, refs: list[OwnerReference]) -> tuple[
            list[OwnerReference], list[OwnerReference], list[OwnerReference]]:
        """(solid, dangling, waiting_for_dependents_deletion) owner references."""
        solid: list[OwnerReference] = []
        dangling: list[OwnerReference] = []
        waiting: list[OwnerReference] = []
        for ref in refs:
            owner = await self.get_owner(ref, item.identity.namespace)
            if owner is None:
                dangling.append(ref)
                continue
            meta = owner.metadata
            if meta.deletion_timestamp and FINALIZER_FOREGROUND in (meta.finalizers or ()):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    async def get_owner(self, ref: OwnerReference, dependent_namespace: str) -> KubeObject | None:
        """The live owner, or None if it is absent (isDangling)."""
        uid = ref.uid
        if uid in self.absent_owner_cache:
            self.absent_owner_cache.move_to_end(uid)
            return None
        identity = owner_identity(ref, dependent_namespace)
        if INDEX.by_kind(identity.api_version, identity.kind) is None:
            # A kind this cluster does not serve cannot be verified: never delete on it.
            log.warning("owner of unknown kind kept as present owner=%s", identity)
            return KubeObject(metadata=ObjectMeta(uid=uid))
        owner = await self.get_object(identity)
        if owner is None:
            self.absent_owner_cache[uid] = None
            while len(self.absent_owner_cache) > ABSENT_OWNER_CACHE_SIZE:
                self.absent_owner_cache.popitem(last=False)
        return owner

    async def process_deleting_dependents_item(self, item: GraphNode) -> None:
        """Foreground: remove the finalizer once no blocking dependent remains."""
        blocking = [dependent for uid in sorted(item.dependents)
                    if (dependent := self.graph.get(uid)) is not None and dependent.blocks(item.uid)]
        if not blocking:
            log.info("dependents gone, finishing foreground deletion object=%s", item.identity)
            await self.remove_finalizer(item.identity, FINALIZER_FOREGROUND)
            return
        for dependent in blocking:
            if not dependent.deleting_dependents:
                self.attempt_to_delete.add(dependent.uid)

    # --- attempt to orphan -----------------------------------------------------------------

    async def attempt_to_orphan_item(self, uid: str) -> None:
        """Orphan: drop the owner's reference from every dependent, then the finalizer."""
        owner = self.graph.get(uid)
        if owner is None:
            return
        dependents = sorted(owner.dependents)
        for dependent_uid in dependents:
            dependent = self.graph.get(dependent_uid)
            if dependent is None:
                continue
            await self.update_owner_references(
                dependent.identity, lambda refs: [r for r in refs if r.uid != uid])
        log.info("dependents orphaned object=%s count=%d", owner.identity, len(dependents))
        await self.remove_finalizer(owner.identity, FINALIZER_ORPHAN)

    # --- operations (live API calls) --------------------------------------------------------

    def _resource(self, identity: ObjectReference) -> ResourceInfo:
        info = INDEX.by_kind(identity.api_version, identity.kind)
        if info is None:
            raise ValueError(f"no resource serves {identity.api_version} {identity.kind}")
        return info

    async def get_object(self, identity: ObjectReference) -> KubeObject | None:
        """The live object with this identity's name and UID, or None."""
        info = self._resource(identity)
        try:
            obj = KubeObject.from_dict(await self.client.get(info, identity.name, identity.namespace or None))
        except NotFound:
            return None
        if obj.metadata.uid != identity.uid:
            return None  # the name now belongs to another object
        return obj

    async def delete_object(self, identity: ObjectReference, policy: str) -> None:
        try:
            await self.client.delete(self._resource(identity), identity.name,
                                     identity.namespace or None, propagation_policy=policy,
                                     preconditions={"uid": identity.uid})
        except NotFound:
            pass
        except Conflict:
            pass  # the UID precondition failed: our object is gone already

    async def _update_with_retry(self, identity: ObjectReference,
                                 mutate: Callable[[ObjectMeta], bool]) -> None:
        """GET, change its metadata, PUT it with its resourceVersion; retry on conflicts."""
        info = self._resource(identity)
        for _ in range(MAX_CONFLICT_RETRIES):
            current = await self.get_object(identity)  # a fresh object of our own
            if current is None or not mutate(current.metadata):
                return
            try:
                await self.client.update(info, current, identity.namespace or None)
                return
            except NotFound:
                return
            except Conflict:
                continue
        raise Conflict(409, "Conflict", f"too many conflicts updating {identity}")

    async def update_owner_references(
            self, identity: ObjectReference,
            keep: Callable[[list[OwnerReference]], list[OwnerReference]]) -> None:
        def mutate(meta: ObjectMeta) -> bool:
            old = list(meta.owner_references or ())
            new = keep(old)
            if new == old:
                return False
            meta.owner_references = new or None
            return True

        await self._update_with_retry(identity, mutate)

    async def remove_finalizer(self, identity: ObjectReference, finalizer: str) -> None:
        def mutate(meta: ObjectMeta) -> bool:
            finalizers = list(meta.finalizers or ())
            if finalizer not in finalizers:
                return False
            meta.finalizers = [f for f in finalizers if f != finalizer]
            return True

        await self._update_with_retry(identity, mutate)
