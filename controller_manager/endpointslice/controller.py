"""The EndpointSlice controller: per selector Service, its pods as EndpointSlices.

For every Service with a selector it keeps slices (generateName `<service>-`, owned
by the Service, labelled `kubernetes.io/service-name` and managed-by
`endpointslice-controller.k8s.io`) that list each matching pod with an IP:

- addresses `[podIP]`, nodeName, targetRef, and `hostname` when the pod's hostname
  and subdomain name this Service (StatefulSet pods behind a headless Service);
- conditions: `serving` = the pod is Ready, `terminating` = it is being deleted,
  `ready` = serving and not terminating (always true with publishNotReadyAddresses);
- ports: each Service port resolved on the pod (a named targetPort may differ per
  pod, so pods are grouped by the ports they serve, one group per set of slices).

`reconciler.reconcile` decides the writes. Slices are created with generated names,
so a cache that lags behind our own writes could make a second set: the tracker
remembers, per Service, the slices written and deleted, and a sync waits (requeues)
until the informer has shown them.

Kubernetes counterpart: pkg/controller/endpointslice/endpointslice_controller.go,
staging/src/k8s.io/endpointslice/utils.go (podToEndpoint), staging/src/k8s.io/endpointslice/endpointslice_tracker.go
"""

from __future__ import annotations

import ipaddress
from typing import Any

from controller_manager.endpoints import HEADLESS_LABEL, find_port, should_pod_be_in_endpoints
from controller_manager.endpointslice.reconciler import PortsKey, SlicePlan, WantedGroup, ports_key, reconcile
from controller_manager.endpointslice.writer import SliceWriter
from controller_manager.servicepods import ServicePodIndex
from tinykube.api.core import ObjectReference, Pod, Service, pod_is_ready
from tinykube.api.discovery import (
    MANAGED_BY_LABEL, SERVICE_NAME_LABEL, Endpoint, EndpointConditions, EndpointPort, EndpointSlice,
)
from tinykube.api.meta import ObjectMeta, new_controller_ref, split_meta_namespace_key
from tinykube.api.resources import PODS, SERVICES
from tinykube.api.selectors import label_selector_from_dict
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, Clock, EventRecorder, RESTClient, SharedInformerFactory,
)

CONTROLLER_NAME = "endpointslice-controller.k8s.io"
DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100


class EndpointSliceController(SliceWriter):
    name = "endpointslice"  # kube-controller-manager's --controllers name
    managed_by = CONTROLLER_NAME

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder, *,
                 clock: Clock = REAL_CLOCK, max_endpoints_per_slice: int = DEFAULT_MAX_ENDPOINTS_PER_SLICE,
                 **options: Any) -> None:
        super().__init__(client, recorder, self.sync_service, clock=clock)
        self.max_endpoints_per_slice = max_endpoints_per_slice
        self.service_informer = factory.informer_for(SERVICES)
        self.pod_informer = factory.informer_for(PODS)
        self.service_pods = ServicePodIndex(self.service_informer.indexer)
        self.watch_slices(factory)
        self.service_informer.add_event_handler(
            on_add=self.on_service, on_update=lambda old, new: self.on_service(new),
            on_delete=lambda service: self.queue.add(self.service_pods.forget(service)))
        self.pod_informer.add_event_handler(
            on_add=self.on_pod, on_update=self.on_pod_update, on_delete=self.on_pod)

    # --- handlers: events become Service keys -----------------------------------------

    def on_service(self, service: Service) -> None:
        self.queue.add(self.service_pods.set_service(service))

    def on_pod(self, pod: Pod) -> None:
        for key in self.service_pods.services_for_pod(pod):
            self.queue.add(key)

    def on_pod_update(self, old: Pod, new: Pod) -> None:
        for key in self.service_pods.services_for_pod_update(old, new):
            self.queue.add(key)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_service(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        existing = self.slices_of(namespace, name)
        if self.cache_lags(key, existing):
            return
        service: Service | None = self.service_informer.indexer.get(key)
        if service is None or service.spec is None or not service.spec.selector:
            plan = SlicePlan(delete=existing)  # the garbage collector would too, via the owner
        else:
            plan = reconcile(existing, self.wanted_groups(service), max_per_slice=self.max_endpoints_per_slice,
                             new_slice=lambda ports: self.new_slice(service, ports),
                             labels=slice_labels(service))
        if plan.empty():
            return
        await self.apply(key, plan)

    def wanted_groups(self, service: Service) -> list[WantedGroup]:
        spec = service.spec
        assert spec is not None and spec.selector
        selector = label_selector_from_dict({"matchLabels": spec.selector})
        groups: dict[PortsKey, WantedGroup] = {}
        for pod in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, service.metadata.namespace or ""):
            if not selector.matches(pod.metadata.labels or {}):
                continue
            if not should_pod_be_in_endpoints(pod, include_terminating=True) or not _is_ipv4(pod):
                continue
            ports = pod_endpoint_ports(pod, service)
            if spec.ports and not ports:
                continue  # serves none of the Service's ports
            group = groups.setdefault(ports_key(ports), WantedGroup(ports))
            group.endpoints.append(pod_to_endpoint(pod, service))
        for group in groups.values():
            group.endpoints.sort(key=lambda e: e.addresses[0])
        return [groups[k] for k in sorted(groups)]

    def new_slice(self, service: Service, ports: list[EndpointPort] | None) -> EndpointSlice:
        return EndpointSlice(
            metadata=ObjectMeta(generate_name=f"{service.metadata.name}-", namespace=service.metadata.namespace,
                                owner_references=[new_controller_ref(service)]),
            address_type="IPv4", ports=list(ports) if ports else None, endpoints=[])


def pod_endpoint_ports(pod: Pod, service: Service) -> list[EndpointPort]:
    ports = []
    for service_port in (service.spec.ports if service.spec else None) or ():
        number = find_port(pod, service_port)
        if number is not None:
            ports.append(EndpointPort(name=service_port.name or "", port=number,
                                      protocol=service_port.protocol or "TCP",
                                      app_protocol=service_port.app_protocol or None))
    return ports


def pod_to_endpoint(pod: Pod, service: Service) -> Endpoint:
    spec = pod.spec
    assert pod.status is not None and pod.status.pod_ip
    serving = pod_is_ready(pod)
    terminating = pod.metadata.deletion_timestamp is not None
    publish = bool(service.spec and service.spec.publish_not_ready_addresses)
    hostname = spec.hostname if spec and spec.hostname and spec.subdomain == service.metadata.name else None
    return Endpoint(
        addresses=[pod.status.pod_ip],
        conditions=EndpointConditions(ready=publish or (serving and not terminating), serving=serving,
                                      terminating=terminating),
        hostname=hostname, node_name=spec.node_name if spec else None,
        target_ref=ObjectReference(kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name,
                                   uid=pod.metadata.uid))


def slice_labels(service: Service) -> dict[str, str]:
    labels = {k: v for k, v in (service.metadata.labels or {}).items()
              if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
    if service.spec is not None and service.spec.cluster_ip == "None":
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service.metadata.name or ""
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


def _is_ipv4(pod: Pod) -> bool:
    try:
        return ipaddress.ip_address(pod.status.pod_ip if pod.status else "").version == 4
    except ValueError:
        return False
