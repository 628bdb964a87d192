"""The endpoints controller: per Service, the addresses of the pods it selects.

For every Service with a selector, an Endpoints object of the same name lists the
IPs of the matching pods grouped into subsets: ready pods under `addresses`,
not-ready ones under `notReadyAddresses` (all under `addresses` when the Service
sets `publishNotReadyAddresses`), each subset with the ports the pods serve. This
is what kube-proxy programs and cluster DNS answers from.

- A pod event enqueues every Service whose selector matches the pod's old or new
  labels (`service_selectors` keeps each Service's parsed selector), so a readiness
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

import copy
import logging
from typing import Any

from controller_manager.controller_utils import run_workers
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.api.selectors import LabelSelector, label_selector_from_dict
from tinykube.client import (
    NAMESPACE_INDEX,
    REAL_CLOCK,
    AlreadyExists,
    Clock,
    EventRecorder,
    NotFound,
    RateLimitingQueue,
    RESTClient,
    SharedInformerFactory,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS: ResourceInfo = INDEX.by_name("pods")  # type: ignore[assignment]
SERVICES: ResourceInfo = INDEX.by_name("services")  # type: ignore[assignment]
ENDPOINTS: ResourceInfo = INDEX.by_name("endpoints")  # type: ignore[assignment]
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def pod_is_ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def should_pod_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if (pod.get("metadata") or {}).get("deletionTimestamp") and not include_terminating:
        return False
    return True


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The container port a service port sends to on this pod (podutil.FindPort)."""
    target = service_port.get("targetPort")
    if target is None or target == "":
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_address(pod: Obj, service: Obj) -> Obj:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    address: Obj = {"ip": pod["status"]["podIP"]}
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"]["name"]:
        address["hostname"] = spec["hostname"]
    address["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace"),
                            "name": meta.get("name"), "uid": meta.get("uid")}
    return address


def repack_subsets(entries: list[tuple[Obj, Obj, bool]]) -> list[Obj]:
    """Group (address, port, ready) triples into subsets of pods that serve the same
    ports, sorted so that equal inputs always give equal output (RepackSubsets)."""
    by_address: dict[tuple[str, str], tuple[Obj, bool, dict[tuple[str, int, str], Obj]]] = {}
    for address, port, ready in entries:
        _, _, ports = by_address.setdefault(_address_order(address), (address, ready, {}))
        ports[(port.get("name", ""), port["port"], port.get("protocol", "TCP"))] = port
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for address, ready, ports in by_address.values():
        signature = tuple(sorted(ports))
        ports_list, ready_list, not_ready_list = groups.setdefault(
            signature, ([ports[k] for k in signature], [], []))
        (ready_list if ready else not_ready_list).append(address)
    subsets: list[Obj] = []
    for signature in sorted(groups):
        ports_list, ready_list, not_ready_list = groups[signature]
        subset: Obj = {}
        if ready_list:
            subset["addresses"] = sorted(ready_list, key=_address_order)
        if not_ready_list:
            subset["notReadyAddresses"] = sorted(not_ready_list, key=_address_order)
        subset["ports"] = ports_list
        subsets.append(subset)
    return subsets


def _address_order(address: Obj) -> tuple[str, str]:
    return (address["ip"], str((address.get("targetRef") or {}).get("uid", "")))


