"""Rollout logic behind `tinykube rollout`: revisions, rollback patches, status.

- A Deployment's history is the ReplicaSets it controls (controller
  ownerReference with its UID), each numbered by its
  `deployment.kubernetes.io/revision` annotation.
- Undo sends kubectl's JSON patch: replace `/spec/template` with the old
  ReplicaSet's template minus the `pod-template-hash` label, and replace
  `/metadata/annotations` with the Deployment's own bookkeeping annotations plus
  the ReplicaSet's others.
- `deployment_status` is kubectl's status viewer: a message and whether the
  rollout is done; a ProgressDeadlineExceeded condition is an error.
- A DaemonSet's or StatefulSet's history is the ControllerRevisions it controls,
  numbered by their `revision` field; undo sends the chosen revision's `data` (a
  strategic merge patch that replaces spec.template) back to it, as kubectl does.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollback.go,
.../polymorphichelpers/history.go, .../polymorphichelpers/rollout_status.go
(DaemonSetRollbacker, DaemonSetHistoryViewer, DaemonSetStatusViewer, StatefulSetRollbacker,
StatefulSetStatusViewer)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
POD_TEMPLATE_HASH = "pod-template-hash"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations that belong to the Deployment itself, never copied from a ReplicaSet.
ANNOTATIONS_TO_SKIP = frozenset({
    LAST_APPLIED, REVISION, "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
})


class RolloutError(Exception):
    """A rollout command cannot proceed (printed as `error: ...`)."""


def revision_of(obj: Mapping[str, Any]) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def owned_replica_sets(deployment: Mapping[str, Any], replica_sets: list[Obj]) -> list[Obj]:
    """The ReplicaSets whose controller ownerReference is this Deployment."""
    uid = (deployment.get("metadata") or {}).get("uid")
    return [rs for rs in replica_sets
            if any(ref.get("controller") and ref.get("uid") == uid
                   for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]


def history(deployment: Mapping[str, Any], replica_sets: list[Obj]) -> dict[int, Obj]:
    """revision → ReplicaSet, for the Deployment's ReplicaSets."""
    return {revision_of(rs): rs for rs in owned_replica_sets(deployment, replica_sets)}


