"""The EndpointSlice mirroring controller: hand-written Endpoints, seen as slices.

A Service without a selector gets its endpoints from whoever writes its Endpoints
object (a person, an operator). Consumers that read EndpointSlices (kube-proxy) would
see nothing, so this controller mirrors each such Endpoints into slices managed by
`endpointslicemirroring-controller.k8s.io`: every subset becomes a group of endpoints
serving the subset's ports, `addresses` ready and `notReadyAddresses` not ready.

It mirrors only when the Service exists and has no selector (a selector Service's
slices come from the EndpointSlice controller), and never an Endpoints labelled
`endpointslice.kubernetes.io/skip-mirror: "true"` or a leader-election record.
Mirrored slices are owned by their Endpoints: deleting it removes them.

Kubernetes counterpart: pkg/controller/endpointslicemirroring/endpointslicemirroring_controller.go,
pkg/controller/endpointslicemirroring/reconciler.go
"""

from __future__ import annotations

from typing import Any

from controller_manager.endpoints import LEADER_ANNOTATION
from controller_manager.endpointslice.reconciler import PortsKey, SlicePlan, WantedGroup, ports_key, reconcile
from controller_manager.endpointslice.writer import SliceWriter
from tinykube.api.core import EndpointAddress, Endpoints, EndpointSubset, Service
from tinykube.api.discovery import (
    MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SKIP_MIRROR_LABEL, Endpoint, EndpointConditions, EndpointPort,
    EndpointSlice,
)
from tinykube.api.meta import ObjectMeta, new_controller_ref, split_meta_namespace_key
from tinykube.api.resources import ENDPOINTS, SERVICES
from tinykube.client import REAL_CLOCK, Clock, EventRecorder, RESTClient, SharedInformerFactory

CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
MAX_ENDPOINTS_PER_SUBSET = 1000
DEFAULT_MAX_ENDPOINTS_PER_SLICE = 1000


class EndpointSliceMirroringController(SliceWriter):
    name = "endpointslicemirroring"  # kube-controller-manager's --controllers name
    managed_by = CONTROLLER_NAME

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder, *,
                 clock: Clock = REAL_CLOCK,
                 mirroring_max_endpoints_per_subset: int = MAX_ENDPOINTS_PER_SUBSET, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_endpoints, clock=clock)
        self.max_endpoints_per_subset = mirroring_max_endpoints_per_subset
        self.endpoints_informer = factory.informer_for(ENDPOINTS)
        self.service_informer = factory.informer_for(SERVICES)
        self.watch_slices(factory)
        for informer in (self.endpoints_informer, self.service_informer):
            informer.add_event_handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                                       on_delete=self.enqueue)

    async def sync_endpoints(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        existing = self.slices_of(namespace, name)
        if self.cache_lags(key, existing):
            return
        endpoints: Endpoints | None = self.endpoints_informer.indexer.get(key)
        service: Service | None = self.service_informer.indexer.get(key)
        if endpoints is None or service is None or not should_mirror(endpoints, service):
            plan = SlicePlan(delete=existing)
        else:
            labels = {k: v for k, v in (endpoints.metadata.labels or {}).items()
                      if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
            labels |= {SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: CONTROLLER_NAME}
            plan = reconcile(existing, self.wanted_groups(endpoints), max_per_slice=DEFAULT_MAX_ENDPOINTS_PER_SLICE,
                             new_slice=lambda ports: new_mirrored_slice(endpoints, ports), labels=labels)
        if not plan.empty():
            await self.apply(key, plan)

    def wanted_groups(self, endpoints: Endpoints) -> list[WantedGroup]:
        groups: dict[PortsKey, WantedGroup] = {}
        for subset in endpoints.subsets or ():
            ports = subset_ports(subset)
            group = groups.setdefault(ports_key(ports), WantedGroup(ports))
            addresses = [(a, True) for a in subset.addresses or ()] + \
                        [(a, False) for a in subset.not_ready_addresses or ()]
            # As upstream: at most this many addresses of a subset are mirrored.
            for address, ready in addresses[:self.max_endpoints_per_subset]:
                if ":" not in address.ip:  # IPv4 slices only
                    group.endpoints.append(address_to_endpoint(address, ready))
        return [groups[k] for k in sorted(groups) if groups[k].endpoints]


def should_mirror(endpoints: Endpoints, service: Service) -> bool:
    if service.spec is not None and service.spec.selector:
        return False  # the EndpointSlice controller writes this Service's slices
    if (endpoints.metadata.labels or {}).get(SKIP_MIRROR_LABEL) == "true":
        return False
    return LEADER_ANNOTATION not in (endpoints.metadata.annotations or {})


def subset_ports(subset: EndpointSubset) -> list[EndpointPort]:
    return [EndpointPort(name=p.name or "", port=p.port, protocol=p.protocol or "TCP",
                         app_protocol=p.app_protocol) for p in subset.ports or ()]


def address_to_endpoint(address: EndpointAddress, ready: bool) -> Endpoint:
    return Endpoint(addresses=[address.ip], conditions=EndpointConditions(ready=ready),
                    hostname=address.hostname, node_name=address.node_name, target_ref=address.target_ref)


def new_mirrored_slice(endpoints: Endpoints, ports: list[EndpointPort] | None) -> EndpointSlice:
    return EndpointSlice(
        metadata=ObjectMeta(generate_name=f"{endpoints.metadata.name}-",
                            namespace=endpoints.metadata.namespace,
                            owner_references=[new_controller_ref(endpoints)]),
        address_type="IPv4", ports=list(ports) if ports else None, endpoints=[])
