"""The ReplicaSet controller: keep spec.replicas pods alive for every ReplicaSet.

`sync_replica_set(key)` is level-triggered: it reads the ReplicaSet and the pods in
its namespace from the informer caches, claims the pods it controls (adopting
matching orphans, releasing owned pods whose labels no longer match), creates or
deletes pods to reach spec.replicas, and writes status. Pod events only enqueue the
owning ReplicaSet (or, for orphans, every ReplicaSet whose selector matches).

Invariants:
- Expectations: after asking for N creates/deletes, the key is not managed again
  until the informer has shown all N, so cache lag never creates a pod twice.
- Pods with a deletionTimestamp or a terminal phase do not count.
- Deleting prefers unscheduled < pending < not ready < recently ready < restarting
  < newest (`active_pods_sort_key`).

Kubernetes counterpart: pkg/controller/replicaset/replica_set.go,
pkg/controller/replicaset/replica_set_utils.go
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from controller_manager.controller_utils import (
    BURST_REPLICAS, SLOW_START_INITIAL_BATCH_SIZE, Controller, UIDTrackingExpectations,
    active_pods_sort_key, as_selector, claim_objects, filter_active_pods, get_pod_from_template,
    recheck_owner, slow_start_batch,
)
from tinykube.api.apps import ReplicaSet, ReplicaSetCondition, ReplicaSetStatus
from tinykube.api.meta import KubeObject
from tinykube.api.core import Pod, pod_is_available, pod_is_ready
from tinykube.api.meta import get_controller_of, new_controller_ref, now_rfc3339, split_meta_namespace_key
from tinykube.api.registry import deep_copy
from tinykube.api.resources import PODS, REPLICA_SETS, ResourceInfo
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, Clock, Conflict, ControllerExpectations, EventRecorder, NotFound,
    RESTClient, SharedInformerFactory, meta_namespace_key,
)

log = logging.getLogger(__name__)

REPLICA_FAILURE = "ReplicaFailure"


class ReplicaSetController(Controller):
    """Guarantees:
    - at most `BURST_REPLICAS` creates or deletes per sync, issued in slow-start batches;
    - status is written only when it changed, and always carries observedGeneration.

    The controller reads its objects through `resource`, `as_replica_set` and
    `from_replica_set`, so a subclass can run the same loop for another kind with the
    same shape (the ReplicationController manager converts at that boundary).
    """

    name = "replicaset"
    resource: ResourceInfo = REPLICA_SETS
    model: type[KubeObject] = ReplicaSet

    def as_replica_set(self, obj: Any) -> ReplicaSet:
        """The cached object as the ReplicaSet this loop works on (never mutate it)."""
        return obj  # type: ignore[no-any-return]

    def from_replica_set(self, rs: ReplicaSet) -> KubeObject:
        """The object to write back for a ReplicaSet this loop computed."""
        return rs

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, burst_replicas: int = BURST_REPLICAS,
                 **options: Any) -> None:
        super().__init__(client, recorder, self.sync_replica_set, clock=clock)
        self.burst_replicas = burst_replicas
        self.expectations = UIDTrackingExpectations(ControllerExpectations(clock))
        self.rs_informer = factory.informer_for(self.resource)
        self.pod_informer = factory.informer_for(PODS)
        self.rs_informer.add_event_handler(self.add_rs, self.update_rs, self.delete_rs)
        self.pod_informer.add_event_handler(self.add_pod, self.update_pod, self.delete_pod)

    # --- event handlers: only turn events into keys ------------------------------------

    def add_rs(self, rs: ReplicaSet) -> None:
        self.enqueue(rs)

    def update_rs(self, old: ReplicaSet, cur: ReplicaSet) -> None:
        self.enqueue(cur)

    def delete_rs(self, rs: ReplicaSet) -> None:
        key = meta_namespace_key(rs)
        self.expectations.delete_expectations(key)
        self.queue.add(key)

    def cached(self, key: str) -> ReplicaSet | None:
        obj = self.rs_informer.indexer.get(key)
        return None if obj is None else self.as_replica_set(obj)

    def resolve_controller_ref(self, namespace: str, pod: Pod) -> ReplicaSet | None:
        ref = get_controller_of(pod)
        if ref is None or ref.kind != self.resource.kind:
            return None
        rs = self.cached(f"{namespace}/{ref.name}")
        if rs is None or rs.metadata.uid != ref.uid:
            return None  # a namesake, not the owner the reference points to
        return rs

    def matching_replica_sets(self, pod: Pod) -> list[ReplicaSet]:
        labels = pod.metadata.labels or {}
        in_namespace = self.rs_informer.indexer.by_index(NAMESPACE_INDEX, pod.metadata.namespace or "")
        return [rs for rs in map(self.as_replica_set, in_namespace)
                if as_selector(rs.spec.selector if rs.spec else None).matches(labels)]

    def add_pod(self, pod: Pod) -> None:
        if pod.metadata.deletion_timestamp is not None:
            self.delete_pod(pod)  # restarted informer: a pod already being deleted
            return
        if get_controller_of(pod) is not None:
            rs = self.resolve_controller_ref(pod.metadata.namespace or "", pod)
            if rs is not None:
                key = meta_namespace_key(rs)
                self.expectations.creation_observed(key)
                self.queue.add(key)
            return
        for rs in self.matching_replica_sets(pod):  # an orphan: whoever matches may adopt it
            self.enqueue(rs)

    def update_pod(self, old: Pod, cur: Pod) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: nothing changed
        labels_changed = old.metadata.labels != cur.metadata.labels
        if cur.metadata.deletion_timestamp is not None:
            # Graceful deletion started: count it deleted now, so a replacement is made at once.
            self.delete_pod(cur)
            if labels_changed:
                self.delete_pod(old)
            return
        cur_ref, old_ref = get_controller_of(cur), get_controller_of(old)
        ref_changed = (cur_ref.uid if cur_ref else None) != (old_ref.uid if old_ref else None)
        if ref_changed and old_ref is not None:
            rs = self.resolve_controller_ref(old.metadata.namespace or "", old)
            if rs is not None:
                self.enqueue(rs)
        if cur_ref is not None:
            rs = self.resolve_controller_ref(cur.metadata.namespace or "", cur)
            if rs is not None:
                self.enqueue(rs)
                min_ready = (rs.spec.min_ready_seconds or 0) if rs.spec else 0
                if min_ready > 0 and not pod_is_ready(old) and pod_is_ready(cur):
                    # It becomes available only later: look again then.
                    self.queue.add_after(meta_namespace_key(rs), min_ready + 1)
            return
        if labels_changed or ref_changed:
            for rs in self.matching_replica_sets(cur):
                self.enqueue(rs)

    def delete_pod(self, pod: Pod) -> None:
        rs = self.resolve_controller_ref(pod.metadata.namespace or "", pod)
        if rs is None:
            return
        key = meta_namespace_key(rs)
        self.expectations.deletion_observed(key, meta_namespace_key(pod))
        self.queue.add(key)

    # --- the reconcile --------------------------------------------------------------------

    async def sync_replica_set(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        rs = self.cached(key)
        if rs is None:
            log.debug("replicaset deleted key=%s", key)
            self.expectations.delete_expectations(key)
            return
        rs_needs_sync = self.expectations.satisfied_expectations(key)
        selector = as_selector(rs.spec.selector if rs.spec else None)
        candidates = filter_active_pods(
            p for p in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
            if _maybe_ours(p, rs.metadata.uid or ""))
        pods = await claim_objects(self.client, PODS, rs, new_controller_ref(rs), selector, candidates,
                                   recheck_owner(self.client, self.resource, rs))
        manage_error: Exception | None = None
        if rs_needs_sync and rs.metadata.deletion_timestamp is None:
            try:
                await self.manage_replicas(pods, rs, key)
            except Exception as err:
                manage_error = err
        status = self.calculate_status(rs, pods, manage_error)
        updated = await self.update_replica_set_status(rs, status)
        min_ready = (rs.spec.min_ready_seconds or 0) if rs.spec else 0
        if (manage_error is None and min_ready > 0 and updated.status is not None
                and updated.status.ready_replicas == _replicas(updated)
                and updated.status.available_replicas != _replicas(updated)):
            self.queue.add_after(key, min_ready)
        if manage_error is not None:
            raise manage_error

    async def manage_replicas(self, pods: list[Pod], rs: ReplicaSet, key: str) -> None:
        """Create or delete pods so that len(pods) == spec.replicas."""
        diff = len(pods) - _replicas(rs)
        if diff < 0:
            count = min(-diff, self.burst_replicas)
            log.info("too few replicas rs=%s need=%d creating=%d", key, _replicas(rs), count)
            self.expectations.expect_creations(key, count)
            successes, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH_SIZE,
                                                      lambda: self.create_pod(rs, key))
            skipped = count - successes
            if skipped > 0:  # never created: do not wait for them
                self.expectations.lower_expectations(key, skipped, 0)
            if error is not None:
                raise error
        elif diff > 0:
            count = min(diff, self.burst_replicas)
            victims = sorted(pods, key=active_pods_sort_key)[:count]
            log.info("too many replicas rs=%s need=%d deleting=%d", key, _replicas(rs), count)
            victim_keys = [f"{p.metadata.namespace}/{p.metadata.name}" for p in victims]
            self.expectations.expect_deletions(key, victim_keys)
            results = await asyncio.gather(*(self.delete_pod_of(rs, key, p) for p in victims),
                                           return_exceptions=True)
            errors = [r for r in results if isinstance(r, Exception)]
            if errors:
                raise errors[0]

    async def create_pod(self, rs: ReplicaSet, key: str) -> None:
        body = get_pod_from_template(rs.spec.template if rs.spec else None, rs, new_controller_ref(rs))
        try:
            created = await self.client.create_object(body)
        except Exception as err:
            self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {err}")
            raise
        self.recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {created.metadata.name}")

    async def delete_pod_of(self, rs: ReplicaSet, key: str, pod: Pod) -> None:
        name = pod.metadata.name or ""
        try:
            await self.client.delete(PODS, name, pod.metadata.namespace)
        except NotFound:
            pass  # already gone: its DELETED event settles the expectation
        except Exception as err:
            # Not deleted: no event will come for it, so stop expecting one.
            self.expectations.deletion_observed(key, f"{pod.metadata.namespace}/{name}")
            self.recorder.event(rs, "Warning", "FailedDelete", f"Error deleting: {err}")
            raise
        else:
            self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

    def calculate_status(self, rs: ReplicaSet, pods: list[Pod],
                         manage_error: Exception | None) -> ReplicaSetStatus:
        status = deep_copy(rs.status) if rs.status else ReplicaSetStatus()
        template_labels = (rs.spec.template.metadata.labels or {}) \
            if rs.spec and rs.spec.template and rs.spec.template.metadata else {}
        min_ready = (rs.spec.min_ready_seconds or 0) if rs.spec else 0
        now = self.clock.wall()
        status.replicas = len(pods)
        status.fully_labeled_replicas = sum(
            1 for p in pods if all((p.metadata.labels or {}).get(k) == v for k, v in template_labels.items()))
        status.ready_replicas = sum(1 for p in pods if pod_is_ready(p))
        status.available_replicas = sum(1 for p in pods if pod_is_available(p, min_ready, now))
        conditions = [c for c in status.conditions or () if c.type != REPLICA_FAILURE]
        failure = next((c for c in status.conditions or () if c.type == REPLICA_FAILURE), None)
        if manage_error is not None and len(pods) < _replicas(rs):
            if failure is None:
                failure = ReplicaSetCondition(
                    type=REPLICA_FAILURE, status="True", reason="FailedCreate", message=str(manage_error),
                    last_transition_time=now_rfc3339(self.clock.wall))
            conditions.append(failure)
        elif manage_error is not None and failure is not None:
            conditions.append(failure)  # a failed delete says nothing about creating
        status.conditions = conditions or None
        return status

    async def update_replica_set_status(self, rs: ReplicaSet, status: ReplicaSetStatus) -> ReplicaSet:
        status.observed_generation = rs.metadata.generation
        if rs.status is not None and rs.status.to_dict() == status.to_dict():
            return rs
        updated = deep_copy(rs)
        for attempt in range(2):
            updated.status = status
            try:
                result = await self.client.update_status(self.resource, self.from_replica_set(updated))
            except Conflict:
                if attempt:
                    raise
                updated = self.as_replica_set(await self.client.get_object(
                    self.model, rs.metadata.name or "", rs.metadata.namespace))
                status.observed_generation = updated.metadata.generation
                continue
            log.debug("updated status rs=%s/%s replicas=%d ready=%s", rs.metadata.namespace,
                      rs.metadata.name, status.replicas, status.ready_replicas)
            return self.as_replica_set(self.model.from_dict(result))
        return updated


def _replicas(rs: ReplicaSet) -> int:
    replicas = rs.spec.replicas if rs.spec else None
    return 1 if replicas is None else replicas


def _maybe_ours(pod: Pod, owner_uid: str) -> bool:
    """Owned by us, or by no controller at all."""
    ref = get_controller_of(pod)
    return ref is None or ref.uid == owner_uid
