"""`python -m controller_manager`: run the controller-manager.

Flags use kube-controller-manager's names; durations use Go syntax ("15s", "1m30s",
"5m0s", "500ms").

    python -m controller_manager --kubeconfig kubeconfig --leader-elect=true \
        --controllers='*,-garbagecollector' --concurrent-deployment-syncs 5

Exit codes: 0 after SIGTERM/SIGINT (the lease is released), 1 when leadership was
lost or a controller failed, 2 for bad flags.

Kubernetes counterpart: cmd/kube-controller-manager/controller-manager.go
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import uuid
from typing import Any

from controller_manager.manager import CONTROLLERS, LEASE_NAME, LEASE_NAMESPACE, LeadershipLost, run_manager, select_controllers
from tinykube.client import RESTClient
from tinykube.component import (
    add_client_flags,
    add_leader_election_flags,
    boolean,
    client_config_from_flags,
    component_parser,
    duration,
    run_until_signalled,
)

log = logging.getLogger("controller_manager")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The flags, plus `controller_names`: the controllers `--controllers` selects."""
    parser = component_parser("python -m controller_manager", __doc__)
    add_client_flags(parser)
    parser.add_argument("--controllers", default="*",
                        help=f"comma-separated; '*' all, 'foo' on, '-foo' off. Known: {', '.join(CONTROLLERS)}")
    add_leader_election_flags(parser, resource_name=LEASE_NAME, resource_namespace=LEASE_NAMESPACE)
    parser.add_argument("--concurrent-replicaset-syncs", type=int, default=5)
    parser.add_argument("--concurrent-rc-syncs", type=int, default=5)
    parser.add_argument("--concurrent-deployment-syncs", type=int, default=5)
    parser.add_argument("--concurrent-endpoint-syncs", type=int, default=5)
    parser.add_argument("--concurrent-service-endpoint-syncs", type=int, default=5,
                        help="workers of the EndpointSlice controller")
    parser.add_argument("--max-endpoints-per-slice", type=int, default=100,
                        help="the most endpoints one EndpointSlice holds (1-1000)")
    parser.add_argument("--mirroring-concurrent-service-endpoint-syncs", type=int, default=5,
                        help="workers of the EndpointSlice mirroring controller")
    parser.add_argument("--mirroring-max-endpoints-per-subset", type=int, default=1000,
                        help="the most addresses of one Endpoints subset that are mirrored (1-1000)")
    parser.add_argument("--concurrent-daemonset-syncs", type=int, default=2)
    parser.add_argument("--concurrent-gc-syncs", type=int, default=20)
    parser.add_argument("--concurrent-namespace-syncs", type=int, default=10)
    parser.add_argument("--concurrent-statefulset-syncs", type=int, default=5)
    parser.add_argument("--concurrent-job-syncs", type=int, default=5)
    parser.add_argument("--concurrent-ttl-after-finished-syncs", type=int, default=5)
    parser.add_argument("--concurrent-cron-job-syncs", type=int, default=5)
    parser.add_argument("--node-monitor-period", type=duration, default=5.0)
    parser.add_argument("--node-monitor-grace-period", type=duration, default=40.0)
    parser.add_argument("--pod-eviction-timeout", type=duration, default=None,
                        help="default tolerationSeconds for not-ready/unreachable taints")
    parser.add_argument("--allocate-node-cidrs", type=boolean, default=False, nargs="?", const=True,
                        help="give every Node a spec.podCIDR out of --cluster-cidr (node IPAM)")
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16", help="the pod network of the cluster")
    parser.add_argument("--node-cidr-mask-size", type=int, default=24, help="the size of each node's pod CIDR")
    parser.add_argument("--enable-hostpath-provisioner", type=boolean, default=False, nargs="?", const=True,
                        help="provision claims of provisioner tinykube.io/local-path as node-local directories")
    parser.add_argument("--pvclaimbinder-sync-period", type=duration, default=15.0,
                        help="how often the volume binder resyncs every claim and volume")
    parser.add_argument("--root-ca-file", default="",
                        help="the CA published as kube-root-ca.crt in every namespace (default: "
                        "the CA of --kubeconfig)")
    parser.add_argument("--concurrent-horizontal-pod-autoscaler-syncs", type=int, default=5)
    parser.add_argument("--horizontal-pod-autoscaler-sync-period", type=duration, default=15.0,
                        help="how often each HorizontalPodAutoscaler is evaluated")
    parser.add_argument("--horizontal-pod-autoscaler-tolerance", type=float, default=0.1,
                        help="the usage ratio's distance from 1.0 below which nothing is scaled")
    parser.add_argument("--horizontal-pod-autoscaler-downscale-stabilization", type=duration, default=300.0,
                        help="the window whose highest recommendation a scale-down may not go below")
    parser.add_argument("--horizontal-pod-autoscaler-cpu-initialization-period", type=duration, default=300.0,
                        help="after a pod starts, cpu samples count only once it is ready")
    parser.add_argument("--horizontal-pod-autoscaler-initial-readiness-delay", type=duration, default=30.0,
                        help="after a pod starts, readiness changes count as its initial readiness")
    parser.add_argument("--cluster-signing-cert-file", default="",
                        help="the CA certificate csrsigning issues certificates with (PEM)")
    parser.add_argument("--cluster-signing-key-file", default="", help="that CA's private key (PEM)")
    parser.add_argument("--cluster-signing-duration", type=duration, default=365 * 24 * 3600.0,
                        help="the longest validity of an issued certificate")
    args = parser.parse_args(argv)
    for flag in ("max_endpoints_per_slice", "mirroring_max_endpoints_per_subset"):
        if not 1 <= getattr(args, flag) <= 1000:
            parser.error(f"argument --{flag.replace('_', '-')}: must be between 1 and 1000")
    try:
        args.controller_names = select_controllers(args.controllers.split(","), CONTROLLERS)
    except ValueError as err:
        parser.error(f"argument --controllers: {err}")
    return args


