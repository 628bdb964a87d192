"""The namespace controller: empties a Terminating namespace, then lets it go.

Deleting a namespace only marks it (deletionTimestamp, phase Terminating): its
`spec.finalizers` holds the `kubernetes` finalizer. This controller then deletes
every object of every namespaced resource in it, waits until they are really gone
(pods bound to a node live on for their grace period, objects with finalizers until
those are removed), and finally clears its finalizer through
`PUT /api/v1/namespaces/{name}/finalize`; the API server removes the namespace as
soon as neither spec.finalizers nor metadata.finalizers hold it.

- Content still present is not an error: the key is re-queued after an estimate
  (half the longest remaining pod grace period, plus a second), as upstream does.
- Every read that decides something is a live LIST/GET, never the cache: deleting a
  namespace while its cache lags must not finalize it with objects left inside.

Kubernetes counterpart: pkg/controller/namespace/namespace_controller.go,
pkg/controller/namespace/deletion/namespaced_resources_deleter.go
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from tinykube.api.meta import parse_rfc3339
from tinykube.api.resources import INDEX, RESOURCES, ResourceInfo
from tinykube.client import (
    REAL_CLOCK,
    Clock,
    Conflict,
    EventRecorder,
    NotFound,
    RateLimitingQueue,
    RESTClient,
    SharedInformerFactory,
)
from tinykube.client.workqueue import ItemExponentialFailureRateLimiter

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NAMESPACES: ResourceInfo = INDEX.by_name("namespaces")  # type: ignore[assignment]
FINALIZER_KUBERNETES = "kubernetes"
MIN_RECHECK_SECONDS = 1.0
MAX_RECHECK_SECONDS = 60.0


class ContentRemaining(Exception):
    """Objects are still in the namespace; check again after `estimate_seconds`."""

    def __init__(self, remaining: dict[str, int], estimate_seconds: float) -> None:
        super().__init__(f"content remaining {remaining}")
        self.remaining = remaining
        self.estimate_seconds = estimate_seconds


def namespaced_resources() -> list[ResourceInfo]:
    """Every namespaced resource that can be listed and deleted (discovery, upstream)."""
    return [info for info in RESOURCES if info.namespaced and {"list", "delete"} <= set(info.verbs)]


class NamespaceController:
    """Deletes the content of Terminating namespaces and finalizes them.

    - Only namespaces with a deletionTimestamp and the `kubernetes` finalizer are touched.
    - Objects already being deleted are not deleted again; they are waited for.
    """

    name = "namespace"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK,
                 resources: Iterable[ResourceInfo] | None = None, **options: Any) -> None:
        self.client = client
        self.recorder = recorder
        self.clock = clock
        self.resources = list(resources) if resources is not None else namespaced_resources()
        # Upstream: 5 ms .. 60 s per item, no overall bucket (a namespace is a big unit).
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(
            ItemExponentialFailureRateLimiter(0.005, 60.0), clock=clock, name="namespace")
        self.namespace_informer = factory.informer_for(NAMESPACES)
        self.namespace_informer.add_event_handler(
            on_add=self.enqueue_namespace, on_update=lambda old, new: self.enqueue_namespace(new))

    def enqueue_namespace(self, namespace: Obj) -> None:
        meta = namespace.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            self.queue.add(str(meta["name"]))

    async def run(self, workers: int) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(max(1, workers)):
                    group.create_task(self._worker())
        finally:
            self.queue.shut_down()

    async def _worker(self) -> None:
        while (key := await self.queue.get()) is not None:
            try:
                await self.sync_namespace_from_key(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except ContentRemaining as remaining:
                log.info("namespace content remaining ns=%s remaining=%s recheck_seconds=%.1f",
                         key, remaining.remaining, remaining.estimate_seconds)
                self.queue.forget(key)
                self.queue.add_after(key, remaining.estimate_seconds)
            except Exception as err:
                log.warning("namespace sync failed, retrying ns=%s err=%r", key, err)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def sync_namespace_from_key(self, name: str) -> None:
        if self.namespace_informer.indexer.get(name) is None:
            return  # gone already
        try:
            namespace = await self.client.get(NAMESPACES, name)
        except NotFound:
            return
        meta = namespace.get("metadata") or {}
        if not meta.get("deletionTimestamp"):
            return
        if FINALIZER_KUBERNETES not in ((namespace.get("spec") or {}).get("finalizers") or []):
            return  # our part is done; other finalizers are someone else's
        await self.delete_all_content(name)
        await self.finalize_namespace(namespace)

    async def delete_all_content(self, namespace: str) -> None:
        """Delete everything in `namespace`; returns once it is empty, otherwise raises
        `ContentRemaining` with how long to wait before looking again."""
        remaining: dict[str, int] = {}
        estimate_seconds = 0.0
        for info in self.resources:
            items, _ = await self.client.list(info, namespace)
            left = 0
            for item in items:
                meta = item.get("metadata") or {}
                if meta.get("deletionTimestamp"):
                    left += 1
                    estimate_seconds = max(estimate_seconds, self._seconds_until(meta["deletionTimestamp"]))
                    continue
                try:
                    deleted = await self.client.delete(info, str(meta["name"]), namespace,
                                                       preconditions={"uid": str(meta.get("uid", ""))})
                except (NotFound, Conflict):
                    continue  # gone, or replaced by a namesake the next pass will see
                deleted_meta = (deleted or {}).get("metadata") or {}
                if deleted.get("kind") != "Status" and deleted_meta.get("deletionTimestamp"):
                    left += 1  # marked, not removed: a grace period or finalizers hold it
                    estimate_seconds = max(estimate_seconds,
                                           float(deleted_meta.get("deletionGracePeriodSeconds") or 0))
            if left:
                remaining[info.group_resource] = left
        if not remaining:
            return
        recheck = min(max(estimate_seconds / 2 + 1.0, MIN_RECHECK_SECONDS), MAX_RECHECK_SECONDS)
        raise ContentRemaining(remaining, recheck)

    async def finalize_namespace(self, namespace: Obj) -> None:
        """Remove our finalizer from spec.finalizers through the finalize subresource."""
        name = str(namespace["metadata"]["name"])
        body = copy.deepcopy(namespace)
        finalizers = (body.get("spec") or {}).get("finalizers") or []
        body.setdefault("spec", {})["finalizers"] = [f for f in finalizers if f != FINALIZER_KUBERNETES]
        try:
            await self.client.put_subresource(NAMESPACES, name, "finalize", body)
        except NotFound:
            return
        log.info("namespace emptied and finalized ns=%s", name)

    def _seconds_until(self, timestamp: str) -> float:
        try:
            moment = parse_rfc3339(timestamp)
        except ValueError:
            return 0.0
        now = datetime.fromtimestamp(self.clock.wall(), tz=timezone.utc)
        return max(0.0, (moment - now).total_seconds())
