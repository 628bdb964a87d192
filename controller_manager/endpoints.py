"""The endpoints controller: per Service, the addresses of the pods it selects.

For every Service with a selector, an Endpoints object of the same name lists the
IPs of the matching pods grouped into subsets: ready pods under `addresses`,
not-ready ones under `notReadyAddresses` (all under `addresses` when the Service
sets `publishNotReadyAddresses`), each subset with the ports the pods serve. This
is what kube-proxy programs and cluster DNS answers from.

- A pod event enqueues every Service whose selector matches the pod's old or new
  labels (`ServicePodIndex` keeps each Service's parsed selector), so a readiness
  change reaches the Endpoints within one sync.
- A Service's targetPort is a number, or the name of a container port, resolved per
  pod (two pods may serve one named port on different numbers: two subsets).
- Pods without an IP, terminating pods and finished pods are left out.
- Endpoints are written only when their subsets or labels differ from the cache,
  and deleted when their Service is.

Kubernetes counterpart: pkg/controller/endpoint/endpoints_controller.go,
pkg/api/v1/endpoints/util.go (RepackSubsets)
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import Controller
from controller_manager.servicepods import ServicePodIndex
from tinykube.api.core import (
    EndpointAddress, EndpointPort, Endpoints, EndpointSubset, ObjectReference, Pod, Service, ServicePort,
    pod_is_ready, pod_is_terminal,
)
from tinykube.api.meta import ObjectMeta, split_meta_namespace_key
from tinykube.api.registry import deep_copy
from tinykube.api.resources import ENDPOINTS, PODS, SERVICES
from tinykube.api.selectors import label_selector_from_dict
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, Clock, EventRecorder, NotFound, RESTClient, SharedInformerFactory,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
HEADLESS_LABEL = "service.kubernetes.io/headless"
PortKey = tuple[str, int, str]


def should_pod_be_in_endpoints(pod: Pod, include_terminating: bool) -> bool:
    if pod.status is None or not pod.status.pod_ip or pod_is_terminal(pod):
        return False
    return include_terminating or not pod.metadata.deletion_timestamp


def find_port(pod: Pod, service_port: ServicePort) -> int | None:
    """The container port a service port sends to on this pod (podutil.FindPort)."""
    target = service_port.target_port
    if target is None or target == "":
        target = service_port.port
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    protocol = service_port.protocol or "TCP"
    for container in pod.spec.containers if pod.spec else ():
        for port in container.ports or ():
            if port.name == target and (port.protocol or "TCP") == protocol:
                return port.container_port
    return None


def endpoint_address(pod: Pod, service: Service) -> EndpointAddress:
    spec = pod.spec
    assert pod.status is not None and pod.status.pod_ip
    hostname = spec.hostname if spec and spec.hostname and spec.subdomain == service.metadata.name else None
    return EndpointAddress(
        ip=pod.status.pod_ip, node_name=spec.node_name if spec else None, hostname=hostname,
        target_ref=ObjectReference(kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name,
                                   uid=pod.metadata.uid))


def repack_subsets(entries: list[tuple[EndpointAddress, EndpointPort, bool]]) -> list[EndpointSubset]:
    """Group (address, port, ready) triples into subsets of pods that serve the same
    ports, sorted so that equal inputs always give equal output (RepackSubsets)."""
    by_address: dict[tuple[str, str], tuple[EndpointAddress, bool, dict[PortKey, EndpointPort]]] = {}
    for address, port, ready in entries:
        _, _, ports = by_address.setdefault(_address_order(address), (address, ready, {}))
        ports[(port.name or "", port.port, port.protocol or "TCP")] = port
    groups: dict[tuple[PortKey, ...], tuple[list[EndpointPort], list[EndpointAddress], list[EndpointAddress]]] = {}
    for address, ready, ports in by_address.values():
        signature = tuple(sorted(ports))
        _, ready_list, not_ready_list = groups.setdefault(signature, ([ports[k] for k in signature], [], []))
        (ready_list if ready else not_ready_list).append(address)
    subsets: list[EndpointSubset] = []
    for signature in sorted(groups):
        ports_list, ready_list, not_ready_list = groups[signature]
        subsets.append(EndpointSubset(
            addresses=sorted(ready_list, key=_address_order) or None,
            not_ready_addresses=sorted(not_ready_list, key=_address_order) or None,
            ports=ports_list))
    return subsets


def _address_order(address: EndpointAddress) -> tuple[str, str]:
    return (address.ip, (address.target_ref.uid if address.target_ref else None) or "")


class EndpointsController(Controller):
    """Keeps one Endpoints per selector Service equal to its matching pods.

    - Handlers only enqueue Service keys; `sync_service` computes from the caches.
    - Never writes an Endpoints whose content would not change.
    """

    name = "endpoint"  # kube-controller-manager's --controllers name

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_service, clock=clock)
        self.service_informer = factory.informer_for(SERVICES)
        self.pod_informer = factory.informer_for(PODS)
        self.endpoints_informer = factory.informer_for(ENDPOINTS)
        self.service_pods = ServicePodIndex(self.service_informer.indexer)
        self.service_informer.add_event_handler(
            on_add=self.on_service, on_update=lambda old, new: self.on_service(new),
            on_delete=lambda service: self.queue.add(self.service_pods.forget(service)))
        self.pod_informer.add_event_handler(
            on_add=self.on_pod, on_update=self.on_pod_update, on_delete=self.on_pod)
        # Only deletions: reacting to our own updates would loop on any field the
        # server normalizes differently from what we compute.
        self.endpoints_informer.add_event_handler(on_delete=self.enqueue)

    # --- handlers: events become Service keys -----------------------------------------

    def on_service(self, service: Service) -> None:
        self.queue.add(self.service_pods.set_service(service))

    def on_pod(self, pod: Pod) -> None:
        for key in self.service_pods.services_for_pod(pod):
            self.queue.add(key)

    def on_pod_update(self, old: Pod, new: Pod) -> None:
        for key in self.service_pods.services_for_pod_update(old, new):
            self.queue.add(key)

    # --- the loop ----------------------------------------------------------------------

    async def run(self, workers: int) -> None:
        self.check_leftover_endpoints()
        await super().run(workers)

    def check_leftover_endpoints(self) -> None:
        """Endpoints whose Service vanished while we were not running get deleted."""
        for endpoints in self.endpoints_informer.indexer.list():
            key = meta_namespace_key(endpoints)
            if (LEADER_ANNOTATION not in (endpoints.metadata.annotations or {})
                    and self.service_informer.indexer.get(key) is None):
                self.queue.add(key)

    async def sync_service(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        service: Service | None = self.service_informer.indexer.get(key)
        if service is None:
            if self.endpoints_informer.indexer.get(key) is not None:
                try:
                    await self.client.delete(ENDPOINTS, name, namespace)
                    log.info("deleted endpoints of deleted service service=%s", key)
                except NotFound:
                    pass
            return
        if service.spec is None or not service.spec.selector:
            return  # the user manages this Service's endpoints
        subsets = self.compute_subsets(service)
        labels = dict(service.metadata.labels or {})
        if service.spec.cluster_ip == "None":
            labels[HEADLESS_LABEL] = ""
        current: Endpoints | None = self.endpoints_informer.indexer.get(key)
        if current is not None:
            if (current.subsets or []) == subsets and (current.metadata.labels or {}) == labels:
                return
            new = deep_copy(current)
            new.metadata.labels = labels
            new.subsets = subsets
            await self.client.update_object(new)
        else:
            # AlreadyExists means our cache lags: the worker retries once it has caught up.
            await self.client.create_object(Endpoints(
                metadata=ObjectMeta(name=name, namespace=namespace, labels=labels), subsets=subsets))
        ready = sum(len(s.addresses or ()) for s in subsets)
        not_ready = sum(len(s.not_ready_addresses or ()) for s in subsets)
        log.info("endpoints updated service=%s ready=%d not_ready=%d", key, ready, not_ready)

    def compute_subsets(self, service: Service) -> list[EndpointSubset]:
        spec = service.spec
        assert spec is not None and spec.selector
        selector = label_selector_from_dict({"matchLabels": spec.selector})
        publish_not_ready = bool(spec.publish_not_ready_addresses)
        headless_without_ports = not spec.ports and spec.cluster_ip == "None"
        entries: list[tuple[EndpointAddress, EndpointPort, bool]] = []
        for pod in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, service.metadata.namespace or ""):
            if not selector.matches(pod.metadata.labels or {}):
                continue
            if not should_pod_be_in_endpoints(pod, include_terminating=publish_not_ready):
                continue
            address = endpoint_address(pod, service)
            ready = publish_not_ready or pod_is_ready(pod)
            for service_port in spec.ports or ():
                port_number = find_port(pod, service_port)
                if port_number is None:
                    log.debug("pod does not serve port pod=%s port=%s",
                              pod.metadata.name, service_port.target_port)
                    continue
                entries.append((address, EndpointPort(
                    port=port_number, protocol=service_port.protocol or "TCP",
                    name=service_port.name or None, app_protocol=service_port.app_protocol or None), ready))
            if headless_without_ports:
                entries.append((address, EndpointPort(port=0, protocol="TCP"), ready))
        subsets = repack_subsets(entries)
        if headless_without_ports:
            for subset in subsets:
                subset.ports = None  # headless without ports: addresses only
        return subsets
