"""`python -m kube_proxy`: one per node, turns Services into iptables rules on it.

    python -m kube_proxy --kubeconfig /var/lib/kubelet/kubeconfig --hostname-override node-1 \\
        --proxy-mode iptables --cluster-cidr 10.244.0.0/16

Serves `/healthz` (200 while rules were synced within two sync periods, else 503)
on --healthz-bind-address and `/metrics` (sync latency and counts, Prometheus
text) on --metrics-bind-address.

Kubernetes counterpart: cmd/kube-proxy/app/server.go, pkg/proxy/healthcheck/proxier_health.go,
pkg/proxy/metrics/metrics.go
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import time

from kube_proxy.proxier import Proxier, SyncStats
from tinykube.client import RESTClient
from tinykube.component import (
    add_client_flags,
    client_config_from_flags,
    component_parser,
    duration,
    run_until_signalled,
)

log = logging.getLogger("kube_proxy")


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError(f"want HOST:PORT, got {text!r}")
    return host or "0.0.0.0", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m kube_proxy", __doc__)
    add_client_flags(parser)
    parser.add_argument("--hostname-override", default=None, help="this node's name (default: the hostname)")
    parser.add_argument("--proxy-mode", default="iptables", choices=["iptables"])
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16",
                        help="the pod CIDR: traffic to a Service from outside it is masqueraded")
    parser.add_argument("--healthz-bind-address", type=parse_address, default="0.0.0.0:10256")
    parser.add_argument("--metrics-bind-address", type=parse_address, default="0.0.0.0:10249")
    parser.add_argument("--iptables-min-sync-period", type=duration, default=1.0,
                        help="the least time between two syncs (default 1s)")
    parser.add_argument("--iptables-sync-period", type=duration, default=30.0,
                        help="a full sync at least this often (default 30s)")
    return parser


def healthz(stats: SyncStats, started: float, sync_seconds: float) -> tuple[int, str]:
    now = time.time()
    reference = stats.last_success_at or started
    healthy = now - reference < 2 * sync_seconds
    body = {"lastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stats.last_success_at))
            if stats.last_success_at else "", "currentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
    return (200 if healthy else 503), json.dumps(body)


def metrics(stats: SyncStats) -> str:
    ordered = sorted(stats.durations)

    def quantile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    name = "kubeproxy_sync_proxy_rules_duration_seconds"
    lines = [f"# HELP {name} SyncProxyRules latency in seconds", f"# TYPE {name} summary"]
    lines += [f'{name}{{quantile="{q}"}} {quantile(q):.6f}' for q in (0.5, 0.9, 0.99)]
    lines += [f"{name}_sum {sum(stats.durations):.6f}", f"{name}_count {len(stats.durations)}",
              "# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge",
              f"kubeproxy_sync_proxy_rules_last_timestamp_seconds {stats.last_success_at:.3f}",
              "# TYPE kubeproxy_sync_proxy_rules_last_duration_seconds gauge",
              f"kubeproxy_sync_proxy_rules_last_duration_seconds {stats.last_sync_seconds:.6f}",
              "# TYPE kubeproxy_sync_proxy_rules_failures_total counter",
              f"kubeproxy_sync_proxy_rules_failures_total {stats.failures}",
              "# TYPE kubeproxy_sync_proxy_rules_iptables_total gauge",
              f"kubeproxy_sync_proxy_rules_iptables_total {stats.rules}",
              "# TYPE kubeproxy_sync_proxy_rules_service_ports gauge",
              f"kubeproxy_sync_proxy_rules_service_ports {stats.service_ports}", ""]
    return "\n".join(lines)


async def serve(address: tuple[str, int], answer: dict[str, object]) -> asyncio.Server:
    """A small HTTP/1.0 server: GET path -> (status, content type, body) from `answer`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode(errors="replace").split()
            path = parts[1].split("?")[0] if len(parts) > 1 else "/"
            handler = answer.get(path)
            status, kind, body = handler() if callable(handler) else (404, "text/plain", "404 page not found\n")
            data = body.encode()
            writer.write(f"HTTP/1.0 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: {kind}\r\n"
                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, *address)


async def run(args: argparse.Namespace, node_name: str) -> int:
    client = RESTClient(client_config_from_flags(args, "tinykube-kube-proxy"))
    proxier = Proxier(client, node_name, args.cluster_cidr, min_sync_seconds=args.iptables_min_sync_period,
                      sync_seconds=args.iptables_sync_period)
    started = time.time()

    def health_answer() -> tuple[int, str, str]:
        status, body = healthz(proxier.stats, started, args.iptables_sync_period)
        return status, "application/json", body

    health = await serve(args.healthz_bind_address, {"/healthz": health_answer})
    metric = await serve(args.metrics_bind_address, {"/metrics": lambda: (
        200, "text/plain; version=0.0.4", metrics(proxier.stats))})
    log.info("kube-proxy starting node=%s mode=%s cluster_cidr=%s", node_name, args.proxy_mode, args.cluster_cidr)
    try:
        await proxier.run()
    finally:
        health.close()
        metric.close()
        await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    node_name = (args.hostname_override or socket.gethostname()).lower()
    return run_until_signalled(lambda _stopping: run(args, node_name), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
