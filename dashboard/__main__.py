"""`python -m dashboard`: the web dashboard, run as a pod by the add-on manifest
(tinykube/cluster/addons/dashboard.yaml) or by hand next to a control plane.

    python -m dashboard --port 8080   (in a pod: its service account; else --kubeconfig)

Fills its caches (nodes, pods, workloads, events) from the API server, then
serves the page and its streams on --bind-address:--port; `/healthz` answers 200
once the caches have synced.

Kubernetes counterpart: kubernetes/dashboard (its API module), run as an add-on
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from dashboard.app import create_app
from dashboard.hub import Hub
from tinykube.client import RESTClient
from tinykube.component import add_client_flags, client_config_from_flags, component_parser, run_until_signalled

log = logging.getLogger("dashboard")
USER_AGENT = "tinykube-dashboard"


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m dashboard", __doc__)
    add_client_flags(parser)
    parser.add_argument("--bind-address", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    return parser


async def run(args: argparse.Namespace, stopping: asyncio.Event) -> int:
    client = RESTClient(client_config_from_flags(args, USER_AGENT))
    hub = Hub(client)
    server = uvicorn.Server(uvicorn.Config(
        create_app(hub, client), host=args.bind_address, port=args.port, log_level="warning",
        lifespan="off", timeout_graceful_shutdown=1))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    try:
        await hub.start()
        log.info("dashboard serving address=%s port=%d", args.bind_address, args.port)
        await server.serve()
        return 0 if stopping.is_set() or server.should_exit else 1
    finally:
        server.should_exit = True
        await hub.stop()
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_until_signalled(lambda stopping: run(args, stopping), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
