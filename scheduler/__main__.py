"""`python -m scheduler`: the kube-scheduler process.

Builds a client from `--kubeconfig` (or `--master`), starts the pod and node
informers, waits for their caches, and schedules while it holds the
kube-system/kube-scheduler Lease (`--leader-elect`, on by default, as upstream).
Losing the lease exits with status 1, so a supervisor restarts a process that
rejoins as a candidate; SIGTERM/SIGINT release the lease and exit 0.

Flags use kube-scheduler's names; `--scheduler-name`, `--pod-initial-backoff-seconds`
and `--pod-max-backoff-seconds` stand in for the KubeSchedulerConfiguration fields
of the same names.

Kubernetes counterpart: cmd/kube-scheduler/app/server.go, cmd/kube-scheduler/app/options
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import uuid

from scheduler.plugins import default_profile
from scheduler.queue import SchedulingQueue
from scheduler.scheduler import NODES, NON_TERMINAL_PODS, PODS, Scheduler
from tinykube.client import (
    ClientConfig,
    EventRecorder,
    LeaderElector,
    RESTClient,
    SharedInformer,
    load_kubeconfig,
)

log = logging.getLogger("scheduler")


def parse_bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def parse_duration(text: str) -> float:
    """Go-style durations as kube flags take them: "15s", "1m30s", "500ms", or seconds."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    total, number = 0.0, ""
    rest = text.strip()
    try:
        return float(rest)
    except ValueError:
        pass
    i = 0
    while i < len(rest):
        if rest[i].isdigit() or rest[i] == ".":
            number += rest[i]
            i += 1
            continue
        unit = "ms" if rest.startswith("ms", i) else rest[i]
        if unit not in units or not number:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    if number:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: missing unit")
    return total


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--master", default=None, help="API server URL; overrides the kubeconfig's server")
    parser.add_argument("--leader-elect", type=parse_bool, nargs="?", const=True, default=True)
    parser.add_argument("--leader-elect-lease-duration", type=parse_duration, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=parse_duration, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=parse_duration, default=2.0)
    parser.add_argument("--leader-elect-resource-name", default="kube-scheduler")
    parser.add_argument("--leader-elect-resource-namespace", default="kube-system")
    parser.add_argument("--scheduler-name", default="default-scheduler")
    parser.add_argument("--pod-initial-backoff-seconds", type=float, default=1.0)
    parser.add_argument("--pod-max-backoff-seconds", type=float, default=10.0)
    parser.add_argument("-v", "--v", type=int, default=2, help="log verbosity (>=4: debug)")
    return parser


def client_config(args: argparse.Namespace) -> ClientConfig:
    if args.kubeconfig is None and args.master:
        return ClientConfig(server=args.master.rstrip("/"), user_agent="tinykube-scheduler")
    config = load_kubeconfig(args.kubeconfig)
    if args.master:
        config.server = args.master.rstrip("/")
    config.user_agent = "tinykube-scheduler"
    return config


async def run(args: argparse.Namespace) -> int:
    client = RESTClient(client_config(args))
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    recorder = EventRecorder(client, "default-scheduler", identity)  # type: ignore[arg-type]
    queue = SchedulingQueue(initial_backoff_seconds=args.pod_initial_backoff_seconds,
                            max_backoff_seconds=args.pod_max_backoff_seconds)
    sched = Scheduler(client, recorder, profile=default_profile(args.scheduler_name),  # type: ignore[arg-type]
                      queue=queue)
    pods = SharedInformer(client, PODS, field_selector=NON_TERMINAL_PODS, indexers={})
    nodes = SharedInformer(client, NODES, indexers={})
    sched.add_event_handlers(pods, nodes)

    async def lead() -> None:
        pods.start()
        nodes.start()
        await pods.wait_for_cache_sync()
        await nodes.wait_for_cache_sync()
        log.info("caches synced pods=%d nodes=%d", len(pods.indexer), len(nodes.indexer))
        await sched.run()

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: (stopping.set(), main.cancel() if main else None))
    try:
        if not args.leader_elect:
            await lead()
            return 0
        elector = LeaderElector(client, args.leader_elect_resource_namespace, args.leader_elect_resource_name,
                                identity, lease_duration_seconds=args.leader_elect_lease_duration,
                                renew_deadline_seconds=args.leader_elect_renew_deadline,
                                retry_period_seconds=args.leader_elect_retry_period)
        await elector.run(lead)
        if not stopping.is_set():
            log.error("leaderelection lost identity=%s", identity)
            return 1
        return 0
    except asyncio.CancelledError:
        if stopping.is_set():
            return 0
        raise
    finally:
        await asyncio.shield(_shut_down(pods, nodes, recorder, client))


async def _shut_down(pods: SharedInformer, nodes: SharedInformer, recorder: EventRecorder,
                     client: RESTClient) -> None:
    await pods.stop()
    await nodes.stop()
    try:
        await asyncio.wait_for(recorder.shut_down(), 2.0)
    except TimeoutError:
        pass
    await client.aclose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.v >= 4 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.info("starting scheduler pid=%d leader_elect=%s", os.getpid(), args.leader_elect)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
