"""The disruption budget's status as pure functions: pods and scales in, status out.

`calculate_status` computes what the disruption controller writes:
- expectedPods: how many pods the budget's pods' controllers want
  (`get_expected_pod_count`); for a plain integer minAvailable, upstream just
  counts the matching pods;
- desiredHealthy: minAvailable, or expectedPods - maxUnavailable (percentages
  scaled on expectedPods, rounded up);
- currentHealthy: Ready pods, not being deleted and not recently evicted;
- disruptionsAllowed = max(0, currentHealthy - desiredHealthy), 0 while
  expectedPods is 0 (a budget whose first pods are not yet counted is safe);
- disruptedPods: the eviction subresource's entries for pods that still exist and
  are not being deleted, dropped after DELETION_TIMEOUT_SECONDS (the eviction
  apparently did not delete them); the earliest expiry is when to look again.

Kubernetes counterpart: pkg/controller/disruption/disruption.go (getExpectedPodCount,
buildDisruptedPodMap, countHealthyPods, updatePdbStatus),
pkg/apis/policy/helper (UpdateDisruptionAllowedCondition)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from tinykube.api.core import Pod, pod_is_ready
from tinykube.api.meta import IntOrString, OwnerReference, get_controller_of, parse_rfc3339
from tinykube.api.policy import (
    DISRUPTION_ALLOWED_CONDITION, INSUFFICIENT_PODS_REASON, SUFFICIENT_PODS_REASON,
    SYNC_FAILED_REASON, PodDisruptionBudget, PodDisruptionBudgetCondition,
    PodDisruptionBudgetStatus,
)

# How long an eviction's disruptedPods entry holds before the pod is counted again.
DELETION_TIMEOUT_SECONDS = 2 * 60.0

# (controller uid, spec.replicas) of the workload that owns pods through `ref`, or None.
ScaleFinder = Callable[[OwnerReference, str], "tuple[str, int] | None"]


class NoControllerError(Exception):
    """A budget with a percentage, or maxUnavailable, covers a pod whose controller
    has no known scale: the expected count cannot be computed."""


@dataclass(frozen=True)
class DisruptedPods:
    entries: dict[str, str]
    recheck_after_seconds: float | None


def scaled_value(value: IntOrString, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent with roundUp=true."""
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: invalid value {value!r}")
    return math.ceil(int(value[:-1]) * total / 100)


def get_expected_scale(pods: list[Pod], find_scale: ScaleFinder) -> int:
    """The sum of the replicas of every controller of `pods`, each counted once."""
    seen: set[str] = set()
    expected = 0
    for pod in pods:
        ref = get_controller_of(pod)
        if ref is None:
            continue  # an unmanaged pod: upstream only logs it
        if ref.uid in seen:
            continue
        found = find_scale(ref, pod.metadata.namespace or "")
        if found is None:
            raise NoControllerError(f'found no controllers for pod "{pod.metadata.name}"')
        uid, replicas = found
        if uid not in seen:
            seen.add(uid)
            expected += replicas
        seen.add(ref.uid or "")
    return expected


def get_expected_pod_count(pdb: PodDisruptionBudget, pods: list[Pod],
                           find_scale: ScaleFinder) -> tuple[int, int]:
    """(expectedPods, desiredHealthy) of the budget."""
    spec = pdb.spec
    if spec.max_unavailable is not None:
        expected = get_expected_scale(pods, find_scale)
        desired = expected - scaled_value(spec.max_unavailable, expected)
        return expected, max(desired, 0)
    if spec.min_available is not None:
        if isinstance(spec.min_available, int):
            return len(pods), spec.min_available
        expected = get_expected_scale(pods, find_scale)
        return expected, scaled_value(spec.min_available, expected)
    return 0, 0


def build_disrupted_pod_map(pods: list[Pod], pdb: PodDisruptionBudget,
                            now: float) -> DisruptedPods:
    recorded = pdb.status.disrupted_pods if pdb.status else None
    entries: dict[str, str] = {}
    recheck: float | None = None
    for pod in pods:
        if not recorded or pod.metadata.deletion_timestamp is not None:
            continue  # already being deleted: the eviction did its work
        when = recorded.get(pod.metadata.name or "")
        if when is None:
            continue
        expires = parse_rfc3339(when).timestamp() + DELETION_TIMEOUT_SECONDS
        if expires > now:
            entries[pod.metadata.name or ""] = when
            recheck = expires - now if recheck is None else min(recheck, expires - now)
    return DisruptedPods(entries, recheck)


def count_healthy_pods(pods: list[Pod], disrupted: dict[str, str], now: float) -> int:
    healthy = 0
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        when = disrupted.get(pod.metadata.name or "")
        if when is not None and parse_rfc3339(when).timestamp() + DELETION_TIMEOUT_SECONDS > now:
            continue  # expected to be deleted soon
        if pod_is_ready(pod):
            healthy += 1
    return healthy


def calculate_status(pdb: PodDisruptionBudget, pods: list[Pod], find_scale: ScaleFinder,
                     now: float, now_rfc3339: str) -> tuple[PodDisruptionBudgetStatus, float | None]:
    """The new status, and in how many seconds to look again (an entry expires)."""
    old = pdb.status or PodDisruptionBudgetStatus()
    try:
        expected, desired = get_expected_pod_count(pdb, pods, find_scale)
    except (NoControllerError, ValueError) as err:
        return fail_safe(pdb, str(err), now_rfc3339), None
    disrupted = build_disrupted_pod_map(pods, pdb, now)
    healthy = count_healthy_pods(pods, disrupted.entries, now)
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    status = PodDisruptionBudgetStatus(
        observed_generation=pdb.metadata.generation, disrupted_pods=disrupted.entries or None,
        disruptions_allowed=allowed, current_healthy=healthy, desired_healthy=desired,
        expected_pods=expected, conditions=old.conditions)
    if allowed > 0:
        set_condition(status, "True", SUFFICIENT_PODS_REASON, "", now_rfc3339)
    else:
        set_condition(status, "False", INSUFFICIENT_PODS_REASON, "", now_rfc3339)
    return status, disrupted.recheck_after_seconds


def fail_safe(pdb: PodDisruptionBudget, message: str, now_rfc3339: str) -> PodDisruptionBudgetStatus:
    """No disruptions while the budget cannot be computed (upstream's failSafe)."""
    status = (pdb.status or PodDisruptionBudgetStatus()).model_copy(deep=True)
    status.disruptions_allowed = 0
    status.observed_generation = pdb.metadata.generation
    set_condition(status, "False", SYNC_FAILED_REASON, message, now_rfc3339)
    return status


def set_condition(status: PodDisruptionBudgetStatus, value: str, reason: str, message: str,
                  now_rfc3339: str) -> None:
    """meta.SetStatusCondition of DisruptionAllowed: the transition time moves only
    when the status flips."""
    conditions = list(status.conditions or [])
    old = next((c for c in conditions if c.type == DISRUPTION_ALLOWED_CONDITION), None)
    moved = old is None or old.status != value
    new = PodDisruptionBudgetCondition(
        type=DISRUPTION_ALLOWED_CONDITION, status=value, reason=reason, message=message,
        observed_generation=status.observed_generation or 0,
        last_transition_time=now_rfc3339 if moved or old is None else old.last_transition_time)
    status.conditions = [new if c.type == DISRUPTION_ALLOWED_CONDITION else c for c in conditions] \
        if old is not None else [*conditions, new]
