"""The DaemonSet controller: one daemon pod on every node that should run one.

`sync_daemon_set(key)` is level-triggered. It claims the DaemonSet's pods and
ControllerRevisions (adopting orphans, releasing what no longer matches), finds or
creates the current revision, then:
1. manage: on each node `node_should_run_daemon_pod` decides; a node that should run
   a pod and has none gets one, a node that should not keep one loses it, a failed
   pod is deleted (with per-node backoff) and recreated on a later sync, extra pods
   are deleted (the oldest stays);
2. once expectations are met, RollingUpdate replaces old pods (`rolling_update_plan`);
   OnDelete leaves that to the user;
3. old revisions beyond revisionHistoryLimit are deleted; status is written.

Event handlers only enqueue: DaemonSet events their key, pod and revision events
their controller (or, for orphans, every DaemonSet whose selector matches), node
events every DaemonSet, since any of them may gain or lose that node.

Invariants:
- Expectations (creates, and deletes by pod key) gate manage and rollingUpdate, so
  cache lag never creates two pods for one node.
- New pods carry a `metadata.name` node affinity, not spec.nodeName: the scheduler
  binds them. Unscheduled pods for a node that is gone are deleted here; bound pods
  of a gone node are the pod GC's business.

Kubernetes counterpart: pkg/controller/daemon/daemon_controller.go
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from controller_manager.controller_utils import (
    BURST_REPLICAS, SLOW_START_INITIAL_BATCH_SIZE, Controller, UIDTrackingExpectations, as_selector,
    claim_objects, create_controlled_pod, delete_controlled_pod, get_pod_from_template, recheck_owner,
    resolve_controller_ref, slow_start_batch,
)
from controller_manager.daemon import history
from controller_manager.daemon.backoff import Backoff
from controller_manager.daemon.status import calculate_status
from controller_manager.daemon.update import allows_surge, is_rolling_update, rolling_update_plan
from controller_manager.daemon.util import (
    CONTROLLER_REVISION_HASH_LABEL, create_pod_template, get_target_node_name, node_should_run_daemon_pod,
    replace_daemon_set_pod_node_name_node_affinity, template_generation,
)
from tinykube.api.apps import ControllerRevision, DaemonSet, DaemonSetStatus
from tinykube.api.core import Node, Pod, PodPhase, PodSpec, PodTemplateSpec, pod_is_ready
from tinykube.api.meta import get_controller_of, new_controller_ref, split_meta_namespace_key
from tinykube.api.registry import deep_copy
from tinykube.api.resources import CONTROLLER_REVISIONS, DAEMON_SETS, NODES, PODS, ResourceInfo
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, Clock, Conflict, ControllerExpectations, EventRecorder, RESTClient,
    SharedInformer, SharedInformerFactory, meta_namespace_key,
)

log = logging.getLogger(__name__)

FAILED_DAEMON_POD = "FailedDaemonPod"
KIND = "DaemonSet"


class DaemonSetsController(Controller):
    """Guarantees:
    - at most `BURST_REPLICAS` creates and deletes per sync, creates in slow-start batches;
    - status is written only when it changed, and always carries observedGeneration.
    """

    name = "daemonset"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, burst_replicas: int = BURST_REPLICAS, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_daemon_set, clock=clock)
        self.burst_replicas = burst_replicas
        self.expectations = UIDTrackingExpectations(ControllerExpectations(clock))
        self.failed_pods_backoff = Backoff(clock, initial_seconds=1.0, max_seconds=15 * 60.0)
        self.ds_informer = factory.informer_for(DAEMON_SETS)
        self.pod_informer = factory.informer_for(PODS)
        self.node_informer = factory.informer_for(NODES)
        self.history_informer = factory.informer_for(CONTROLLER_REVISIONS)
        self.ds_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.delete_ds)
        self.pod_informer.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)
        self.node_informer.add_event_handler(self.node_changed, self.update_node, self.node_changed)
        self.history_informer.add_event_handler(self.history_changed, lambda old, cur: self.history_changed(cur),
                                                self.history_changed)

    # --- event handlers: only turn events into keys ------------------------------------

    def delete_ds(self, ds: DaemonSet) -> None:
        key = meta_namespace_key(ds)
        self.expectations.delete_expectations(key)
        self.queue.add(key)

    def resolve_controller_ref(self, obj: Pod | ControllerRevision) -> DaemonSet | None:
        ds: DaemonSet | None = resolve_controller_ref(self.ds_informer.indexer, obj, KIND)
        return ds

    def enqueue_matching(self, obj: Pod | ControllerRevision) -> None:
        """An orphan: every DaemonSet whose selector matches may adopt it."""
        labels = obj.metadata.labels or {}
        for ds in self.ds_informer.indexer.by_index(NAMESPACE_INDEX, obj.metadata.namespace or ""):
            if as_selector(ds.spec.selector if ds.spec else None).matches(labels):
                self.enqueue(ds)

    def add_pod(self, pod: Pod) -> None:
        if pod.metadata.deletion_timestamp is not None:
            self.delete_pod(pod)  # restarted informer: a pod already being deleted
            return
        if get_controller_of(pod) is None:
            self.enqueue_matching(pod)
            return
        ds = self.resolve_controller_ref(pod)
        if ds is not None:
            key = meta_namespace_key(ds)
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def update_pod(self, old: Pod, cur: Pod) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: nothing changed
        if cur.metadata.deletion_timestamp is not None:
            self.delete_pod(cur)  # graceful deletion started: count it deleted now
            return
        old_ds, cur_ds = self.resolve_controller_ref(old), self.resolve_controller_ref(cur)
        if old_ds is not None and (cur_ds is None or old_ds.metadata.uid != cur_ds.metadata.uid):
            self.enqueue(old_ds)
        if cur_ds is not None:
            self.enqueue(cur_ds)
            min_ready = (cur_ds.spec.min_ready_seconds or 0) if cur_ds.spec else 0
            if min_ready > 0 and _ready_changed(old, cur):
                self.queue.add_after(meta_namespace_key(cur_ds), min_ready + 1)
        elif get_controller_of(cur) is None and old.metadata.labels != cur.metadata.labels:
            self.enqueue_matching(cur)

    def delete_pod(self, pod: Pod) -> None:
        ds = self.resolve_controller_ref(pod)
        if ds is None:
            return
        key = meta_namespace_key(ds)
        self.expectations.deletion_observed(key, meta_namespace_key(pod))
        self.queue.add(key)

    def node_changed(self, node: Node) -> None:
        for ds in self.ds_informer.indexer.list():
            self.enqueue(ds)

    def update_node(self, old: Node, cur: Node) -> None:
        """Only what placement reads matters: labels, taints, the unschedulable flag."""
        if (old.metadata.labels != cur.metadata.labels
                or (old.spec.to_dict() if old.spec else None) != (cur.spec.to_dict() if cur.spec else None)):
            self.node_changed(cur)

    def history_changed(self, revision: ControllerRevision) -> None:
        ds = self.resolve_controller_ref(revision)
        if ds is not None:
            self.enqueue(ds)
        elif get_controller_of(revision) is None:
            self.enqueue_matching(revision)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_daemon_set(self, key: str) -> None:
        namespace, _ = split_meta_namespace_key(key)
        ds: DaemonSet | None = self.ds_informer.indexer.get(key)
        if ds is None:
            log.debug("daemonset deleted key=%s", key)
            self.expectations.delete_expectations(key)
            return
        self.failed_pods_backoff.gc()
        if ds.metadata.deletion_timestamp is not None:
            return  # the garbage collector removes its pods
        nodes: list[Node] = sorted(self.node_informer.indexer.list(), key=lambda n: n.metadata.name or "")
        pods: list[Pod] = await self.claim(PODS, self.pod_informer, ds, namespace)
        revisions: list[ControllerRevision] = await self.claim(CONTROLLER_REVISIONS, self.history_informer, ds,
                                                               namespace)
        cur, old = await history.construct_history(self.client, ds, revisions, pods)
        hash_ = history.revision_hash(cur)
        update_error: Exception | None = None
        if self.expectations.satisfied_expectations(key):
            try:
                await self.manage(ds, key, nodes, pods, hash_)
                if self.expectations.satisfied_expectations(key) and is_rolling_update(ds):
                    await self.rolling_update(ds, key, nodes, pods, hash_)
                await history.cleanup_history(self.client, ds, old, pods)
            except Exception as err:  # status is written all the same, then the key is retried
                update_error = err
        await self.update_daemon_set_status(ds, key, nodes, pods, hash_)
        if update_error is not None:
            raise update_error

    async def claim(self, info: ResourceInfo, informer: SharedInformer, ds: DaemonSet, namespace: str) -> list[Any]:
        """The pods or revisions `ds` controls, after adopting and releasing."""
        candidates = [o for o in informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                      if _maybe_ours(o, ds.metadata.uid or "")]
        return await claim_objects(self.client, info, ds, new_controller_ref(ds),
                                   as_selector(ds.spec.selector if ds.spec else None), candidates,
                                   recheck_owner(self.client, DAEMON_SETS, ds))

    async def manage(self, ds: DaemonSet, key: str, nodes: list[Node], pods: list[Pod], hash_: str) -> None:
        """Create pods where they are missing, delete them where they must not run."""
        node_to_pods = nodes_to_daemon_pods(pods)
        nodes_needing: list[str] = []
        to_delete: list[Pod] = []
        for node in nodes:
            needed, deletions = self.pods_should_be_on_node(
                ds, key, node, node_to_pods.get(node.metadata.name or "", []), hash_)
            nodes_needing += needed
            to_delete += deletions
        known = {node.metadata.name for node in nodes}
        for node_name, node_pods in node_to_pods.items():
            if node_name not in known:  # pinned to a node that is gone, never bound: nobody else cleans it
                to_delete += [p for p in node_pods if not (p.spec and p.spec.node_name)
                              and p.metadata.deletion_timestamp is None]
        await self.sync_nodes(ds, key, to_delete, nodes_needing, hash_)

    def pods_should_be_on_node(self, ds: DaemonSet, key: str, node: Node, pods: list[Pod],
                               hash_: str) -> tuple[list[str], list[Pod]]:
        should_run, should_continue_running = node_should_run_daemon_pod(node, ds)
        node_name = node.metadata.name or ""
        if should_run and not pods:
            return [node_name], []
        if not should_continue_running:
            return [], [p for p in pods if p.metadata.deletion_timestamp is None]
        to_delete: list[Pod] = []
        running: list[Pod] = []
        for pod in pods:
            if pod.metadata.deletion_timestamp is not None:
                continue
            phase = pod.status.phase if pod.status else None
            if phase == PodPhase.FAILED:
                backoff_key = f"{key}/{node_name}"
                if self.failed_pods_backoff.is_in_back_off_since_update(backoff_key):
                    self.queue.add_after(key, self.failed_pods_backoff.get(backoff_key))
                    continue
                self.failed_pods_backoff.next(backoff_key)
                self.recorder.event(ds, "Warning", FAILED_DAEMON_POD, f"Found failed daemon pod "
                                    f"{pod.metadata.namespace}/{pod.metadata.name} on node {node_name}, "
                                    "will try to kill it")
                to_delete.append(pod)
            elif phase == PodPhase.SUCCEEDED:
                to_delete.append(pod)  # a daemon must not exit: replace it
            else:
                running.append(pod)
        if len(running) > 1:
            running.sort(key=_oldest_first)
            if not allows_surge(ds):
                to_delete += running[1:]
            else:  # mid-surge a node keeps its oldest old pod and its oldest updated pod
                kept: set[bool] = set()
                for pod in running:
                    updated = (pod.metadata.labels or {}).get(CONTROLLER_REVISION_HASH_LABEL) == hash_
                    if updated in kept:
                        to_delete.append(pod)
                    kept.add(updated)
        return [], to_delete

    async def rolling_update(self, ds: DaemonSet, key: str, nodes: list[Node], pods: list[Pod], hash_: str) -> None:
        should_run = {node.metadata.name or "" for node in nodes if node_should_run_daemon_pod(node, ds)[0]}
        plan = rolling_update_plan(ds, nodes_to_daemon_pods(pods), should_run, hash_, template_generation(ds),
                                   self.clock.wall())
        if plan.old_pods_to_delete or plan.nodes_to_create:
            log.info("rolling update daemonset=%s deleting=%d creating=%d", key, len(plan.old_pods_to_delete),
                     len(plan.nodes_to_create))
        await self.sync_nodes(ds, key, plan.old_pods_to_delete, plan.nodes_to_create, hash_)

    async def sync_nodes(self, ds: DaemonSet, key: str, to_delete: list[Pod], nodes_needing: list[str],
                         hash_: str) -> None:
        """Create a pod on each node in `nodes_needing`, delete each pod in `to_delete`."""
        nodes_needing = nodes_needing[:self.burst_replicas]
        to_delete = to_delete[:self.burst_replicas]
        if not nodes_needing and not to_delete:
            return
        self.expectations.set_expectations(key, len(nodes_needing), [meta_namespace_key(p) for p in to_delete])
        template = create_pod_template(ds, hash_)
        pending = iter(nodes_needing)

        async def create_one() -> None:
            await self.create_pod_on_node(ds, template, next(pending))

        creating = slow_start_batch(len(nodes_needing), SLOW_START_INITIAL_BATCH_SIZE, create_one)
        deleting = asyncio.gather(*(delete_controlled_pod(self.client, self.recorder, self.expectations, ds, key, p) for p in to_delete), return_exceptions=True)
        (successes, create_error), results = await asyncio.gather(creating, deleting)
        if successes < len(nodes_needing):
            self.expectations.lower_expectations(key, len(nodes_needing) - successes, 0)
        errors = [create_error] + [r for r in results if isinstance(r, Exception)]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    async def create_pod_on_node(self, ds: DaemonSet, template: PodTemplateSpec, node_name: str) -> None:
        node_template = deep_copy(template)
        node_spec = node_template.spec or PodSpec()
        node_spec.affinity = replace_daemon_set_pod_node_name_node_affinity(node_spec.affinity, node_name)
        node_template.spec = node_spec
        await create_controlled_pod(self.client, self.recorder, ds,
                                    get_pod_from_template(node_template, ds, new_controller_ref(ds)))

    async def update_daemon_set_status(self, ds: DaemonSet, key: str, nodes: list[Node], pods: list[Pod],
                                       hash_: str) -> None:
        now = self.clock.wall()
        status = calculate_status(ds, nodes, nodes_to_daemon_pods(pods, include_deleted_terminal=False),
                                  hash_, now)
        status.observed_generation = ds.metadata.generation
        if ds.status is None or ds.status.to_dict() != status.to_dict():
            await self.store_daemon_set_status(ds, status)
        min_ready = (ds.spec.min_ready_seconds or 0) if ds.spec else 0
        if min_ready > 0 and status.number_ready != status.number_available:
            self.queue.add_after(key, min_ready)

    async def store_daemon_set_status(self, ds: DaemonSet, status: DaemonSetStatus) -> None:
        updated = deep_copy(ds)
        for attempt in range(2):
            status.observed_generation = updated.metadata.generation
            status.collision_count = updated.status.collision_count if updated.status else None
            updated.status = status
            try:
                await self.client.update_status(DAEMON_SETS, updated)
                return
            except Conflict:
                if attempt:
                    raise
                updated = await self.client.get_object(DaemonSet, ds.metadata.name or "", ds.metadata.namespace)


def nodes_to_daemon_pods(pods: list[Pod], include_deleted_terminal: bool = True) -> dict[str, list[Pod]]:
    """Claimed pods by the node they are bound or pinned to (getNodesToDaemonPods)."""
    result: dict[str, list[Pod]] = {}
    for pod in pods:
        phase = pod.status.phase if pod.status else None
        if (not include_deleted_terminal and pod.metadata.deletion_timestamp is not None
                and phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)):
            continue
        node_name = get_target_node_name(pod)
        if node_name is None:
            log.warning("daemon pod has no target node pod=%s", meta_namespace_key(pod))
            continue
        result.setdefault(node_name, []).append(pod)
    return result


def _oldest_first(pod: Pod) -> tuple[str, str]:
    return pod.metadata.creation_timestamp or "", pod.metadata.name or ""


def _ready_changed(old: Pod, cur: Pod) -> bool:
    return pod_is_ready(old) != pod_is_ready(cur)


def _maybe_ours(obj: Pod | ControllerRevision, owner_uid: str) -> bool:
    """Owned by us, or by no controller at all."""
    ref = get_controller_of(obj)
    return ref is None or ref.uid == owner_uid
