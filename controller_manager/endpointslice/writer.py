"""What the EndpointSlice controller and the mirroring controller share: the slices
one manager owns, the writes of a plan, and the tracker that keeps a lagging cache
from making a slice twice.

A subclass sets `managed_by` (the `endpointslice.kubernetes.io/managed-by` value its
slices carry), calls `watch_slices(factory)` in its constructor, and in its sync reads
`slices_of(namespace, service)`, checks `tracker.stale(...)`, and calls `apply(key, plan)`.
A change to one of its slices that the tracker does not expect (someone else edited
or deleted it) enqueues the slice's Service key.

Kubernetes counterpart: staging/src/k8s.io/endpointslice/reconciler.go (finalize),
pkg/controller/endpointslice/endpointslice_controller.go (onEndpointSlice*)
"""

from __future__ import annotations

import logging
from typing import ClassVar

from controller_manager.controller_utils import Controller
from controller_manager.endpointslice.reconciler import SlicePlan
from controller_manager.endpointslice.tracker import SliceTracker
from tinykube.api.discovery import MANAGED_BY_LABEL, SERVICE_NAME_LABEL, EndpointSlice
from tinykube.api.resources import ENDPOINT_SLICES
from tinykube.client import NAMESPACE_INDEX, NotFound, SharedInformer, SharedInformerFactory

log = logging.getLogger(__name__)

STALE_CACHE_RETRY_SECONDS = 0.2


class SliceWriter(Controller):
    managed_by: ClassVar[str]
    slice_informer: SharedInformer
    tracker: SliceTracker

    def watch_slices(self, factory: SharedInformerFactory) -> None:
        self.tracker = SliceTracker()
        self.slice_informer = factory.informer_for(ENDPOINT_SLICES)
        self.slice_informer.add_event_handler(
            on_add=self.on_slice, on_update=lambda old, new: self.on_slice(new),
            on_delete=self.on_slice_delete)

    def service_key(self, slice_: EndpointSlice) -> str | None:
        """The key of the Service a slice of ours belongs to; None for others' slices."""
        labels = slice_.metadata.labels or {}
        service = labels.get(SERVICE_NAME_LABEL)
        if labels.get(MANAGED_BY_LABEL) != self.managed_by or not service:
            return None
        return f"{slice_.metadata.namespace}/{service}"

    def on_slice(self, slice_: EndpointSlice) -> None:
        key = self.service_key(slice_)
        if key is not None and not self.tracker.expected(key, slice_):
            self.queue.add(key)

    def on_slice_delete(self, slice_: EndpointSlice) -> None:
        key = self.service_key(slice_)
        if key is not None:
            self.tracker.observed_deletion(key, slice_)
            self.queue.add(key)

    def slices_of(self, namespace: str, service_name: str) -> list[EndpointSlice]:
        return [s for s in self.slice_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                if (s.metadata.labels or {}).get(SERVICE_NAME_LABEL) == service_name
                and (s.metadata.labels or {}).get(MANAGED_BY_LABEL) == self.managed_by]

    def cache_lags(self, key: str, existing: list[EndpointSlice]) -> bool:
        """True (and the key requeued) while the cache has not shown our last writes."""
        if self.tracker.stale(key, existing):
            self.queue.add_after(key, STALE_CACHE_RETRY_SECONDS)
            return True
        return False

    async def apply(self, key: str, plan: SlicePlan) -> None:
        for slice_ in plan.delete:
            try:
                await self.client.delete(ENDPOINT_SLICES, slice_.metadata.name or "", slice_.metadata.namespace)
            except NotFound:
                pass
            self.tracker.deleted(key, slice_)
        for slice_ in plan.update:
            self.tracker.written(key, await self.client.update_object(slice_))
        for slice_ in plan.create:
            self.tracker.written(key, await self.client.create_object(slice_))
        log.info("endpointslices synced controller=%s service=%s created=%d updated=%d deleted=%d",
                 self.name, key, len(plan.create), len(plan.update), len(plan.delete))