def controller_options(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag a controller may read, snake_case; durations get a `_seconds` suffix."""
    options: dict[str, Any] = {
        "concurrent_replicaset_syncs": args.concurrent_replicaset_syncs,
        "concurrent_rc_syncs": args.concurrent_rc_syncs,
        "concurrent_deployment_syncs": args.concurrent_deployment_syncs,
        "concurrent_endpoint_syncs": args.concurrent_endpoint_syncs,
        "concurrent_service_endpoint_syncs": args.concurrent_service_endpoint_syncs,
        "max_endpoints_per_slice": args.max_endpoints_per_slice,
        "mirroring_concurrent_service_endpoint_syncs": args.mirroring_concurrent_service_endpoint_syncs,
        "mirroring_max_endpoints_per_subset": args.mirroring_max_endpoints_per_subset,
        "concurrent_daemonset_syncs": args.concurrent_daemonset_syncs,
        "concurrent_gc_syncs": args.concurrent_gc_syncs,
        "concurrent_namespace_syncs": args.concurrent_namespace_syncs,
        "concurrent_statefulset_syncs": args.concurrent_statefulset_syncs,
        "concurrent_job_syncs": args.concurrent_job_syncs,
        "concurrent_ttl_after_finished_syncs": args.concurrent_ttl_after_finished_syncs,
        "concurrent_cron_job_syncs": args.concurrent_cron_job_syncs,
        "node_monitor_period_seconds": args.node_monitor_period,
        "node_monitor_grace_period_seconds": args.node_monitor_grace_period,
        "allocate_node_cidrs": args.allocate_node_cidrs,
        "cluster_cidr": args.cluster_cidr,
        "node_cidr_mask_size": args.node_cidr_mask_size,
        "enable_hostpath_provisioner": args.enable_hostpath_provisioner,
        "pvclaimbinder_sync_period_seconds": args.pvclaimbinder_sync_period,
        "concurrent_horizontal_pod_autoscaler_syncs": args.concurrent_horizontal_pod_autoscaler_syncs,
        "horizontal_pod_autoscaler_sync_period_seconds": args.horizontal_pod_autoscaler_sync_period,
        "horizontal_pod_autoscaler_tolerance": args.horizontal_pod_autoscaler_tolerance,
        "horizontal_pod_autoscaler_downscale_stabilization_seconds":
            args.horizontal_pod_autoscaler_downscale_stabilization,
        "horizontal_pod_autoscaler_cpu_initialization_period_seconds":
            args.horizontal_pod_autoscaler_cpu_initialization_period,
        "horizontal_pod_autoscaler_initial_readiness_delay_seconds":
            args.horizontal_pod_autoscaler_initial_readiness_delay,
        "root_ca_file": args.root_ca_file,
    }
    options.update(cluster_signing_cert_file=args.cluster_signing_cert_file,
                   cluster_signing_key_file=args.cluster_signing_key_file,
                   cluster_signing_duration_seconds=args.cluster_signing_duration)
    if args.pod_eviction_timeout is not None:
        options["pod_eviction_timeout_seconds"] = args.pod_eviction_timeout
    return options


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names: list[str] = args.controller_names
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"

    async def run(stopping: asyncio.Event) -> int:
        log.info("starting controller-manager controllers=%s leader_elect=%s", ",".join(names), args.leader_elect)
        async with RESTClient(client_config_from_flags(args, "tinykube-controller-manager")) as client:
            try:
                await run_manager(
                    client, names, controller_options(args), leader_elect=args.leader_elect, identity=identity,
                    lease_duration_seconds=args.leader_elect_lease_duration,
                    renew_deadline_seconds=args.leader_elect_renew_deadline,
                    retry_period_seconds=args.leader_elect_retry_period,
                    lease_namespace=args.leader_elect_resource_namespace,
                    lease_name=args.leader_elect_resource_name, host=socket.gethostname())
            except LeadershipLost as err:
                log.error("%s: exiting so a supervisor restarts us", err)
                return 1
        return 1  # the controllers returned on their own: not expected

    return run_until_signalled(run, verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
