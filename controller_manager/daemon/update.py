"""The RollingUpdate decision for a DaemonSet, as a pure function: pods in, a plan out.

`rolling_update_plan` looks at each node's daemon pods (at most one old and one
updated pod per node; anything else is the manage loop's business) and decides
which old pods to delete and on which nodes to start an updated pod:

- maxSurge = 0 (the default): delete an old pod first, then the manage loop creates
  its replacement. Unavailable old pods are replaced at once; available ones only
  while   unavailable nodes < maxUnavailable,
  where a node counts as unavailable when its updated pod is not yet available or
  the manage loop still has work on it.
- maxSurge > 0: start the updated pod next to the old one, delete the old one once
  the new one is available; at most maxSurge nodes wait for a new pod at a time
  (a node whose old pod is unavailable may always get its new pod).

Both limits are counts over desiredNumberScheduled; percentages round up, and
0/0 is read as maxUnavailable = 1 (updatedDesiredNodeCounts).

Kubernetes counterpart: pkg/controller/daemon/update.go (rollingUpdate,
findUpdatedPodsOnNode, updatedDesiredNodeCounts), pkg/controller/daemon/util (SurgeCount)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller_manager.daemon.util import is_pod_updated
from controller_manager.deployment.util import scaled_value_from_int_or_percent
from tinykube.api.apps import DaemonSet
from tinykube.api.core import Pod, pod_is_available

ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"


@dataclass
class RollingUpdatePlan:
    old_pods_to_delete: list[Pod] = field(default_factory=list)
    nodes_to_create: list[str] = field(default_factory=list)


def is_rolling_update(ds: DaemonSet) -> bool:
    strategy = ds.spec.update_strategy if ds.spec else None
    return (strategy.type if strategy and strategy.type else ROLLING_UPDATE) == ROLLING_UPDATE


def surge_count(ds: DaemonSet, desired: int) -> int:
    strategy = ds.spec.update_strategy if ds.spec else None
    if not is_rolling_update(ds) or strategy is None or strategy.rolling_update is None:
        return 0
    return scaled_value_from_int_or_percent(strategy.rolling_update.max_surge, desired, True)


def unavailable_count(ds: DaemonSet, desired: int) -> int:
    strategy = ds.spec.update_strategy if ds.spec else None
    if not is_rolling_update(ds):
        return 0
    rolling = strategy.rolling_update if strategy else None
    value = rolling.max_unavailable if rolling and rolling.max_unavailable is not None else 1
    return scaled_value_from_int_or_percent(value, desired, True)


def allows_surge(ds: DaemonSet) -> bool:
    # Any non-zero value (100 is an upper bound on percentages) means surging.
    return surge_count(ds, 100) > 0


def updated_desired_node_counts(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as counts of nodes."""
    max_surge, max_unavailable = surge_count(ds, desired), unavailable_count(ds, desired)
    if desired > 0 and max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1  # an impossible configuration: obey the default
    return max_surge, max_unavailable


def find_updated_pods_on_node(pods: Sequence[Pod], hash_: str,
                              generation: int | None) -> tuple[Pod | None, Pod | None, bool]:
    """(new pod, old pod, ok): ok is False when a node has two of either kind."""
    new_pod: Pod | None = None
    old_pod: Pod | None = None
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        if is_pod_updated(pod, hash_, generation):
            if new_pod is not None:
                return None, None, False
            new_pod = pod
        else:
            if old_pod is not None:
                return None, None, False
            old_pod = pod
    return new_pod, old_pod, True


def rolling_update_plan(ds: DaemonSet, node_to_pods: Mapping[str, Sequence[Pod]], should_run: set[str],
                        hash_: str, generation: int | None, now: float) -> RollingUpdatePlan:
    """`node_to_pods` holds every node with daemon pods; `should_run` the nodes that want one."""
    nodes = {name: list(node_to_pods.get(name, ())) for name in sorted(set(node_to_pods) | should_run)}
    max_surge, max_unavailable = updated_desired_node_counts(ds, len(should_run))
    min_ready = (ds.spec.min_ready_seconds or 0) if ds.spec else 0

    def available(pod: Pod) -> bool:
        return pod_is_available(pod, min_ready, now)

    plan = RollingUpdatePlan()
    if max_surge == 0:
        unavailable = 0
        replacements: list[Pod] = []
        candidates: list[Pod] = []
        for pods in nodes.values():
            new_pod, old_pod, ok = find_updated_pods_on_node(pods, hash_, generation)
            if not ok or (new_pod is None) == (old_pod is None):
                unavailable += 1  # the manage loop creates or deletes here first
            elif new_pod is not None:
                if not available(new_pod):
                    unavailable += 1
            elif old_pod is not None and not available(old_pod):
                replacements.append(old_pod)  # not serving anyway: replace it now
                unavailable += 1
            elif old_pod is not None and unavailable < max_unavailable:
                candidates.append(old_pod)
        remaining = min(max(max_unavailable - unavailable, 0), len(candidates))
        plan.old_pods_to_delete = replacements + candidates[:remaining]
        return plan

    surging = 0
    allowed_new_nodes: list[str] = []
    candidate_new_nodes: list[str] = []
    for node_name, pods in nodes.items():
        new_pod, old_pod, ok = find_updated_pods_on_node(pods, hash_, generation)
        if not ok:
            surging += 1
            continue
        if old_pod is None:
            continue  # nothing old here: the manage loop handles it
        if new_pod is None:
            if not available(old_pod):
                if node_name not in should_run:
                    plan.old_pods_to_delete.append(old_pod)
                else:
                    allowed_new_nodes.append(node_name)
            elif surging < max_surge:
                candidate_new_nodes.append(node_name)
            continue
        if not available(new_pod):
            surging += 1  # already surged here, waiting for it to become available
            continue
        plan.old_pods_to_delete.append(old_pod)
    remaining = min(max(max_surge - surging, 0), len(candidate_new_nodes))
    plan.nodes_to_create = allowed_new_nodes + candidate_new_nodes[:remaining]
    return plan
