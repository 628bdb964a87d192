"""`python -m cluster_dns`: the cluster DNS server, run as pods behind the Service
kube-system/kube-dns (10.96.0.10) by the add-on manifest (tinykube/cluster/addons/dns.yaml).

    python -m cluster_dns --bind-address $HOST_IP   (in a pod: its service account)

Watches Services and Endpoints, answers names in --cluster-domain, forwards the rest
to the resolvers of /etc/resolv.conf (or --upstream). `/ready` on --ready-port says
200 once both caches are filled (the pods' readiness probe).

Kubernetes counterpart: CoreDNS with the kubernetes, forward and ready plugins
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from cluster_dns.server import DNSServer, Records, build_records, upstream_resolvers
from tinykube.api.resources import ENDPOINTS, SERVICES
from tinykube.client import RESTClient, SharedInformer
from tinykube.component import add_client_flags, client_config_from_flags, component_parser, run_until_signalled

log = logging.getLogger("cluster_dns")


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m cluster_dns", __doc__)
    add_client_flags(parser)
    parser.add_argument("--bind-address", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--ready-port", type=int, default=8181)
    parser.add_argument("--cluster-domain", default="cluster.local")
    parser.add_argument("--upstream", action="append", default=None,
                        help="a resolver for names outside the cluster (default: /etc/resolv.conf's)")
    return parser


async def run(args: argparse.Namespace, upstreams: list[str], stopping: asyncio.Event) -> int:
    client = RESTClient(client_config_from_flags(args, "tinykube-cluster-dns"))
    services = SharedInformer(client, SERVICES, indexers={}, typed=True)
    endpoints = SharedInformer(client, ENDPOINTS, indexers={}, typed=True)
    server = DNSServer(Records(args.cluster_domain), upstreams)

    def rebuild(_: object = None) -> None:
        server.records = build_records(services.indexer.list(), endpoints.indexer.list(), args.cluster_domain)

    for informer in (services, endpoints):
        informer.add_event_handler(on_add=rebuild, on_update=lambda old, new: rebuild(), on_delete=rebuild)
        informer.start()

    async def ready(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The whole request head first: closing with unread bytes would reset the
        # connection before the prober reads the answer.
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        ok = services.has_synced() and endpoints.has_synced()
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nOK" if ok else b"HTTP/1.0 503 Service Unavailable\r\n\r\nnot ready")
        await writer.drain()
        writer.close()

    listeners = await server.serve(args.bind_address, args.port)
    ready_server = await asyncio.start_server(ready, args.bind_address, args.ready_port)
    log.info("serving DNS address=%s port=%d domain=%s upstreams=%s", args.bind_address, args.port,
             args.cluster_domain, ",".join(upstreams) or "none")
    try:
        await stopping.wait()
    finally:
        for listener in listeners:
            listener.close()
        ready_server.close()
        await services.stop()
        await endpoints.stop()
        await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    upstreams = args.upstream or [u for u in upstream_resolvers() if u != args.bind_address]
    return run_until_signalled(lambda stopping: run(args, upstreams, stopping), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
