"""A StatefulSet pod's identity and storage, and its claims' ownership: pure functions.

- Identity: pod `<set>-<ordinal>` with the labels `statefulset.kubernetes.io/pod-name`
  and `apps.kubernetes.io/pod-index`, `spec.hostname` = its name and
  `spec.subdomain` = spec.serviceName (the headless Service that gives it DNS).
- Storage: per volumeClaimTemplate `T`, the claim `T-<set>-<ordinal>`; the pod's
  volume named `T` refers to it (replacing a template volume of that name).
- A pod's revision is its `controller-revision-hash` label, which for StatefulSets
  holds the revision's *name* (`<set>-<hash>`), as upstream's setPodRevision.
- Claims' ownerReferences follow persistentVolumeClaimRetentionPolicy
  (`claim_owner_references`): whenDeleted=Delete makes the set an owner (the garbage
  collector then deletes the claim with the set), whenScaled=Delete makes a pod that
  was scaled away the owner (the claim goes with the pod). Retain removes the refs.
- Ordinals run from spec.ordinals.start (default 0) for spec.replicas pods.

Kubernetes counterpart: pkg/controller/statefulset/stateful_set_utils.go
"""

from __future__ import annotations

import re

from controller_manager.controller_utils import get_pod_from_template
from controller_manager.history import CONTROLLER_REVISION_HASH_LABEL
from tinykube.api.apps import StatefulSet
from tinykube.api.core import (
    PersistentVolumeClaimVolumeSource, Pod, PodPhase, PodSpec, PodTemplateSpec, Volume, pod_is_available,
    pod_is_ready,
)
from tinykube.api.meta import ObjectMeta, OwnerReference, new_controller_ref
from tinykube.api.other import PersistentVolumeClaim
from tinykube.api.registry import deep_copy

STATEFUL_SET_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
RETAIN, DELETE = "Retain", "Delete"
ORDERED_READY, PARALLEL = "OrderedReady", "Parallel"
ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"

_POD_NAME = re.compile(r"^(.*)-([0-9]+)$")


# --- ordinals -------------------------------------------------------------------------


def get_parent_name_and_ordinal(pod: Pod) -> tuple[str, int]:
    """("db", 2) for pod db-2; ("", -1) for a name without an ordinal."""
    match = _POD_NAME.match(pod.metadata.name or "")
    return (match.group(1), int(match.group(2))) if match else ("", -1)


def get_ordinal(pod: Pod) -> int:
    return get_parent_name_and_ordinal(pod)[1]


def replicas_of(sts: StatefulSet) -> int:
    return sts.spec.replicas if sts.spec and sts.spec.replicas is not None else 1


def get_start_ordinal(sts: StatefulSet) -> int:
    ordinals = sts.spec.ordinals if sts.spec else None
    return ordinals.start or 0 if ordinals else 0


def pod_in_ordinal_range(pod: Pod, sts: StatefulSet) -> bool:
    start = get_start_ordinal(sts)
    return start <= get_ordinal(pod) < start + replicas_of(sts)


def is_member_of(sts: StatefulSet, pod: Pod) -> bool:
    return get_parent_name_and_ordinal(pod)[0] == sts.metadata.name


def get_pod_name(sts: StatefulSet, ordinal: int) -> str:
    return f"{sts.metadata.name}-{ordinal}"


def get_pod_revision(pod: Pod) -> str:
    return (pod.metadata.labels or {}).get(CONTROLLER_REVISION_HASH_LABEL, "")


# --- pod health ---------------------------------------------------------------------------


def is_created(pod: Pod) -> bool:
    return bool(pod.status and pod.status.phase)


