"""The controller-manager process: many controllers, one client, one set of informers.

It builds one `RESTClient` (from `--kubeconfig`, or `--master` for plain HTTP), one
`SharedInformerFactory` and one `EventRecorder` (component "controller-manager"),
constructs the controllers chosen by `--controllers`, starts the informers, waits
until every cache has synced, then runs each controller's workers.

With `--leader-elect=true` (the default) all of that happens only while this process
holds the Lease `kube-system/kube-controller-manager`, so two managers can run with
one active. Losing the lease ends the process with exit code 1, as Kubernetes does: a
supervisor restarts it as a fresh candidate, and no half-stopped controller keeps
writing. SIGTERM/SIGINT stop cleanly and release the lease, so a standby takes over
at once.

The controller contract (every controller, whoever writes it):
- a class with a class attribute `name: str` (the `--controllers` name);
- `__init__(self, client: RESTClient, factory: SharedInformerFactory,
  recorder: EventRecorder, *, clock: Clock = REAL_CLOCK, **options)`: asks the
  factory for its informers and registers event handlers (no API calls); `options`
  holds every flag as a snake_case keyword (`node_monitor_grace_period_seconds`,
  `concurrent_gc_syncs`, ...): take what you need, ignore the rest;
- `async def run(self, workers: int) -> None`: runs until cancelled; called once
  the caches have synced. `workers` comes from its `--concurrent-*-syncs` flag.
To add a controller, import its class below and add one line to `CONTROLLERS`
(and, if it has one, its concurrency flag to `WORKERS_OPTION`).

Kubernetes counterpart: cmd/kube-controller-manager/app/controllermanager.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from controller_manager.clusterroleaggregation import ClusterRoleAggregationController
from controller_manager.certificates import CSRApprovingController, CSRSigningController
from controller_manager.cronjob import CronJobController
from controller_manager.daemon import DaemonSetsController
from controller_manager.deployment import DeploymentController
from controller_manager.disruption import DisruptionController
from controller_manager.endpoints import EndpointsController
from controller_manager.endpointslice import EndpointSliceController, EndpointSliceMirroringController
from controller_manager.garbagecollector import GarbageCollector
from controller_manager.job import JobController
from controller_manager.namespace import NamespaceController
from controller_manager.nodeipam import NodeIpamController
from controller_manager.nodelifecycle import NodeLifecycleController
from controller_manager.podautoscaler import HorizontalController
from controller_manager.replicaset import ReplicaSetController
from controller_manager.replication import ReplicationManager
from controller_manager.serviceaccount import RootCACertPublisher, ServiceAccountsController
from controller_manager.statefulset import StatefulSetController
from controller_manager.ttlafterfinished import TTLAfterFinishedController
from controller_manager.volume.persistentvolume import PersistentVolumeController
from tinykube.client import (
    REAL_CLOCK,
    Clock,
    EventRecorder,
    LeaderElector,
    RESTClient,
    SharedInformerFactory,
)

log = logging.getLogger(__name__)


class Controller(Protocol):
    name: str

    async def run(self, workers: int) -> None: ...


CONTROLLERS: dict[str, type[Any]] = {
    ReplicaSetController.name: ReplicaSetController,
    ReplicationManager.name: ReplicationManager,
    DeploymentController.name: DeploymentController,
    GarbageCollector.name: GarbageCollector,
    NamespaceController.name: NamespaceController,
    NodeLifecycleController.name: NodeLifecycleController,
    EndpointsController.name: EndpointsController,
    EndpointSliceController.name: EndpointSliceController,
    EndpointSliceMirroringController.name: EndpointSliceMirroringController,
    NodeIpamController.name: NodeIpamController,
    DaemonSetsController.name: DaemonSetsController,
    DisruptionController.name: DisruptionController,
    StatefulSetController.name: StatefulSetController,
    JobController.name: JobController,
    TTLAfterFinishedController.name: TTLAfterFinishedController,
    CronJobController.name: CronJobController,
    PersistentVolumeController.name: PersistentVolumeController,
    HorizontalController.name: HorizontalController,
    ServiceAccountsController.name: ServiceAccountsController,
    RootCACertPublisher.name: RootCACertPublisher,
    ClusterRoleAggregationController.name: ClusterRoleAggregationController,
    CSRApprovingController.name: CSRApprovingController,
    CSRSigningController.name: CSRSigningController,
}

# Which option sets a controller's worker count; controllers not listed get DEFAULT_WORKERS.
WORKERS_OPTION: dict[str, str] = {
    "replicaset": "concurrent_replicaset_syncs",
    "replicationcontroller": "concurrent_rc_syncs",
    "deployment": "concurrent_deployment_syncs",
    "garbagecollector": "concurrent_gc_syncs",
    "namespace": "concurrent_namespace_syncs",
    "endpoint": "concurrent_endpoint_syncs",
    "endpointslice": "concurrent_service_endpoint_syncs",
    "endpointslicemirroring": "mirroring_concurrent_service_endpoint_syncs",
    "daemonset": "concurrent_daemonset_syncs",
    "statefulset": "concurrent_statefulset_syncs",
    "job": "concurrent_job_syncs",
    "ttl-after-finished": "concurrent_ttl_after_finished_syncs",
    "cronjob": "concurrent_cron_job_syncs",
    "horizontalpodautoscaling": "concurrent_horizontal_pod_autoscaler_syncs",
}
DEFAULT_WORKERS = 5

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "kube-controller-manager"
CACHE_SYNC_TIMEOUT_SECONDS = 120.0


class LeadershipLost(Exception):
    """Raised when the lease is lost; the process must exit non-zero."""


def select_controllers(spec: Iterable[str], known: Iterable[str]) -> list[str]:
    """kube-controller-manager's --controllers: `*` is all, `foo` enables, `-foo` disables.

    A name disabled explicitly wins over `*`; an unknown name is an error.
    """
    known_names = list(known)
    items = [item.strip() for item in spec if item.strip()]
    for item in items:
        name = item.removeprefix("-")
        if name != "*" and name not in known_names:
            raise ValueError(f"unknown controller {name!r}; known: {', '.join(sorted(known_names))}")
    disabled = {item[1:] for item in items if item.startswith("-")}
    enabled = {item for item in items if not item.startswith("-") and item != "*"}
    star = "*" in items
    return [name for name in known_names if name not in disabled and (star or name in enabled)]


def build_controllers(names: list[str], client: RESTClient, factory: SharedInformerFactory,
                      recorder: EventRecorder, clock: Clock, options: dict[str, Any]) -> list[Any]:
    return [CONTROLLERS[name](client, factory, recorder, clock=clock, **options) for name in names]


async def run_controllers(names: list[str], client: RESTClient, recorder: EventRecorder,
                          options: dict[str, Any], clock: Clock = REAL_CLOCK) -> None:
    """Construct, start informers, wait for sync, run all controllers until cancelled."""
    factory = SharedInformerFactory(client, clock=clock, typed=True)  # handlers get models
    controllers = build_controllers(names, client, factory, recorder, clock, options)
    factory.start()
    try:
        if not await factory.wait_for_cache_sync(CACHE_SYNC_TIMEOUT_SECONDS):
            raise RuntimeError("timed out waiting for caches to sync")
        log.info("caches synced controllers=%s", ",".join(names))
        async with asyncio.TaskGroup() as group:
            for controller in controllers:
                workers = int(options.get(WORKERS_OPTION.get(controller.name, ""), DEFAULT_WORKERS))
                group.create_task(controller.run(workers), name=f"controller {controller.name}")
    finally:
        await factory.stop()


async def run_manager(client: RESTClient, names: list[str], options: dict[str, Any], *,
                      leader_elect: bool, identity: str, lease_duration_seconds: float = 15.0,
                      renew_deadline_seconds: float = 10.0, retry_period_seconds: float = 2.0,
                      lease_namespace: str = LEASE_NAMESPACE, lease_name: str = LEASE_NAME,
                      host: str | None = None) -> None:
    """Run until cancelled; raises `LeadershipLost` if the lease is lost."""
    recorder = EventRecorder(client, "controller-manager", host)
    try:
        if not leader_elect:
            await run_controllers(names, client, recorder, options)
            return
        elector = LeaderElector(
            client, lease_namespace, lease_name, identity,
            lease_duration_seconds=lease_duration_seconds, renew_deadline_seconds=renew_deadline_seconds,
            retry_period_seconds=retry_period_seconds,
            on_new_leader=lambda leader: log.info("new leader observed leader=%s", leader))
        log.info("attempting to acquire leader lease lease=%s/%s identity=%s",
                 lease_namespace, lease_name, identity)
        await elector.run(lambda: run_controllers(names, client, recorder, options))
        # run() returns only when leading ended without our cancel: the lease is lost
        # (or a controller crashed). Either way this process must not go on.
        raise LeadershipLost(f"leaderelection lost identity={identity}")
    finally:
        await asyncio.shield(recorder.shut_down())
