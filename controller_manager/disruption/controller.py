"""The disruption controller: keeps every PodDisruptionBudget's status current.

`sync_pod_disruption_budget(key)` is level-triggered: it reads the budget, the pods
its selector matches and their controllers' scales from the informer caches,
computes the status (`status.calculate_status`) and writes it when it changed. The
eviction subresource reads that status and spends `disruptionsAllowed`.

Handlers only enqueue: a budget event its budget; a pod event every budget in the
pod's namespace whose selector matches it (old and new labels); a change of a
workload's spec.replicas every budget of its namespace.

Invariants:
- A status is written with the resourceVersion it was computed from, so an
  eviction that spent a disruption meanwhile makes the write conflict (409): the
  key is retried from the fresh cache, never overwriting the decrement.
- A budget whose pods' controllers cannot be found allows no disruption
  (condition DisruptionAllowed=False, reason SyncFailed).

Kubernetes counterpart: pkg/controller/disruption/disruption.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import Controller, as_selector
from controller_manager.disruption.status import calculate_status
from tinykube.api.apps import Deployment, ReplicaSet, StatefulSet
from tinykube.api.core import Pod, ReplicationController
from tinykube.api.meta import OwnerReference, get_controller_of, now_rfc3339, split_meta_namespace_key
from tinykube.api.policy import PodDisruptionBudget
from tinykube.api.registry import deep_copy
from tinykube.api.resources import (
    DEPLOYMENTS, PODS, POD_DISRUPTION_BUDGETS, REPLICA_SETS, REPLICATION_CONTROLLERS, STATEFUL_SETS,
)
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, Clock, EventRecorder, RESTClient, SharedInformerFactory,
)

log = logging.getLogger(__name__)

Workload = Deployment | ReplicaSet | StatefulSet | ReplicationController


class DisruptionController(Controller):
    """Guarantees:
    - status carries observedGeneration = metadata.generation once synced;
    - a Normal "NoPods" event when the selector matches no pod, as upstream.
    """

    name = "disruption"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_pod_disruption_budget, clock=clock)
        self.pdb_informer = factory.informer_for(POD_DISRUPTION_BUDGETS)
        self.pod_informer = factory.informer_for(PODS)
        self.rs_informer = factory.informer_for(REPLICA_SETS)
        self.deployment_informer = factory.informer_for(DEPLOYMENTS)
        self.sts_informer = factory.informer_for(STATEFUL_SETS)
        self.rc_informer = factory.informer_for(REPLICATION_CONTROLLERS)
        self.pdb_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur),
                                            self.enqueue)
        self.pod_informer.add_event_handler(self.add_pod, self.update_pod, self.add_pod)
        for informer in (self.rs_informer, self.deployment_informer, self.sts_informer, self.rc_informer):
            informer.add_event_handler(self.add_workload, self.update_workload, self.add_workload)

    # --- event handlers: only turn events into keys ------------------------------------

    def budgets_for_pod(self, pod: Pod) -> list[PodDisruptionBudget]:
        labels = pod.metadata.labels or {}
        budgets: list[PodDisruptionBudget] = self.pdb_informer.indexer.by_index(
            NAMESPACE_INDEX, pod.metadata.namespace or "")
        return [pdb for pdb in budgets if _selects(pdb, labels)]

    def add_pod(self, pod: Pod) -> None:
        for pdb in self.budgets_for_pod(pod):
            self.enqueue(pdb)

    def update_pod(self, old: Pod, cur: Pod) -> None:
        self.add_pod(cur)
        if old.metadata.labels != cur.metadata.labels:
            self.add_pod(old)

    def add_workload(self, workload: Workload) -> None:
        for pdb in self.pdb_informer.indexer.by_index(NAMESPACE_INDEX,
                                                     workload.metadata.namespace or ""):
            self.enqueue(pdb)

    def update_workload(self, old: Workload, cur: Workload) -> None:
        if (old.spec.replicas if old.spec else None) != (cur.spec.replicas if cur.spec else None):
            self.add_workload(cur)

    # --- scales -------------------------------------------------------------------------

    def find_scale(self, ref: OwnerReference, namespace: str) -> tuple[str, int] | None:
        """(uid, replicas) of the Deployment, ReplicaSet, StatefulSet or ReplicationController
        behind `ref`; a ReplicaSet of a Deployment counts as its Deployment."""
        simple = {"StatefulSet": self.sts_informer, "ReplicationController": self.rc_informer}
        if ref.kind in simple:
            workload: StatefulSet | ReplicationController | None = \
                simple[ref.kind].indexer.get(f"{namespace}/{ref.name}")
            if workload is None or workload.metadata.uid != ref.uid:
                return None
            return ref.uid or "", _replicas(workload)
        if ref.kind != "ReplicaSet":
            return None
        rs: ReplicaSet | None = self.rs_informer.indexer.get(f"{namespace}/{ref.name}")
        if rs is None or rs.metadata.uid != ref.uid:
            return None
        owner = get_controller_of(rs)
        if owner is None or owner.kind != "Deployment":
            return ref.uid or "", _replicas(rs)
        deployment: Deployment | None = self.deployment_informer.indexer.get(
            f"{namespace}/{owner.name}")
        if deployment is None or deployment.metadata.uid != owner.uid:
            return None
        return owner.uid or "", _replicas(deployment)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_pod_disruption_budget(self, key: str) -> None:
        namespace, _ = split_meta_namespace_key(key)
        pdb: PodDisruptionBudget | None = self.pdb_informer.indexer.get(key)
        if pdb is None:
            log.debug("pdb deleted key=%s", key)
            return
        selector = as_selector(pdb.spec.selector)
        pods: list[Pod] = [] if selector.empty() else [
            p for p in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
            if selector.matches(p.metadata.labels or {})]
        if not pods:
            self.recorder.event(pdb, "Normal", "NoPods", "No matching pods found")
        status, recheck = calculate_status(pdb, pods, self.find_scale, self.clock.wall(),
                                           now_rfc3339(self.clock.wall))
        if pdb.status is None or pdb.status.to_dict() != status.to_dict():
            updated = deep_copy(pdb)
            updated.status = status
            await self.client.update_status(POD_DISRUPTION_BUDGETS, updated)
            log.info("updated pdb status pdb=%s allowed=%d healthy=%d desired=%d expected=%d",
                     key, status.disruptions_allowed, status.current_healthy,
                     status.desired_healthy, status.expected_pods)
        if recheck is not None:
            self.queue.add_after(key, recheck)


def _selects(pdb: PodDisruptionBudget, labels: dict[str, str]) -> bool:
    selector = as_selector(pdb.spec.selector)
    return not selector.empty() and selector.matches(labels)


def _replicas(workload: Workload) -> int:
    replicas = workload.spec.replicas if workload.spec else None
    return 1 if replicas is None else replicas