def is_terminating(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is not None


def is_failed_or_succeeded(pod: Pod) -> bool:
    return bool(pod.status and pod.status.phase in (PodPhase.FAILED, PodPhase.SUCCEEDED))


def is_running_and_ready(pod: Pod) -> bool:
    return bool(pod.status and pod.status.phase == PodPhase.RUNNING) and pod_is_ready(pod)


def is_running_and_available(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    return is_running_and_ready(pod) and pod_is_available(pod, min_ready_seconds, now)


def is_healthy(pod: Pod, min_ready_seconds: int = 0, now: float = 0.0) -> bool:
    """Running, ready (for minReadySeconds) and not being deleted."""
    return is_running_and_available(pod, min_ready_seconds, now) and not is_terminating(pod)


# --- identity and storage -------------------------------------------------------------------


def identity_matches(sts: StatefulSet, pod: Pod) -> bool:
    parent, ordinal = get_parent_name_and_ordinal(pod)
    labels = pod.metadata.labels or {}
    spec = pod.spec or PodSpec(containers=[])
    return (ordinal >= 0 and parent == sts.metadata.name and pod.metadata.namespace == sts.metadata.namespace
            and labels.get(STATEFUL_SET_POD_NAME_LABEL) == pod.metadata.name
            and labels.get(POD_INDEX_LABEL) == str(ordinal)
            and spec.hostname == pod.metadata.name
            and spec.subdomain == ((sts.spec.service_name or None) if sts.spec else None))


def update_identity(sts: StatefulSet, pod: Pod) -> None:
    """Give `pod` (a copy) the name, labels, hostname and subdomain of its ordinal."""
    ordinal = get_ordinal(pod)
    pod.metadata.namespace = sts.metadata.namespace
    pod.metadata.labels = {**(pod.metadata.labels or {}), STATEFUL_SET_POD_NAME_LABEL: pod.metadata.name or "",
                           POD_INDEX_LABEL: str(ordinal)}
    spec = pod.spec or PodSpec(containers=[])
    spec.hostname = pod.metadata.name
    spec.subdomain = (sts.spec.service_name or None) if sts.spec else None
    pod.spec = spec


def claim_name(template: PersistentVolumeClaim, sts: StatefulSet, ordinal: int) -> str:
    return f"{template.metadata.name}-{sts.metadata.name}-{ordinal}"


def get_persistent_volume_claims(sts: StatefulSet, pod: Pod) -> dict[str, PersistentVolumeClaim]:
    """Template name -> the claim `pod` needs, as it would be created."""
    ordinal = get_ordinal(pod)
    match_labels = (sts.spec.selector.match_labels if sts.spec and sts.spec.selector else None) or {}
    claims: dict[str, PersistentVolumeClaim] = {}
    for template in (sts.spec.volume_claim_templates if sts.spec else None) or []:
        claim = deep_copy(template)
        claim.metadata = ObjectMeta(
            name=claim_name(template, sts, ordinal), namespace=sts.metadata.namespace,
            labels={**(template.metadata.labels or {}), **match_labels} or None,
            annotations=dict(template.metadata.annotations) if template.metadata.annotations else None)
        claim.status = None
        claims[template.metadata.name or ""] = claim
    return claims


def storage_matches(sts: StatefulSet, pod: Pod) -> bool:
    volumes = {v.name: v for v in (pod.spec.volumes if pod.spec else None) or []}
    for name, claim in get_persistent_volume_claims(sts, pod).items():
        volume = volumes.get(name)
        source = volume.persistent_volume_claim if volume else None
        if source is None or source.claim_name != claim.metadata.name:
            return False
    return True


def update_storage(sts: StatefulSet, pod: Pod) -> None:
    """Point `pod`'s (a copy) claim volumes at its ordinal's claims."""
    claims = get_persistent_volume_claims(sts, pod)
    if not claims:
        return
    spec = pod.spec or PodSpec(containers=[])
    volumes = [Volume(name=name, persistent_volume_claim=PersistentVolumeClaimVolumeSource(
        claim_name=claim.metadata.name)) for name, claim in claims.items()]
    spec.volumes = volumes + [v for v in spec.volumes or [] if v.name not in claims]
    pod.spec = spec


def new_stateful_set_pod(sts: StatefulSet, template: PodTemplateSpec, ordinal: int, revision_name: str) -> Pod:
    """The pod for `ordinal` made from `template` (a revision's), labelled with the revision."""
    pod = get_pod_from_template(template, sts, new_controller_ref(sts))
    pod.metadata.generate_name = None
    pod.metadata.name = get_pod_name(sts, ordinal)
    update_identity(sts, pod)
    update_storage(sts, pod)
    pod.metadata.labels = {**(pod.metadata.labels or {}), CONTROLLER_REVISION_HASH_LABEL: revision_name}
    return pod


# --- claim retention --------------------------------------------------------------------------


def retention_policy(sts: StatefulSet) -> tuple[str, str]:
    """(whenDeleted, whenScaled); Retain unless set."""
    policy = sts.spec.persistent_volume_claim_retention_policy if sts.spec else None
    return ((policy.when_deleted if policy else None) or RETAIN, (policy.when_scaled if policy else None) or RETAIN)


def _owner_ref(obj: StatefulSet | Pod) -> OwnerReference:
    return OwnerReference(api_version=obj.api_version, kind=obj.kind, name=obj.metadata.name or "",
                          uid=obj.metadata.uid or "")


def claim_owner_references(sts: StatefulSet, pod: Pod, claim: PersistentVolumeClaim) -> list[OwnerReference]:
    """The claim's ownerReferences as the retention policy wants them for `pod`
    (updateClaimOwnerRefForSetAndPod); refs to anything else are kept."""
    when_deleted, when_scaled = retention_policy(sts)
    scaled_down = not pod_in_ordinal_range(pod, sts)
    want_set = when_deleted == DELETE and not (when_scaled == DELETE and scaled_down)
    want_pod = when_scaled == DELETE and scaled_down
    ours = {sts.metadata.uid, pod.metadata.uid}
    refs = [r for r in claim.metadata.owner_references or [] if r.uid not in ours]
    if want_set:
        refs.append(_owner_ref(sts))
    if want_pod:
        refs.append(_owner_ref(pod))
    return refs


def claim_matches_retention_policy(sts: StatefulSet, pod: Pod, claim: PersistentVolumeClaim) -> bool:
    have = {r.uid for r in claim.metadata.owner_references or []}
    return have == {r.uid for r in claim_owner_references(sts, pod, claim)}


def claim_is_stale(claim: PersistentVolumeClaim, pod_uid: str | None) -> bool:
    """The claim is owned by an earlier pod of this ordinal: the garbage collector is
    about to delete it, so a new pod must wait (PodClaimIsStale)."""
    return any(r.kind == "Pod" and r.uid != pod_uid for r in claim.metadata.owner_references or [])
