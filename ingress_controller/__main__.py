"""`python -m ingress_controller`: the Ingress add-on (tinykube/cluster/addons/ingress.yaml).

    python -m ingress_controller --kubeconfig node.kubeconfig --ingress-class tinykube \\
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
import signal
import sys
from typing import Any

from ingress_controller.proxy import CertificateStore, IngressProxy
from ingress_controller.routes import CONTROLLER_NAME, DEFAULT_CLASS_ANNOTATION, RoutingTable, build_table, ours
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import NotFound, RESTClient, SharedInformer, load_kubeconfig

log = logging.getLogger("ingress_controller")

Obj = dict[str, Any]
INGRESSES: ResourceInfo = INDEX.by_name("ingresses")  # type: ignore[assignment]
INGRESS_CLASSES: ResourceInfo = INDEX.by_name("ingressclasses")  # type: ignore[assignment]
SERVICES: ResourceInfo = INDEX.by_name("services")  # type: ignore[assignment]
ENDPOINTS: ResourceInfo = INDEX.by_name("endpoints")  # type: ignore[assignment]
SECRETS: ResourceInfo = INDEX.by_name("secrets")  # type: ignore[assignment]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingress_controller", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--ingress-class", default="tinykube")
    parser.add_argument("--watch-ingress-without-class", action="store_true",
                        help="also serve Ingresses that name no class (as if our class were the default)")
    parser.add_argument("--publish-service", default="", help="NAMESPACE/NAME whose addresses Ingresses report")
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--health-port", type=int, default=10254)
    parser.add_argument("-v", "--v", type=int, default=2)
    return parser


class Controller:
    def __init__(self, client: RESTClient, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.table = RoutingTable()
        self.informers = {info.plural: SharedInformer(client, info, indexers={})
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
        ours_class = self.informers["ingressclasses"].indexer.get(self.args.ingress_class)
        return bool(ours_class and (ours_class.get("spec") or {}).get("controller") == CONTROLLER_NAME
                    and ((ours_class["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"))

    def secret(self, namespace: str, name: str) -> Obj | None:
        found = self.informers["secrets"].indexer.get(f"{namespace}/{name}")
        return found if found and found.get("type") == "kubernetes.io/tls" else None

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
        published = self.informers["services"].indexer.get(self.args.publish_service)
        ingress = (((published or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        for item in self.informers["ingresses"].indexer.list():
            if not ours(item, self.args.ingress_class, self.is_default()):
                continue
            if (((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []) == ingress:
                continue
            try:
                await self.client.patch(INGRESSES, item["metadata"]["name"], {"status": {"loadBalancer": {
                    "ingress": ingress}}}, namespace=item["metadata"]["namespace"], subresource="status")
            except NotFound:
                pass


async def run(args: argparse.Namespace) -> int:
    config = load_kubeconfig(args.kubeconfig)
    config.user_agent = "tinykube-ingress-controller"
    client = RESTClient(config)
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
    task = asyncio.create_task(controller.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        task.cancel()
        await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.v >= 2 else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
