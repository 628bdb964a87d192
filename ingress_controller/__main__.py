"""`python -m ingress_controller`: the Ingress add-on (tinykube/cluster/addons/ingress.yaml).

    python -m ingress_controller --ingress-class tinykube \\
        --publish-service kube-system/ingress

Watches Ingresses, IngressClasses, Services, Endpoints and Secrets; rebuilds the
routing table (routes.py) on every change and swaps it in whole; serves HTTP on
--http-port and HTTPS on --https-port (proxy.py). An Ingress is ours when its
`ingressClassName` is --ingress-class, or it names no class and our IngressClass is
the default one (or --watch-ingress-without-class). Every Ingress of ours gets the
published Service's load balancer addresses as its `status.loadBalancer.ingress`.

Kubernetes counterpart: ingress-nginx (cmd/nginx, internal/ingress/controller)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from ingress_controller.proxy import CertificateStore, IngressProxy
from ingress_controller.routes import CONTROLLER_NAME, DEFAULT_CLASS_ANNOTATION, RoutingTable, build_table, ours
from tinykube.api.core import Secret, Service, ServiceStatus
from tinykube.api.other import Ingress, IngressClass, IngressStatus
from tinykube.api.resources import ENDPOINTS, INGRESS_CLASSES, INGRESSES, SECRETS, SERVICES
from tinykube.client import ClientError, NotFound, RESTClient, SharedInformer
from tinykube.component import add_client_flags, client_config_from_flags, component_parser, run_until_signalled

log = logging.getLogger("ingress_controller")


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m ingress_controller", __doc__)
    add_client_flags(parser)
    parser.add_argument("--ingress-class", default="tinykube")
    parser.add_argument("--watch-ingress-without-class", action="store_true",
                        help="also serve Ingresses that name no class (as if our class were the default)")
    parser.add_argument("--publish-service", default="", help="NAMESPACE/NAME whose addresses Ingresses report")
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--health-port", type=int, default=10254)
    return parser


class Controller:
    def __init__(self, client: RESTClient, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.table = RoutingTable()
        self.informers = {info.plural: SharedInformer(client, info, indexers={}, typed=True)
                          for info in (INGRESSES, INGRESS_CLASSES, SERVICES, ENDPOINTS, SECRETS)}
        self._changed = asyncio.Event()
        for informer in self.informers.values():
            informer.add_event_handler(on_add=self._touch, on_update=lambda old, new: self._touch(new),
                                       on_delete=self._touch)

    def _touch(self, _: object) -> None:
        self._changed.set()

    def synced(self) -> bool:
        return all(informer.has_synced() for informer in self.informers.values())

    def is_default(self) -> bool:
        if self.args.watch_ingress_without_class:
            return True
        ours_class: IngressClass | None = self.informers["ingressclasses"].indexer.get(self.args.ingress_class)
        return bool(ours_class and ours_class.spec and ours_class.spec.controller == CONTROLLER_NAME
                    and (ours_class.metadata.annotations or {}).get(DEFAULT_CLASS_ANNOTATION) == "true")

    def secret(self, namespace: str, name: str) -> Secret | None:
        found: Secret | None = self.informers["secrets"].indexer.get(f"{namespace}/{name}")
        return found if found and found.type == "kubernetes.io/tls" else None

    async def run(self) -> None:
        for informer in self.informers.values():
            informer.start()
        try:
            while True:
                await self._changed.wait()
                if not self.synced():
                    await asyncio.sleep(0.1)
                    continue
                self._changed.clear()
                self.table = build_table(self.informers["ingresses"].indexer.list(),
                                         self.informers["services"].indexer.list(),
                                         self.informers["endpoints"].indexer.list(),
                                         self.args.ingress_class, self.is_default())
                await self.publish_status()
        finally:
            for informer in self.informers.values():
                await informer.stop()

    async def publish_status(self) -> None:
        if not self.args.publish_service:
            return
        published: Service | None = self.informers["services"].indexer.get(self.args.publish_service)
        ingress = load_balancer_ingress(published.status if published else None)
        item: Ingress
        for item in self.informers["ingresses"].indexer.list():
            if not ours(item, self.args.ingress_class, self.is_default()):
                continue
            if load_balancer_ingress(item.status) == ingress:
                continue
            try:
                await self.client.patch(INGRESSES, item.metadata.name or "", {"status": {"loadBalancer": {
                    "ingress": ingress}}}, namespace=item.metadata.namespace, subresource="status")
            except NotFound:
                pass
            except ClientError as err:  # the next change retries
                log.warning("cannot publish the ingress status ingress=%s/%s err=%s", item.metadata.namespace,
                            item.metadata.name, err)


def load_balancer_ingress(status: ServiceStatus | IngressStatus | None) -> list[dict[str, object]]:
    """`status.loadBalancer.ingress` of a Service or an Ingress, in its wire form."""
    balancer = status.load_balancer if status else None
    return [entry.to_dict() for entry in (balancer.ingress if balancer else None) or []]


async def run(args: argparse.Namespace) -> int:
    client = RESTClient(client_config_from_flags(args, "tinykube-ingress-controller"))
    controller = Controller(client, args)
    proxy = IngressProxy(lambda: controller.table)
    certificates = CertificateStore(controller.secret, lambda: controller.table)

    async def health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nok" if controller.synced() else b"HTTP/1.0 503 Error\r\n\r\nsyncing")
        await writer.drain()
        writer.close()

    servers = [
        await asyncio.start_server(lambda r, w: proxy.handle(r, w, "http"), "0.0.0.0", args.http_port),
        await asyncio.start_server(lambda r, w: proxy.handle(r, w, "https"), "0.0.0.0", args.https_port,
                                   ssl=certificates.server_context()),
        await asyncio.start_server(health, "0.0.0.0", args.health_port),
    ]
    log.info("serving http=%d https=%d class=%s", args.http_port, args.https_port, args.ingress_class)
    try:
        await controller.run()
    finally:
        for server in servers:
            server.close()
        await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_until_signalled(lambda _stopping: run(args), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