class EndpointsController:
    """Keeps one Endpoints per selector Service equal to its matching pods.

    - Handlers only enqueue Service keys; `sync_service` computes from the caches.
    - Never writes an Endpoints whose content would not change.
    """

    name = "endpoint"  # kube-controller-manager's --controllers name

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        self.client = client
        self.recorder = recorder
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock, name="endpoint")
        self.service_informer = factory.informer_for(SERVICES)
        self.pod_informer = factory.informer_for(PODS)
        self.endpoints_informer = factory.informer_for(ENDPOINTS)
        # Service key -> its parsed selector (services without a selector are absent).
        self.service_selectors: dict[str, LabelSelector] = {}
        self.service_informer.add_event_handler(
            on_add=self.on_service, on_update=lambda old, new: self.on_service(new),
            on_delete=self.on_service_delete)
        self.pod_informer.add_event_handler(
            on_add=self.on_pod_add, on_update=self.on_pod_update, on_delete=self.on_pod_delete)
        # Only deletions: reacting to our own updates would loop on any field the
        # server normalizes differently from what we compute.
        self.endpoints_informer.add_event_handler(on_delete=self.on_endpoints_delete)

    # --- handlers: events become Service keys -----------------------------------------

    def on_service(self, service: Obj) -> None:
        key = meta_namespace_key(service)
        selector = (service.get("spec") or {}).get("selector")
        if selector:
            self.service_selectors[key] = label_selector_from_dict({"matchLabels": selector})
        else:
            self.service_selectors.pop(key, None)
        self.queue.add(key)

    def on_service_delete(self, service: Obj) -> None:
        key = meta_namespace_key(service)
        self.service_selectors.pop(key, None)
        self.queue.add(key)

    def services_for_labels(self, namespace: str, labels: dict[str, str]) -> set[str]:
        keys = set()
        for service in self.service_informer.indexer.by_index(NAMESPACE_INDEX, namespace):
            key = meta_namespace_key(service)
            selector = self.service_selectors.get(key)
            if selector is not None and selector.matches(labels):
                keys.add(key)
        return keys

    def on_pod_add(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        for key in self.services_for_labels(str(meta.get("namespace", "")), meta.get("labels") or {}):
            self.queue.add(key)

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
        if old_meta.get("resourceVersion") == new_meta.get("resourceVersion"):
            return  # a resync or relist replaying what we have seen
        namespace = str(new_meta.get("namespace", ""))
        keys = self.services_for_labels(namespace, new_meta.get("labels") or {})
        if (old_meta.get("labels") or {}) != (new_meta.get("labels") or {}):
            keys |= self.services_for_labels(namespace, old_meta.get("labels") or {})
        for key in keys:
            self.queue.add(key)

    def on_pod_delete(self, pod: Obj) -> None:
        self.on_pod_add(pod)

    def on_endpoints_delete(self, endpoints: Obj) -> None:
        # Someone deleted our output: recreate it if its Service still selects pods.
        self.queue.add(meta_namespace_key(endpoints))

    # --- the loop ----------------------------------------------------------------------

    async def run(self, workers: int) -> None:
        self.check_leftover_endpoints()
        await run_workers(self.name, self.queue, self.sync_service, workers)

    def check_leftover_endpoints(self) -> None:
        """Endpoints whose Service vanished while we were not running get deleted."""
        for endpoints in self.endpoints_informer.indexer.list():
            annotations = (endpoints.get("metadata") or {}).get("annotations") or {}
            key = meta_namespace_key(endpoints)
            if LEADER_ANNOTATION not in annotations and self.service_informer.indexer.get(key) is None:
                self.queue.add(key)

    async def sync_service(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        service = self.service_informer.indexer.get(key)
        if service is None:
            if self.endpoints_informer.indexer.get(key) is not None:
                try:
                    await self.client.delete(ENDPOINTS, name, namespace)
                    log.info("deleted endpoints of deleted service service=%s", key)
                except NotFound:
                    pass
            return
        spec = service.get("spec") or {}
        if not spec.get("selector"):
            return  # the user manages this Service's endpoints
        subsets = self.compute_subsets(service)
        labels = dict((service.get("metadata") or {}).get("labels") or {})
        if spec.get("clusterIP") == "None":
            labels[HEADLESS_LABEL] = ""
        current = self.endpoints_informer.indexer.get(key)
        if current is not None:
            current_meta = current.get("metadata") or {}
            if (current.get("subsets") or []) == subsets and (current_meta.get("labels") or {}) == labels:
                return
            new = copy.deepcopy(current)
            new["metadata"]["labels"] = labels
            new["subsets"] = subsets
            await self.client.update(ENDPOINTS, new, namespace)
        else:
            new = {"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": name, "namespace": namespace, "labels": labels},
                   "subsets": subsets}
            try:
                await self.client.create(ENDPOINTS, new, namespace)
            except AlreadyExists:
                raise  # our cache lags: retry once the informer has seen it
        ready = sum(len(s.get("addresses") or []) for s in subsets)
        not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
        log.info("endpoints updated service=%s ready=%d not_ready=%d", key, ready, not_ready)

    def compute_subsets(self, service: Obj) -> list[Obj]:
        spec = service.get("spec") or {}
        namespace = str(service["metadata"]["namespace"])
        selector = label_selector_from_dict({"matchLabels": spec["selector"]})
        publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
        entries: list[tuple[Obj, Obj, bool]] = []
        for pod in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, namespace):
            if not selector.matches((pod.get("metadata") or {}).get("labels") or {}):
                continue
            if not should_pod_be_in_endpoints(pod, include_terminating=publish_not_ready):
                continue
            address = endpoint_address(pod, service)
            ready = publish_not_ready or pod_is_ready(pod)
            for service_port in spec.get("ports") or []:
                port_number = find_port(pod, service_port)
                if port_number is None:
                    log.debug("pod does not serve port pod=%s port=%s",
                              pod["metadata"].get("name"), service_port.get("targetPort"))
                    continue
                port: Obj = {"port": port_number, "protocol": service_port.get("protocol") or "TCP"}
                if service_port.get("name"):
                    port["name"] = service_port["name"]
                if service_port.get("appProtocol"):
                    port["appProtocol"] = service_port["appProtocol"]
                entries.append((address, port, ready))
            if not spec.get("ports") and spec.get("clusterIP") == "None":
                entries.append((address, {"port": 0, "protocol": "TCP"}, ready))
        subsets = repack_subsets(entries)
        if not spec.get("ports") and spec.get("clusterIP") == "None":
            for subset in subsets:
                subset.pop("ports", None)  # headless without ports: addresses only
        return subsets