def change_cause(rs: Mapping[str, Any]) -> str:
    return ((rs.get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE) or "<none>"


def template_without_hash(template: Mapping[str, Any]) -> Obj:
    result = copy.deepcopy(dict(template))
    labels = (result.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH, None)
    return result


@dataclass(frozen=True)
class Rollback:
    """What undo decided: a JSON patch to send, or a reason to skip."""

    revision: int
    patch: list[Obj] | None


def rollback(deployment: Mapping[str, Any], replica_sets: list[Obj], to_revision: int = 0) -> Rollback:
    """The JSON patch that rolls `deployment` back to `to_revision` (0: the previous one)."""
    name = deployment["metadata"]["name"]
    if (deployment.get("spec") or {}).get("paused"):
        raise RolloutError("you cannot rollback a paused deployment; resume it first with "
                           "'tinykube rollout resume' and try again")
    revisions = history(deployment, replica_sets)
    if to_revision > 0:
        if to_revision not in revisions:
            raise RolloutError(f"unable to find specified revision {to_revision} in history")
        target_revision = to_revision
    else:
        ordered = sorted(revisions)
        if len(ordered) < 2:
            raise RolloutError(f'no rollout history found for deployment "{name}"')
        target_revision = ordered[-2]
    rs = revisions[target_revision]
    template = template_without_hash((rs.get("spec") or {}).get("template") or {})
    current = template_without_hash((deployment.get("spec") or {}).get("template") or {})
    if template == current:
        return Rollback(target_revision, None)
    own = (deployment.get("metadata") or {}).get("annotations") or {}
    annotations = {k: v for k, v in own.items() if k in ANNOTATIONS_TO_SKIP}
    annotations.update({k: v for k, v in ((rs.get("metadata") or {}).get("annotations") or {}).items()
                        if k not in ANNOTATIONS_TO_SKIP})
    return Rollback(target_revision, [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ])


def deployment_status(deployment: Mapping[str, Any]) -> tuple[str, bool]:
    """kubectl's message for the rollout's progress, and whether it is done."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    generation = int(deployment["metadata"].get("generation") or 0)
    if generation > int(status.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed...", False
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and \
                condition.get("reason") == "ProgressDeadlineExceeded":
            raise RolloutError(f'deployment "{name}" exceeded its progress deadline')
    wanted = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    replicas = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {wanted} '
                "new replicas have been updated..."), False
    if replicas > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old '
                "replicas are pending termination..."), False
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
                "updated replicas are available..."), False
    return f'deployment "{name}" successfully rolled out', True


# --- DaemonSets: history in ControllerRevisions ------------------------------------------


def owned_revisions(owner: Mapping[str, Any], revisions: list[Obj]) -> dict[int, Obj]:
    """revision number → ControllerRevision, for the revisions `owner` controls."""
    return {int(r.get("revision") or 0): r for r in owned_replica_sets(owner, revisions)}


def revision_template(revision: Mapping[str, Any]) -> Obj:
    """The pod template a ControllerRevision's patch restores."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def daemon_set_patch(daemon_set: Mapping[str, Any]) -> Obj:
    """The patch the DaemonSet and StatefulSet controllers store as a revision's data (getPatch)."""
    template = ((daemon_set.get("spec") or {}).get("template")) or {}
    return {"spec": {"template": {**template, "$patch": "replace"}}}


@dataclass(frozen=True)
class RevisionRollback:
    """What undo decided for a DaemonSet: a strategic merge patch, or None to skip."""

    revision: int
    patch: Obj | None


def rollback_daemon_set(daemon_set: Mapping[str, Any], revisions: list[Obj],
                        to_revision: int = 0) -> RevisionRollback:
    """kubectl's DaemonSetRollbacker (and StatefulSetRollbacker, the same): send the
    revision's data back as a patch."""
    history_ = owned_revisions(daemon_set, revisions)
    if to_revision == 0 and len(history_) <= 1:
        raise RolloutError("no last revision to roll back to")
    if to_revision > 0:
        target = history_.get(to_revision)
    else:
        ordered = sorted(history_)
        target = history_[ordered[-2]]
    if target is None:
        raise RolloutError(f"unable to find specified revision {to_revision} in history")
    number = int(target.get("revision") or 0)
    if (target.get("data") or {}) == daemon_set_patch(daemon_set):
        return RevisionRollback(number, None)
    return RevisionRollback(number, target.get("data") or {})


def daemon_set_status(daemon_set: Mapping[str, Any]) -> tuple[str, bool]:
    """kubectl's DaemonSetStatusViewer: a message and whether the rollout is done."""
    name = daemon_set["metadata"]["name"]
    spec, status = daemon_set.get("spec") or {}, daemon_set.get("status") or {}
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        raise RolloutError("rollout status is only available for RollingUpdate strategy type")
    generation = int(daemon_set["metadata"].get("generation") or 0)
    if generation > int(status.get("observedGeneration") or 0):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} '
                "new pods have been updated..."), False
    if available < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} '
                "updated pods are available..."), False
    return f'daemon set "{name}" successfully rolled out', True


def stateful_set_status(stateful_set: Mapping[str, Any]) -> tuple[str, bool]:
    """kubectl's StatefulSetStatusViewer: a message and whether the rollout is done."""
    spec, status = stateful_set.get("spec") or {}, stateful_set.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise RolloutError("rollout status is only available for RollingUpdate strategy type")
    generation = int(stateful_set["metadata"].get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or generation > observed:
        return "Waiting for statefulset spec update to be observed...", False
    replicas = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    if ready < replicas:
        return f"Waiting for {replicas - ready} pods to be ready...", False
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if partition is not None and updated < replicas - int(partition):
            return (f"Waiting for partitioned roll out to finish: {updated} out of {replicas - int(partition)} "
                    "new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{status.get('updateRevision')}..."), False
    return (f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods at revision "
            f"{status.get('currentRevision')}..."), True
