"""A StatefulSet's status from its pods and revisions: a pure function.

- replicas: pods created (the API server has given them a phase), terminating ones too;
- readyReplicas / availableReplicas: Running and Ready (for minReadySeconds);
- currentReplicas / updatedReplicas: pods not being deleted whose revision label is
  the current / update revision;
- once a RollingUpdate has every pod updated and ready, the update revision becomes
  the current one (completeRollingUpdate). OnDelete keeps the old current revision.

These are the columns of `kubectl get sts` (READY = readyReplicas/spec.replicas) and
what `kubectl rollout status sts/x` waits on.

Kubernetes counterpart: pkg/controller/statefulset/stateful_set_control.go
(computeReplicaStatus, completeRollingUpdate, inconsistentStatus)
"""

from __future__ import annotations

from collections.abc import Sequence

from controller_manager.statefulset.control import strategy_type
from controller_manager.statefulset.utils import (
    ROLLING_UPDATE, get_pod_revision, is_created, is_running_and_available, is_running_and_ready, is_terminating,
)
from tinykube.api.apps import StatefulSet, StatefulSetStatus
from tinykube.api.core import Pod
from tinykube.api.registry import deep_copy


def calculate_status(sts: StatefulSet, pods: Sequence[Pod], current_revision: str, update_revision: str,
                     now: float) -> StatefulSetStatus:
    status = deep_copy(sts.status) if sts.status else StatefulSetStatus()
    min_ready = (sts.spec.min_ready_seconds or 0) if sts.spec else 0
    replicas = ready = available = current = updated = 0
    for pod in pods:
        replicas += is_created(pod)
        if is_running_and_ready(pod):
            ready += 1
            available += is_running_and_available(pod, min_ready, now)
        if is_created(pod) and not is_terminating(pod):
            current += get_pod_revision(pod) == current_revision
            updated += get_pod_revision(pod) == update_revision
    status.observed_generation = sts.metadata.generation
    status.replicas = replicas
    status.ready_replicas = ready
    status.available_replicas = available
    status.current_replicas = current
    status.updated_replicas = updated
    status.current_revision = current_revision
    status.update_revision = update_revision
    if strategy_type(sts) == ROLLING_UPDATE and updated == replicas and ready == replicas:
        status.current_replicas = updated
        status.current_revision = update_revision
    return status
