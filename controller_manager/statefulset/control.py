"""What a StatefulSet sync does next, as a pure function: pods in, an ordered plan out.

`plan_stateful_set` follows upstream's updateStatefulSet, one pass:
1. replicas (ordinals start..start+replicas-1, ascending): a failed or succeeded pod
   is deleted (it is recreated once it is gone) and the pass ends; a missing pod is
   created, with its claims first; a pod of the wrong identity or storage, or whose
   claims' owners disagree with the retention policy, is fixed in place.
   OrderedReady stops at the first pod it creates, or that is terminating, not
   Running and Ready, or not yet available for minReadySeconds; Parallel goes on.
2. condemned pods (ordinals outside the range, highest first): deleted, the claims'
   owners set first. OrderedReady deletes one at a time, each only once the previous
   is gone, and never while another pod (other than the first unhealthy one) is
   unhealthy.
3. RollingUpdate (OnDelete stops here): from the highest ordinal down to the
   partition, the first pod not at the update revision is deleted (it comes back at
   the new revision in step 1); an unhealthy pod on the way stops the pass. With
   rollingUpdate.maxUnavailable set, up to maxUnavailable minus the unhealthy pods
   are deleted at once, highest ordinals first.

The caller runs the steps in order; the next sync, woken by their events, goes on.

Kubernetes counterpart: pkg/controller/statefulset/stateful_set_control.go
(updateStatefulSet, processReplica, processCondemned, updateStatefulSetAfterInvariantEstablished)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller_manager.deployment.util import scaled_value_from_int_or_percent
from controller_manager.statefulset.utils import (
    ON_DELETE, PARALLEL, ROLLING_UPDATE, claim_is_stale, claim_matches_retention_policy, get_ordinal,
    get_persistent_volume_claims, get_pod_revision, get_start_ordinal, identity_matches,
    is_failed_or_succeeded, is_healthy, is_running_and_available, is_running_and_ready, is_terminating,
    new_stateful_set_pod, replicas_of, storage_matches,
)
from tinykube.api.apps import StatefulSet
from tinykube.api.core import Pod, PodTemplateSpec
from tinykube.api.other import PersistentVolumeClaim


class Verb(enum.Enum):
    CREATE_POD = "create"      # create the missing claims, then the pod
    UPDATE_POD = "update"      # fix identity/storage/claim owners of an existing pod
    DELETE_POD = "delete"      # fix the claims' owners, then delete the pod


@dataclass(frozen=True)
class Step:
    verb: Verb
    pod: Pod


@dataclass(frozen=True)
class Revision:
    """A ControllerRevision as the plan needs it: its name and its pod template."""

    name: str
    template: PodTemplateSpec


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    requeue_after_seconds: float | None = None  # a pod becomes available after minReadySeconds


def strategy_type(sts: StatefulSet) -> str:
    strategy = sts.spec.update_strategy if sts.spec else None
    return (strategy.type if strategy else None) or ROLLING_UPDATE


def partition(sts: StatefulSet) -> int:
    strategy = sts.spec.update_strategy if sts.spec else None
    rolling = strategy.rolling_update if strategy else None
    return (rolling.partition or 0) if rolling else 0


def new_versioned_pod(sts: StatefulSet, current: Revision, update: Revision, ordinal: int) -> Pod:
    """Below the partition a RollingUpdate still creates pods at the current revision."""
    if strategy_type(sts) == ROLLING_UPDATE and ordinal < get_start_ordinal(sts) + partition(sts):
        return new_stateful_set_pod(sts, current.template, ordinal, current.name)
    return new_stateful_set_pod(sts, update.template, ordinal, update.name)


def plan_stateful_set(sts: StatefulSet, current: Revision, update: Revision, pods: Sequence[Pod],
                      claims: Mapping[str, PersistentVolumeClaim], now: float) -> Plan:
    """`pods`: the set's claimed members; `claims`: PVCs in its namespace by name."""
    plan = Plan()
    if sts.metadata.deletion_timestamp is not None:
        return plan
    start, count = get_start_ordinal(sts), replicas_of(sts)
    min_ready = (sts.spec.min_ready_seconds or 0) if sts.spec else 0
    monotonic = (sts.spec.pod_management_policy if sts.spec else None) != PARALLEL
    replicas: list[Pod | None] = [None] * count
    condemned: list[Pod] = []
    for pod in pods:
        ordinal = get_ordinal(pod)
        if start <= ordinal < start + count:
            replicas[ordinal - start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    condemned.sort(key=get_ordinal, reverse=True)

    def healthy(pod: Pod | None) -> bool:
        return pod is not None and is_healthy(pod, min_ready, now)

    def wait_available() -> None:
        if min_ready > 0:
            plan.requeue_after_seconds = float(min_ready)

    first_unhealthy = next((p for p in replicas if not healthy(p)), None) \
        or next((p for p in condemned if not healthy(p)), None)

    for index, pod in enumerate(replicas):
        if pod is None:
            new_pod = new_versioned_pod(sts, current, update, start + index)
            wanted = get_persistent_volume_claims(sts, new_pod).values()
            if any(claim_is_stale(claims[c.metadata.name or ""], None)
                   for c in wanted if c.metadata.name in claims):
                return plan  # the garbage collector still has to delete an old pod's claim
            plan.steps.append(Step(Verb.CREATE_POD, new_pod))
            if monotonic:
                return plan
            continue
        if is_failed_or_succeeded(pod):
            if not is_terminating(pod):
                plan.steps.append(Step(Verb.DELETE_POD, pod))
            return plan  # recreated by a later sync, once it is gone
        if is_terminating(pod) and monotonic:
            return plan
        if not is_running_and_ready(pod) and monotonic:
            return plan
        if not is_running_and_available(pod, min_ready, now) and monotonic:
            wait_available()
            return plan
        claims_ok = all(claim_matches_retention_policy(sts, pod, claims[c.metadata.name or ""])
                        for c in get_persistent_volume_claims(sts, pod).values() if c.metadata.name in claims)
        if not (identity_matches(sts, pod) and storage_matches(sts, pod) and claims_ok):
            plan.steps.append(Step(Verb.UPDATE_POD, pod))

    for pod in condemned:
        if is_terminating(pod):
            if monotonic:
                return plan
            continue
        if not is_running_and_ready(pod) and monotonic and pod is not first_unhealthy:
            return plan
        if not is_running_and_available(pod, min_ready, now) and monotonic and pod is not first_unhealthy:
            wait_available()
            return plan
        plan.steps.append(Step(Verb.DELETE_POD, pod))
        if monotonic:
            return plan

    if strategy_type(sts) == ON_DELETE:
        return plan
    update_min = partition(sts)
    strategy = sts.spec.update_strategy if sts.spec else None
    max_unavailable_value = strategy.rolling_update.max_unavailable \
        if strategy and strategy.rolling_update else None
    if max_unavailable_value is None:
        for index in range(count - 1, update_min - 1, -1):
            pod = replicas[index]
            if pod is not None and get_pod_revision(pod) != update.name and not is_terminating(pod):
                plan.steps.append(Step(Verb.DELETE_POD, pod))
                return plan
            if not healthy(pod):
                return plan
        return plan
    max_unavailable = max(scaled_value_from_int_or_percent(max_unavailable_value, count, False), 1)
    unavailable = sum(1 for pod in replicas if not healthy(pod))
    budget = max_unavailable - unavailable
    for index in range(count - 1, update_min - 1, -1):
        pod = replicas[index]
        if budget <= 0:
            break
        if pod is not None and get_pod_revision(pod) != update.name and not is_terminating(pod):
            plan.steps.append(Step(Verb.DELETE_POD, pod))
            budget -= 1
    return plan
