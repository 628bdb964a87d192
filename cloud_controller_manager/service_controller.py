"""The service controller: a load balancer for every Service of type LoadBalancer.

For each LoadBalancer Service the provider makes a load balancer that spreads over
every Ready node's NodePort, and the Service's `status.loadBalancer.ingress` gets its
address. A node joining, leaving or turning NotReady updates every load balancer.

- The finalizer `service.kubernetes.io/load-balancer-cleanup` is added before a load
  balancer is made, so deleting the Service waits until its load balancer is gone;
  a Service changed to another type loses its load balancer and its ingress too.
- At start, load balancers whose Service no longer exists are removed.

Kubernetes counterpart: staging/src/k8s.io/cloud-provider/controllers/service/controller.go
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cloud_controller_manager.provider import Backend, LoadBalancerProvider
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import (
    NotFound,
    RateLimitingQueue,
    RESTClient,
    SharedInformer,
    meta_namespace_key,
    run_workers,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SERVICES: ResourceInfo = INDEX.by_name("services")  # type: ignore[assignment]
NODES: ResourceInfo = INDEX.by_name("nodes")  # type: ignore[assignment]
FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


def wants_load_balancer(service: Obj | None) -> bool:
    return (service is not None and (service.get("spec") or {}).get("type") == "LoadBalancer"
            and not service["metadata"].get("deletionTimestamp"))


def ready_node_ips(nodes: list[Obj]) -> tuple[str, ...]:
    ips = []
    for node in nodes:
        status = node.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        address = next((a["address"] for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), None)
        if ready and address and not (node.get("spec") or {}).get("unschedulable"):
            ips.append(address)
    return tuple(sorted(ips))


def backends_for(service: Obj, node_ips: tuple[str, ...]) -> list[Backend]:
    return [Backend(int(p["port"]), p.get("protocol") or "TCP", int(p["nodePort"]), node_ips)
            for p in (service.get("spec") or {}).get("ports") or [] if p.get("nodePort")]


class ServiceController:
    def __init__(self, client: RESTClient, provider: LoadBalancerProvider) -> None:
        self.client = client
        self.provider = provider
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(name="service-lb")
        self.services = SharedInformer(client, SERVICES, indexers={})
        self.nodes = SharedInformer(client, NODES, indexers={})
        self.services.add_event_handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                                        on_delete=self.enqueue)
        self.nodes.add_event_handler(on_add=self.on_node, on_update=self.on_node_update, on_delete=self.on_node)
        self._node_ips: tuple[str, ...] = ()

    def enqueue(self, service: Obj) -> None:
        self.queue.add(meta_namespace_key(service))

    def on_node(self, _: Obj) -> None:
        ips = ready_node_ips(self.nodes.indexer.list())
        if ips != self._node_ips:
            self._node_ips = ips
            for service in self.services.indexer.list():
                if (service.get("spec") or {}).get("type") == "LoadBalancer":
                    self.enqueue(service)

    def on_node_update(self, old: Obj, new: Obj) -> None:
        self.on_node(new)

    async def run(self, workers: int = 2) -> None:
        self.services.start()
        self.nodes.start()
        try:
            while not (self.services.has_synced() and self.nodes.has_synced()):
                await asyncio.sleep(0.1)
            self._node_ips = ready_node_ips(self.nodes.indexer.list())
            for leftover in await self.provider.list():
                if not wants_load_balancer(self.services.indexer.get(leftover)):
                    self.queue.add(leftover)
            await run_workers("service-lb", self.queue, self.sync, workers)
        finally:
            await self.services.stop()
            await self.nodes.stop()

    async def sync(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        service = self.services.indexer.get(key)
        if not wants_load_balancer(service):
            await self.provider.delete(namespace, name)
            if service is not None:
                await self._release(service)
            return
        assert service is not None
        if FINALIZER not in (service["metadata"].get("finalizers") or []):
            service = await self.client.patch(SERVICES, name, {"metadata": {
                "finalizers": [*(service["metadata"].get("finalizers") or []), FINALIZER],
                "resourceVersion": service["metadata"]["resourceVersion"]}}, namespace=namespace)
        ips = await self.provider.ensure(service, backends_for(service, self._node_ips))
        ingress = [{"ip": ip} for ip in ips]
        if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") != ingress:
            await self.client.patch(SERVICES, name, {"status": {"loadBalancer": {"ingress": ingress}}},
                                    namespace=namespace, subresource="status")
            log.info("load balancer ingress service=%s ips=%s", key, ",".join(ips))

    async def _release(self, service: Obj) -> None:
        """No load balancer any more: clear the ingress, then drop our finalizer."""
        meta = service["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        try:
            if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                service = await self.client.patch(SERVICES, name, {"status": {"loadBalancer": {}}},
                                                  namespace=namespace, subresource="status")
            finalizers = service["metadata"].get("finalizers") or []
            if FINALIZER in finalizers:
                await self.client.patch(SERVICES, name, {"metadata": {
                    "finalizers": [f for f in finalizers if f != FINALIZER],
                    "resourceVersion": service["metadata"]["resourceVersion"]}}, namespace=namespace)
        except NotFound:
            pass
