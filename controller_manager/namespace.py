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

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from controller_manager.controller_utils import Controller
from tinykube.api.core import Namespace, NamespaceSpec
from tinykube.api.meta import KubeObject, parse_rfc3339
from tinykube.api.registry import deep_copy
from tinykube.api.resources import INDEX, NAMESPACES, PREFERRED_RESOURCES, ResourceInfo
from tinykube.client import REAL_CLOCK, Clock, Conflict, EventRecorder, NotFound, RESTClient, SharedInformerFactory
from tinykube.client.discovery import discover_resources
from tinykube.client.workqueue import ItemExponentialFailureRateLimiter

log = logging.getLogger(__name__)

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
    return [info for info in PREFERRED_RESOURCES if info.namespaced and {"list", "delete"} <= set(info.verbs)]


class NamespaceController(Controller):
    """Deletes the content of Terminating namespaces and finalizes them.

    - Only namespaces with a deletionTimestamp and the `kubernetes` finalizer are touched.
    - Objects already being deleted are not deleted again; they are waited for.
    """

    name = "namespace"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK,
                 resources: Iterable[ResourceInfo] | None = None, **options: Any) -> None:
        # Upstream: 5 ms .. 60 s per item, no overall bucket (a namespace is a big unit).
        super().__init__(client, recorder, self.sync_namespace, clock=clock,
                         rate_limiter=ItemExponentialFailureRateLimiter(0.005, 60.0))
        self.resources = list(resources) if resources is not None else namespaced_resources()
        self.follow_discovery = resources is None  # custom resources too, as upstream
        self.namespace_informer = factory.informer_for(NAMESPACES)
        self.namespace_informer.add_event_handler(
            on_add=self.enqueue_namespace, on_update=lambda old, new: self.enqueue_namespace(new))

    def enqueue_namespace(self, namespace: Namespace) -> None:
        if namespace.metadata.deletion_timestamp:
            self.enqueue(namespace)

    async def sync_namespace(self, name: str) -> None:
        """Content still present is not a failure: look again after the estimate."""
        try:
            await self.sync_namespace_from_key(name)
        except ContentRemaining as remaining:
            log.info("namespace content remaining ns=%s remaining=%s recheck_seconds=%.1f",
                     name, remaining.remaining, remaining.estimate_seconds)
            self.queue.add_after(name, remaining.estimate_seconds)

    async def sync_namespace_from_key(self, name: str) -> None:
        if self.namespace_informer.indexer.get(name) is None:
            return  # gone already
        try:
            namespace = await self.client.get_object(Namespace, name)
        except NotFound:
            return
        if not namespace.metadata.deletion_timestamp:
            return
        if FINALIZER_KUBERNETES not in ((namespace.spec.finalizers if namespace.spec else None) or ()):
            return  # our part is done; other finalizers are someone else's
        await self.delete_all_content(name)
        await self.finalize_namespace(namespace)

    async def delete_all_content(self, namespace: str) -> None:
        """Delete everything in `namespace`; returns once it is empty, otherwise raises
        `ContentRemaining` with how long to wait before looking again."""
        remaining: dict[str, int] = {}
        estimate_seconds = 0.0
        for info in await self.content_resources():
            items, _ = await self.client.list(info, namespace)
            left = 0
            for item in items:
                meta = KubeObject.from_dict(item).metadata  # any kind: only its metadata matters
                if meta.deletion_timestamp:
                    left += 1
                    estimate_seconds = max(estimate_seconds, self._seconds_until(meta.deletion_timestamp))
                    continue
                try:
                    answer = await self.client.delete(info, meta.name or "", namespace,
                                                      preconditions={"uid": meta.uid or ""})
                except (NotFound, Conflict):
                    continue  # gone, or replaced by a namesake the next pass will see
                deleted = KubeObject.from_dict(answer or {})
                if deleted.kind != "Status" and deleted.metadata.deletion_timestamp:
                    left += 1  # marked, not removed: a grace period or finalizers hold it
                    estimate_seconds = max(estimate_seconds,
                                           float(deleted.metadata.deletion_grace_period_seconds or 0))
            if left:
                remaining[info.group_resource] = left
        if not remaining:
            return
        recheck = min(max(estimate_seconds / 2 + 1.0, MIN_RECHECK_SECONDS), MAX_RECHECK_SECONDS)
        raise ContentRemaining(remaining, recheck)

    async def content_resources(self) -> list[ResourceInfo]:
        """The built-in resources, plus the custom resources discovery lists now (one
        version each: every version shows the same objects)."""
        if not self.follow_discovery:
            return self.resources
        try:
            await discover_resources(self.client)
        except Exception as err:  # discovery hiccup: built-in kinds now, the rest next pass
            log.warning("namespace controller discovery failed err=%r", err)
        custom: dict[tuple[str, str], ResourceInfo] = {}
        for info in INDEX.resources:
            if not INDEX.is_builtin(info) and info.namespaced \
                    and {"list", "delete"} <= set(info.verbs):
                custom.setdefault((info.group, info.plural), info)
        return [*self.resources, *custom.values()]

    async def finalize_namespace(self, namespace: Namespace) -> None:
        """Remove our finalizer from spec.finalizers through the finalize subresource."""
        name = namespace.metadata.name or ""
        body = deep_copy(namespace)
        body.spec = body.spec or NamespaceSpec()
        body.spec.finalizers = [f for f in body.spec.finalizers or () if f != FINALIZER_KUBERNETES]
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
