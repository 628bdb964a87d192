"""Deployment status and conditions: Available, Progressing, and the progress deadline.

Pure functions of (deployment, its ReplicaSets, now). `calculate_status` sums the
ReplicaSets' counts and sets Available; `rollout_status` adds the Progressing
condition a rollout step earns:

- NewReplicaSetAvailable (True): the rollout is complete;
- ReplicaSetUpdated (True): something moved since the last status (more updated,
  fewer old, more ready or available pods); lastUpdateTime is refreshed, which is
  what the deadline is measured from;
- ProgressDeadlineExceeded (False): nothing moved for progressDeadlineSeconds.
`kubectl rollout status` stops waiting when observedGeneration >= generation and
updated == replicas == available == spec.replicas, and fails on the deadline.

Kubernetes counterpart: pkg/controller/deployment/progress.go,
pkg/controller/deployment/util/deployment_util.go (conditions, DeploymentComplete)
"""

from __future__ import annotations

from tinykube.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentStatus,
    ReplicaSet,
)
from tinykube.api.meta import get_condition, parse_rfc3339

from controller_manager.deployment.util import (
    actual_replica_count,
    available_replica_count,
    has_progress_deadline,
    max_unavailable,
    ready_replica_count,
    replica_count,
    replicas_of,
)

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"

# Reasons (pkg/controller/deployment/util/deployment_util.go)
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
RS_UPDATED_REASON = "ReplicaSetUpdated"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
PAUSED_DEPLOY_REASON = "DeploymentPaused"
RESUMED_DEPLOY_REASON = "DeploymentResumed"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"


def new_condition(type: str, status: str, reason: str, message: str, now: str) -> DeploymentCondition:
    return DeploymentCondition(type=type, status=status, reason=reason, message=message,
                               last_update_time=now, last_transition_time=now)


def set_condition(status: DeploymentStatus, condition: DeploymentCondition) -> None:
    """Add or replace; keep lastTransitionTime while the status value is unchanged, and
    change nothing at all if status and reason are the same (SetDeploymentCondition)."""
    current = get_condition(status.conditions, condition.type)
    if current is not None and current.status == condition.status and current.reason == condition.reason:
        return
    if current is not None and current.status == condition.status:
        condition = condition.model_copy(update={"last_transition_time": current.last_transition_time})
    status.conditions = [c for c in status.conditions or () if c.type != condition.type] + [condition]


def remove_condition(status: DeploymentStatus, type: str) -> None:
    remaining = [c for c in status.conditions or () if c.type != type]
    status.conditions = remaining or None


def deployment_complete(d: Deployment, status: DeploymentStatus) -> bool:
    """Every replica updated and available, and the latest spec observed."""
    replicas = replicas_of(d)
    return ((status.updated_replicas or 0) == replicas and (status.replicas or 0) == replicas
            and (status.available_replicas or 0) == replicas
            and (status.observed_generation or 0) >= (d.metadata.generation or 0))


def deployment_progressing(d: Deployment, new: DeploymentStatus) -> bool:
    old = d.status or DeploymentStatus()
    old_old = (old.replicas or 0) - (old.updated_replicas or 0)
    new_old = (new.replicas or 0) - (new.updated_replicas or 0)
    return ((new.updated_replicas or 0) > (old.updated_replicas or 0) or new_old < old_old
            or (new.ready_replicas or 0) > (old.ready_replicas or 0)
            or (new.available_replicas or 0) > (old.available_replicas or 0))


def deployment_timed_out(d: Deployment, status: DeploymentStatus, now_epoch_seconds: float) -> bool:
    if not has_progress_deadline(d):
        return False
    condition = get_condition(status.conditions, PROGRESSING)
    if condition is None or condition.reason == NEW_RS_AVAILABLE_REASON:
        return False
    if condition.reason == TIMED_OUT_REASON:
        return True
    if not condition.last_update_time:
        return False
    since = parse_rfc3339(condition.last_update_time).timestamp()
    return since + ((d.spec.progress_deadline_seconds or 0) if d.spec else 0) < now_epoch_seconds


def calculate_status(all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment,
                     now: str) -> DeploymentStatus:
    available = available_replica_count(all_rss)
    total = replica_count(all_rss)
    old = d.status or DeploymentStatus()
    status = DeploymentStatus(
        observed_generation=d.metadata.generation,
        replicas=actual_replica_count(all_rss),
        updated_replicas=actual_replica_count([new_rs]),
        ready_replicas=ready_replica_count(all_rss),
        available_replicas=available,
        unavailable_replicas=max(0, total - available),
        collision_count=old.collision_count,
        conditions=[c.model_copy() for c in old.conditions or ()] or None,
    )
    if available >= replicas_of(d) - max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE,
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE,
                                            "Deployment does not have minimum availability.", now))
    return status


def rollout_status(all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment,
                   now: str, now_epoch_seconds: float) -> DeploymentStatus:
    """The status after one rollout step, Progressing and ReplicaFailure included."""
    status = calculate_status(all_rss, new_rs, d, now)
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(d.status.conditions if d.status else None, PROGRESSING)
    complete_before = (status.replicas == status.updated_replicas and current is not None
                       and current.reason == NEW_RS_AVAILABLE_REASON)
    subject = f'ReplicaSet "{new_rs.metadata.name}"' if new_rs else f'Deployment "{d.metadata.name}"'
    if has_progress_deadline(d) and not complete_before:
        if deployment_complete(d, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE_REASON,
                                                f"{subject} has successfully progressed.", now))
        elif deployment_progressing(d, status):
            condition = new_condition(PROGRESSING, "True", RS_UPDATED_REASON,
                                      f"{subject} is progressing.", now)
            # Refresh lastUpdateTime (the deadline restarts) but keep the transition time.
            if current is not None:
                if current.status == "True":
                    condition.last_transition_time = current.last_transition_time
                remove_condition(status, PROGRESSING)
            set_condition(status, condition)
        elif deployment_timed_out(d, status, now_epoch_seconds):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT_REASON,
                                                f"{subject} has timed out progressing.", now))
    failure = replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def replica_failure(all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None) -> DeploymentCondition | None:
    """A ReplicaSet's ReplicaFailure condition, the new ReplicaSet's first."""
    for rs in [new_rs, *all_rss]:
        condition = get_condition(rs.status.conditions if rs and rs.status else None, REPLICA_FAILURE)
        if condition is not None:
            return DeploymentCondition(type=REPLICA_FAILURE, status=condition.status,
                                       reason=condition.reason, message=condition.message,
                                       last_update_time=condition.last_transition_time,
                                       last_transition_time=condition.last_transition_time)
    return None


def stuck_requeue_seconds(d: Deployment, status: DeploymentStatus, now_epoch_seconds: float) -> float | None:
    """When to look again so a stalled rollout is marked timed out (requeueStuckDeployment);
    None if nothing needs checking."""
    current = get_condition(status.conditions, PROGRESSING)
    if not has_progress_deadline(d) or current is None or deployment_complete(d, status):
        return None
    if current.reason == TIMED_OUT_REASON or not current.last_update_time:
        return None
    since = parse_rfc3339(current.last_update_time).timestamp()
    deadline = (d.spec.progress_deadline_seconds or 0) if d.spec else 0
    return max(0.0, since + deadline - now_epoch_seconds)
