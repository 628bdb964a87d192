"""`python -m scheduler`: the kube-scheduler process.

Builds a client from `--kubeconfig` (or `--master`), starts the typed pod and node
informers (and claim, volume and StorageClass informers for VolumeBinding), waits for their caches, and schedules while it holds the
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
import socket
import sys
import uuid

from scheduler.plugins import DEFAULT_SCHEDULER_NAME, default_profile
from scheduler.plugins.volume_binding import VolumeBinding
from scheduler.queue import SchedulingQueue
from scheduler.scheduler import NON_TERMINAL_PODS, Scheduler
from tinykube.api.resources import NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, STORAGE_CLASSES
from tinykube.client import EventRecorder, LeaderElector, RESTClient, SharedInformer
from tinykube.component import (
    add_client_flags,
    add_leader_election_flags,
    client_config_from_flags,
    component_parser,
    run_until_signalled,
)

log = logging.getLogger("scheduler")
USER_AGENT = "tinykube-scheduler"


def build_parser() -> argparse.ArgumentParser:
    parser = component_parser("python -m scheduler", __doc__)
    add_client_flags(parser)
    add_leader_election_flags(parser, resource_name="kube-scheduler")
    parser.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME)
    parser.add_argument("--pod-initial-backoff-seconds", type=float, default=1.0)
    parser.add_argument("--pod-max-backoff-seconds", type=float, default=10.0)
    return parser


async def run(args: argparse.Namespace, stopping: asyncio.Event) -> int:
    client = RESTClient(client_config_from_flags(args, USER_AGENT))
    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    recorder = EventRecorder(client, DEFAULT_SCHEDULER_NAME, identity)
    queue = SchedulingQueue(initial_backoff_seconds=args.pod_initial_backoff_seconds,
                            max_backoff_seconds=args.pod_max_backoff_seconds)
    storage = [SharedInformer(client, info, indexers={}, typed=True)
               for info in (PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, STORAGE_CLASSES)]
    volume_binding = VolumeBinding(client, *(informer.indexer for informer in storage))
    sched = Scheduler(client, recorder, queue=queue,
                      framework=default_profile(client, args.scheduler_name, volume_binding=volume_binding))
    pods = SharedInformer(client, PODS, field_selector=NON_TERMINAL_PODS, indexers={}, typed=True)
    nodes = SharedInformer(client, NODES, indexers={}, typed=True)
    sched.add_event_handlers(pods, nodes)
    for informer in storage:  # a claim, volume or class change may make waiting pods schedulable
        informer.add_event_handler(lambda obj: sched.storage_changed(volume_binding),
                                   lambda old, cur: sched.storage_changed(volume_binding),
                                   lambda obj: sched.storage_changed(volume_binding))

    async def lead() -> None:
        for informer in (pods, nodes, *storage):
            informer.start()
        for informer in (pods, nodes, *storage):
            await informer.wait_for_cache_sync()
        log.info("caches synced pods=%d nodes=%d", len(pods.indexer), len(nodes.indexer))
        await sched.run()

    try:
        if not args.leader_elect:
            await lead()
            return 0
        elector = LeaderElector(client, args.leader_elect_resource_namespace, args.leader_elect_resource_name,
                                identity, lease_duration_seconds=args.leader_elect_lease_duration,
                                renew_deadline_seconds=args.leader_elect_renew_deadline,
                                retry_period_seconds=args.leader_elect_retry_period)
        await elector.run(lead)
        if stopping.is_set():
            return 0
        log.error("leaderelection lost identity=%s", identity)
        return 1
    finally:
        await asyncio.shield(_shut_down([pods, nodes, *storage], recorder, client))


async def _shut_down(informers: list[SharedInformer], recorder: EventRecorder, client: RESTClient) -> None:
    for informer in informers:
        await informer.stop()
    try:
        await asyncio.wait_for(recorder.shut_down(), 2.0)
    except TimeoutError:
        pass
    await client.aclose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    async def scheduler_main(stopping: asyncio.Event) -> int:
        log.info("starting scheduler pid=%d leader_elect=%s", os.getpid(), args.leader_elect)
        return await run(args, stopping)

    return run_until_signalled(scheduler_main, verbosity=args.v)


if __name__ == "__main__":
    sys.exit(main())
