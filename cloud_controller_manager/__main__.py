"""`python -m cloud_controller_manager`: load balancers for LoadBalancer Services.

    python -m cloud_controller_manager --kubeconfig ccm.kubeconfig --cloud-provider local \\
        --cluster-network tinykube_default

With the local provider, each load balancer is a container (the tinykube image) on
--cluster-network of the Docker engine at --docker-socket; see provider.py.

Kubernetes counterpart: cmd/cloud-controller-manager, staging/src/k8s.io/cloud-provider/app
"""

from __future__ import annotations

import argparse
import logging
import sys

from cloud_controller_manager.provider import LocalDockerProvider
from cloud_controller_manager.service_controller import ServiceController
from tinykube.client import RESTClient
from tinykube.component import add_client_flags, client_config_from_flags, component_parser, run_until_signalled

log = logging.getLogger("cloud_controller_manager")


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m cloud_controller_manager", __doc__)
    add_client_flags(parser)
    parser.add_argument("--cloud-provider", default="local", choices=["local"])
    parser.add_argument("--docker-socket", default="/var/run/docker.sock",
                        help="local provider: the Docker engine that runs load balancer containers")
    parser.add_argument("--cluster-network", required=True,
                        help="local provider: the Docker network the nodes are on")
    parser.add_argument("--load-balancer-image", default="tinykube/tinykube:latest")
    parser.add_argument("--concurrent-service-syncs", type=int, default=2)
    return parser


async def run(args: argparse.Namespace, provider: LocalDockerProvider) -> int:
    client = RESTClient(client_config_from_flags(args, "tinykube-cloud-controller-manager"))
    controller = ServiceController(client, provider)
    log.info("cloud controller manager starting provider=%s network=%s", args.cloud_provider, args.cluster_network)
    try:
        await controller.run(args.concurrent_service_syncs)
    finally:
        await provider.aclose()
        await client.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    provider = LocalDockerProvider(args.docker_socket, args.cluster_network, args.load_balancer_image)
    return run_until_signalled(lambda _stopping: run(args, provider), verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
