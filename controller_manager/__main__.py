"""`python -m controller_manager`: run the controller-manager.

Flags use kube-controller-manager's names; durations accept Go syntax ("15s",
"1m30s", "500ms") or plain seconds.

    python -m controller_manager --kubeconfig kubeconfig --leader-elect=true \
        --controllers='*,-garbagecollector' --concurrent-deployment-syncs 5

Exit codes: 0 after SIGTERM/SIGINT (the lease is released), 1 when leadership was
lost or a controller failed, 2 for bad flags.

Kubernetes counterpart: cmd/kube-controller-manager/controller-manager.go
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import socket
import sys
import uuid
from typing import Any

from controller_manager.manager import CONTROLLERS, LEASE_NAME, LEASE_NAMESPACE, LeadershipLost, run_manager, select_controllers
from tinykube.client import ClientConfig, RESTClient, load_kubeconfig

log = logging.getLogger("controller_manager")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """"15s" → 15.0, "1m30s" → 90.0, "500ms" → 0.5, "7" → 7.0 (time.ParseDuration)."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m controller_manager", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", default="", help="kubeconfig with the API server and token")
    parser.add_argument("--master", default="", help="API server URL; overrides the kubeconfig's server "
                                                     "(alone: plain HTTP, anonymous)")
    parser.add_argument("--controllers", default="*",
                        help=f"comma-separated; '*' all, 'foo' on, '-foo' off. Known: {', '.join(CONTROLLERS)}")
    parser.add_argument("--leader-elect", type=boolean, default=True, nargs="?", const=True)
    parser.add_argument("--leader-elect-lease-duration", type=duration_seconds, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=duration_seconds, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=duration_seconds, default=2.0)
    parser.add_argument("--leader-elect-resource-namespace", default=LEASE_NAMESPACE)
    parser.add_argument("--leader-elect-resource-name", default=LEASE_NAME)
    parser.add_argument("--concurrent-replicaset-syncs", type=int, default=5)
    parser.add_argument("--concurrent-deployment-syncs", type=int, default=5)
    parser.add_argument("--concurrent-endpoint-syncs", type=int, default=5)
    parser.add_argument("--concurrent-gc-syncs", type=int, default=20)
    parser.add_argument("--concurrent-namespace-syncs", type=int, default=10)
    parser.add_argument("--node-monitor-period", type=duration_seconds, default=5.0)
    parser.add_argument("--node-monitor-grace-period", type=duration_seconds, default=40.0)
    parser.add_argument("--pod-eviction-timeout", type=duration_seconds, default=None,
                        help="default tolerationSeconds for not-ready/unreachable taints")
    parser.add_argument("--allocate-node-cidrs", type=boolean, default=False, nargs="?", const=True,
                        help="give every Node a spec.podCIDR out of --cluster-cidr (node IPAM)")
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16", help="the pod network of the cluster")
    parser.add_argument("--node-cidr-mask-size", type=int, default=24, help="the size of each node's pod CIDR")
    parser.add_argument("-v", "--v", type=int, default=0, help="log verbosity (>= 4: debug)")
    return parser.parse_args(argv)


def controller_options(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag a controller may read, snake_case; durations get a `_seconds` suffix."""
    options: dict[str, Any] = {
        "concurrent_replicaset_syncs": args.concurrent_replicaset_syncs,
        "concurrent_deployment_syncs": args.concurrent_deployment_syncs,
        "concurrent_endpoint_syncs": args.concurrent_endpoint_syncs,
        "concurrent_gc_syncs": args.concurrent_gc_syncs,
        "concurrent_namespace_syncs": args.concurrent_namespace_syncs,
        "node_monitor_period_seconds": args.node_monitor_period,
        "node_monitor_grace_period_seconds": args.node_monitor_grace_period,
        "allocate_node_cidrs": args.allocate_node_cidrs,
        "cluster_cidr": args.cluster_cidr,
        "node_cidr_mask_size": args.node_cidr_mask_size,
    }
    if args.pod_eviction_timeout is not None:
        options["pod_eviction_timeout_seconds"] = args.pod_eviction_timeout
    return options


def client_config(args: argparse.Namespace) -> ClientConfig:
    if args.kubeconfig:
        config = load_kubeconfig(args.kubeconfig)
        if args.master:
            config.server = args.master.rstrip("/")
    elif args.master:
        config = ClientConfig(server=args.master.rstrip("/"))
    else:
        config = load_kubeconfig()  # $KUBECONFIG or ~/.kube/config
    config.user_agent = "tinykube-controller-manager"
    return config


async def main_async(args: argparse.Namespace, names: list[str]) -> int:
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    async with RESTClient(client_config(args)) as client:
        try:
            await run_manager(
                client, names, controller_options(args), leader_elect=args.leader_elect, identity=identity,
                lease_duration_seconds=args.leader_elect_lease_duration,
                renew_deadline_seconds=args.leader_elect_renew_deadline,
                retry_period_seconds=args.leader_elect_retry_period,
                lease_namespace=args.leader_elect_resource_namespace,
                lease_name=args.leader_elect_resource_name, host=socket.gethostname())
        except asyncio.CancelledError:
            log.info("shutting down")
            return 0
        except LeadershipLost as err:
            log.error("%s: exiting so a supervisor restarts us", err)
            return 1
    return 1  # the controllers returned on their own: not expected


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.v >= 4 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        names = select_controllers(args.controllers.split(","), CONTROLLERS)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    log.info("starting controller-manager controllers=%s leader_elect=%s", ",".join(names), args.leader_elect)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main_async(args, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
