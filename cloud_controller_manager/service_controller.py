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

from cloud_controller_manager.provider import Backend, LoadBalancerProvider
from tinykube.api.core import LoadBalancerIngress, LoadBalancerStatus, Node, Service, ServiceStatus
from tinykube.api.meta import get_condition
from tinykube.api.registry import deep_copy
from tinykube.api.resources import NODES, SERVICES
from tinykube.client import (
    NotFound,
    RateLimitingQueue,
    RESTClient,
    SharedInformer,
    meta_namespace_key,
    run_workers,
)

log = logging.getLogger(__name__)

FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


def wants_load_balancer(service: Service | None) -> bool:
    return (service is not None and service.spec is not None and service.spec.type == "LoadBalancer"
            and not service.metadata.deletion_timestamp)


def ready_node_ips(nodes: list[Node]) -> tuple[str, ...]:
    ips = []
    for node in nodes:
        if node.status is None or (node.spec is not None and node.spec.unschedulable):
            continue
        ready = get_condition(node.status.conditions, "Ready")
        address = next((a.address for a in node.status.addresses or [] if a.type == "InternalIP"), None)
        if ready is not None and ready.status == "True" and address:
            ips.append(address)
    return tuple(sorted(ips))


def backends_for(service: Service, node_ips: tuple[str, ...]) -> list[Backend]:
    return [Backend(p.port, p.protocol or "TCP", p.node_port, node_ips)
            for p in (service.spec.ports if service.spec else None) or [] if p.node_port]


def ingress_of(service: Service) -> list[LoadBalancerIngress]:
    balancer = service.status.load_balancer if service.status else None
    return (balancer.ingress if balancer else None) or []


class ServiceController:
    def __init__(self, client: RESTClient, provider: LoadBalancerProvider) -> None:
        self.client = client
        self.provider = provider
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(name="service-lb")
        self.services = SharedInformer(client, SERVICES, indexers={}, typed=True)
        self.nodes = SharedInformer(client, NODES, indexers={}, typed=True)
        self.services.add_event_handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                                        on_delete=self.enqueue)
        self.nodes.add_event_handler(on_add=self.on_node, on_update=self.on_node_update, on_delete=self.on_node)
        self._node_ips: tuple[str, ...] = ()

    def enqueue(self, service: Service) -> None:
        self.queue.add(meta_namespace_key(service))

    def on_node(self, _: Node) -> None:
        ips = ready_node_ips(self.nodes.indexer.list())
        if ips != self._node_ips:
            self._node_ips = ips
            service: Service
            for service in self.services.indexer.list():
                if service.spec is not None and service.spec.type == "LoadBalancer":
                    self.enqueue(service)

    def on_node_update(self, old: Node, new: Node) -> None:
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
        service: Service | None = self.services.indexer.get(key)
        if service is None or not wants_load_balancer(service):
            await self.provider.delete(namespace, name)
            if service is not None:
                await self._release(service)
            return
        if FINALIZER not in (service.metadata.finalizers or []):
            service = deep_copy(service)
            service.metadata.finalizers = [*(service.metadata.finalizers or []), FINALIZER]
            service = await self.client.update_object(service)
        ips = await self.provider.ensure(service, backends_for(service, self._node_ips))
        ingress = [LoadBalancerIngress(ip=ip) for ip in ips]
        if ingress_of(service) != ingress:
            await self._write_ingress(service, ingress)
            log.info("load balancer ingress service=%s ips=%s", key, ",".join(ips))

    async def _write_ingress(self, service: Service, ingress: list[LoadBalancerIngress]) -> Service:
        changed = deep_copy(service)
        changed.status = changed.status or ServiceStatus()
        changed.status.load_balancer = LoadBalancerStatus(ingress=ingress or None)
        return Service.from_dict(await self.client.update_status(SERVICES, changed))

    async def _release(self, service: Service) -> None:
        """No load balancer any more: clear the ingress, then drop our finalizer."""
        try:
            if ingress_of(service):
                service = await self._write_ingress(service, [])
            if FINALIZER in (service.metadata.finalizers or []):
                service = deep_copy(service)
                service.metadata.finalizers = [f for f in service.metadata.finalizers or [] if f != FINALIZER]
                await self.client.update_object(service)
        except NotFound:
            pass
