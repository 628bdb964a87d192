"""`python -m cloud_controller_manager`: load balancers for LoadBalancer Services.

    python -m cloud_controller_manager --kubeconfig ccm.kubeconfig --cloud-provider local \\
        --cluster-network tinykube_default

With the local provider, each load balancer is a container (the tinykube image) on
--cluster-network of the Docker engine at --docker-socket; see provider.py.

Kubernetes counterpart: cmd/cloud-controller-manager, staging/src/k8s.io/cloud-provider/app
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from cloud_controller_manager.provider import LocalDockerProvider
from cloud_controller_manager.service_controller import ServiceController
from tinykube.client import RESTClient, load_kubeconfig

log = logging.getLogger("cloud_controller_manager")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cloud_controller_manager", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--cloud-provider", default="local", choices=["local"])
    parser.add_argument("--docker-socket", default="/var/run/docker.sock",
                        help="local provider: the Docker engine that runs load balancer containers")
    parser.add_argument("--cluster-network", required=True,
                        help="local provider: the Docker network the nodes are on")
    parser.add_argument("--load-balancer-image", default="tinykube/tinykube:latest")
    parser.add_argument("--concurrent-service-syncs", type=int, default=2)
    parser.add_argument("-v", "--v", type=int, default=2)
    return parser


async def run(args: argparse.Namespace) -> int:
    config = load_kubeconfig(args.kubeconfig)
    config.user_agent = "tinykube-cloud-controller-manager"
    client = RESTClient(config)
    provider = LocalDockerProvider(args.docker_socket, args.cluster_network, args.load_balancer_image)
    controller = ServiceController(client, provider)
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: main.cancel() if main else None)
    log.info("cloud controller manager starting provider=%s network=%s", args.cloud_provider, args.cluster_network)
    try:
        await controller.run(args.concurrent_service_syncs)
    except asyncio.CancelledError:
        log.info("cloud controller manager stopping")
    finally:
        await provider.aclose()
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
