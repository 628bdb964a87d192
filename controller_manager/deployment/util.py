"""Pure helpers of the Deployment controller: hashes, revisions, annotations, fenceposts.

Everything here is a function of its arguments (no client, no cache), so it is
tested with tables. The rollout code in `rolling`, `recreate` and `sync` is written
in terms of these.

- `compute_hash(template, collision_count)`: the `pod-template-hash` label value.
  Upstream hashes the Go struct with FNV-32a (hashutil.DeepHashObject); we hash the
  template's canonical JSON (sorted keys) with FNV-32a instead, so the values differ
  from a real cluster's but are just as stable, and a bumped collisionCount still
  gives a new value. Both are encoded with the same "safe" alphabet.
- maxSurge rounds percentages up, maxUnavailable rounds down; if both come out 0,
  maxUnavailable becomes 1 so a rollout can always make progress.

Kubernetes counterpart: pkg/controller/deployment/util/deployment_util.go,
pkg/controller/controller_utils.go (ComputeHash), k8s.io/apimachinery/pkg/util/intstr
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from tinykube.api.apps import Deployment, ReplicaSet
from tinykube.api.core import PodTemplateSpec
from tinykube.api.meta import IntOrString, parse_rfc3339

DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations that are not copied onto its ReplicaSets.
_SKIPPED_ANNOTATIONS = frozenset({LAST_APPLIED_ANNOTATION, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION,
                                  DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION,
                                  "deprecated.deployment.rollback.to"})
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_INT32 = 2**31 - 1


# --- hashing ------------------------------------------------------------------------------


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode_string(text: str) -> str:
    """rand.SafeEncodeString: map every character into an alphabet without vowels."""
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def compute_hash(template: PodTemplateSpec | None, collision_count: int | None) -> str:
    data = json.dumps(template.to_dict() if template else {}, sort_keys=True,
                      separators=(",", ":")).encode()
    if collision_count is not None:
        data += collision_count.to_bytes(4, "little")  # as upstream: LittleEndian uint32
    return safe_encode_string(str(fnv32a(data)))


def template_without_hash(template: PodTemplateSpec | None) -> dict[str, Any]:
    data = template.to_dict() if template else {}
    labels = (data.get("metadata") or {}).get("labels")
    if labels and DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY in labels:
        labels = {k: v for k, v in labels.items() if k != DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY}
        data["metadata"] = {**data["metadata"], "labels": labels}
        if not labels:
            del data["metadata"]["labels"]
    if "metadata" in data and not data["metadata"]:
        del data["metadata"]
    return data


def equal_ignore_hash(a: PodTemplateSpec | None, b: PodTemplateSpec | None) -> bool:
    """Templates equal apart from the pod-template-hash label (EqualIgnoreHash)."""
    return template_without_hash(a) == template_without_hash(b)


# --- int-or-percent ----------------------------------------------------------------------------


def scaled_value_from_int_or_percent(value: IntOrString | None, total: int, round_up: bool) -> int:
    """1 → 1; "25%" of 10 → 3 rounding up, 2 rounding down (intstr.GetScaledValueFromIntOrPercent)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: {value!r} is not a percentage")
    percent = int(value[:-1])
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def is_rolling_update(d: Deployment) -> bool:
    strategy = d.spec.strategy if d.spec else None
    return (strategy.type if strategy and strategy.type else "RollingUpdate") == "RollingUpdate"


def replicas_of(obj: Deployment | ReplicaSet | None) -> int:
    """spec.replicas with the API default of 1."""
    if obj is None or obj.spec is None:
        return 0 if obj is None else 1
    return 1 if obj.spec.replicas is None else obj.spec.replicas


def resolve_fenceposts(max_surge: IntOrString | None, max_unavailable: IntOrString | None,
                       desired: int) -> tuple[int, int]:
    surge = scaled_value_from_int_or_percent(max_surge, desired, True)
    unavailable = scaled_value_from_int_or_percent(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # both rounded to 0: allow one at a time, or nothing could move
    return surge, unavailable


def _rolling_params(d: Deployment) -> tuple[IntOrString | None, IntOrString | None]:
    rolling = d.spec.strategy.rolling_update if d.spec and d.spec.strategy else None
    if rolling is None:
        return "25%", "25%"
    return rolling.max_surge, rolling.max_unavailable


def max_surge(d: Deployment) -> int:
    if not is_rolling_update(d):
        return 0
    return resolve_fenceposts(*_rolling_params(d), replicas_of(d))[0]


def max_unavailable(d: Deployment) -> int:
    if not is_rolling_update(d) or replicas_of(d) == 0:
        return 0
    return min(resolve_fenceposts(*_rolling_params(d), replicas_of(d))[1], replicas_of(d))


# --- revisions and annotations ----------------------------------------------------------------


def revision_of(obj: Deployment | ReplicaSet) -> int:
    value = (obj.metadata.annotations or {}).get(REVISION_ANNOTATION, "")
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


def max_revision(replica_sets: Iterable[ReplicaSet]) -> int:
    return max((revision_of(rs) for rs in replica_sets), default=0)


def set_annotation(obj: Deployment | ReplicaSet, key: str, value: str) -> bool:
    annotations = dict(obj.metadata.annotations or {})
    if annotations.get(key) == value:
        return False
    annotations[key] = value
    obj.metadata.annotations = annotations
    return True


def copy_deployment_annotations_to_replica_set(d: Deployment, rs: ReplicaSet) -> bool:
    changed = False
    for key, value in (d.metadata.annotations or {}).items():
        if key in _SKIPPED_ANNOTATIONS:
            continue
        changed |= set_annotation(rs, key, value)
    return changed


def set_new_replica_set_annotations(d: Deployment, rs: ReplicaSet, new_revision: int,
                                    exists: bool) -> bool:
    """Copy annotations, raise the revision to `new_revision` (a re-used old ReplicaSet
    after a rollback gets the newest number), and for a new one set the replica hints."""
    changed = copy_deployment_annotations_to_replica_set(d, rs)
    old_revision = revision_of(rs)
    if old_revision < new_revision:
        if exists and old_revision:
            history = (rs.metadata.annotations or {}).get(REVISION_HISTORY_ANNOTATION)
            set_annotation(rs, REVISION_HISTORY_ANNOTATION,
                           f"{history},{old_revision}" if history else str(old_revision))
        changed |= set_annotation(rs, REVISION_ANNOTATION, str(new_revision))
    if not exists:
        changed |= set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d))
    return changed


def set_replicas_annotations(rs: ReplicaSet, desired: int, max_replicas: int) -> bool:
    changed = set_annotation(rs, DESIRED_REPLICAS_ANNOTATION, str(desired))
    return set_annotation(rs, MAX_REPLICAS_ANNOTATION, str(max_replicas)) or changed


def replicas_annotations_need_update(rs: ReplicaSet, desired: int, max_replicas: int) -> bool:
    annotations = rs.metadata.annotations or {}
    return (annotations.get(DESIRED_REPLICAS_ANNOTATION) != str(desired)
            or annotations.get(MAX_REPLICAS_ANNOTATION) != str(max_replicas))


def _int_annotation(rs: ReplicaSet, key: str) -> int | None:
    value = (rs.metadata.annotations or {}).get(key)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def desired_replicas_annotation(rs: ReplicaSet) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS_ANNOTATION)


def max_replicas_annotation(rs: ReplicaSet) -> int | None:
    return _int_annotation(rs, MAX_REPLICAS_ANNOTATION)


# --- sets of ReplicaSets ------------------------------------------------------------------


def _created(rs: ReplicaSet) -> float:
    ts = rs.metadata.creation_timestamp
    return parse_rfc3339(ts).timestamp() if ts else 0.0


def by_creation_timestamp(replica_sets: Iterable[ReplicaSet]) -> list[ReplicaSet]:
    """Oldest first; ties by name (ReplicaSetsByCreationTimestamp)."""
    return sorted(replica_sets, key=lambda rs: (_created(rs), rs.metadata.name or ""))


def by_revision(replica_sets: Iterable[ReplicaSet]) -> list[ReplicaSet]:
    """Lowest revision first; ties oldest first (ReplicaSetsByRevision)."""
    return sorted(replica_sets, key=lambda rs: (revision_of(rs), _created(rs), rs.metadata.name or ""))


def by_size_newer(replica_sets: Iterable[ReplicaSet]) -> list[ReplicaSet]:
    """Largest first; ties newest first (ReplicaSetsBySizeNewer, used to scale up)."""
    return sorted(replica_sets, key=lambda rs: (-replicas_of(rs), -_created(rs), rs.metadata.name or ""))


def by_size_older(replica_sets: Iterable[ReplicaSet]) -> list[ReplicaSet]:
    """Largest first; ties oldest first (ReplicaSetsBySizeOlder, used to scale down)."""
    return sorted(replica_sets, key=lambda rs: (-replicas_of(rs), _created(rs), rs.metadata.name or ""))


def filter_active(replica_sets: Iterable[ReplicaSet | None]) -> list[ReplicaSet]:
    """ReplicaSets that want pods (spec.replicas > 0)."""
    return [rs for rs in replica_sets if rs is not None and replicas_of(rs) > 0]


def find_new_replica_set(d: Deployment, replica_sets: Sequence[ReplicaSet]) -> ReplicaSet | None:
    """The oldest ReplicaSet whose template equals the deployment's (ignoring the hash)."""
    template = d.spec.template if d.spec else None
    for rs in by_creation_timestamp(replica_sets):
        if equal_ignore_hash(rs.spec.template if rs.spec else None, template):
            return rs
    return None


def find_old_replica_sets(new_rs: ReplicaSet | None,
                          replica_sets: Sequence[ReplicaSet]) -> list[ReplicaSet]:
    new_uid = new_rs.metadata.uid if new_rs is not None else None
    return [rs for rs in replica_sets if new_rs is None or rs.metadata.uid != new_uid]


def replica_count(replica_sets: Iterable[ReplicaSet | None]) -> int:
    """Sum of spec.replicas (GetReplicaCountForReplicaSets)."""
    return sum(replicas_of(rs) for rs in replica_sets if rs is not None)


def actual_replica_count(replica_sets: Iterable[ReplicaSet | None]) -> int:
    return sum(rs.status.replicas for rs in replica_sets if rs is not None and rs.status)


def ready_replica_count(replica_sets: Iterable[ReplicaSet | None]) -> int:
    return sum(rs.status.ready_replicas or 0 for rs in replica_sets if rs is not None and rs.status)


def available_replica_count(replica_sets: Iterable[ReplicaSet | None]) -> int:
    return sum(rs.status.available_replicas or 0 for rs in replica_sets if rs is not None and rs.status)


def new_rs_new_replicas(d: Deployment, all_rss: Sequence[ReplicaSet | None], new_rs: ReplicaSet) -> int:
    """How many replicas the new ReplicaSet may have now (NewRSNewReplicas)."""
    if not is_rolling_update(d):
        return replicas_of(d)
    max_total = replicas_of(d) + max_surge(d)
    current = replica_count(all_rss)
    if current >= max_total:
        return replicas_of(new_rs)  # at the surge limit: wait for old pods to go
    scale_up = min(max_total - current, replicas_of(d) - replicas_of(new_rs))
    return replicas_of(new_rs) + scale_up


def is_saturated(d: Deployment, rs: ReplicaSet | None) -> bool:
    """The new ReplicaSet has all the deployment's replicas, and they are available."""
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    available = (rs.status.available_replicas or 0) if rs.status else 0
    return desired == replicas_of(d) and replicas_of(rs) == replicas_of(d) and available == replicas_of(d)


def find_active_or_latest(new_rs: ReplicaSet | None, old_rss: Sequence[ReplicaSet]) -> ReplicaSet | None:
    """The one ReplicaSet with pods, or the newest if none has any; None if several do."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation_timestamp(old_rss)))
    active = filter_active([*newest_first, new_rs])
    if len(active) == 0:
        return new_rs if new_rs is not None else newest_first[0]
    if len(active) == 1:
        return active[0]
    return None


def replica_set_fraction(rs: ReplicaSet, d: Deployment) -> int:
    """How many replicas `rs` gains (or loses) if the deployment is resized in proportion."""
    if replicas_of(d) == 0:
        return -replicas_of(rs)
    deployment_replicas = replicas_of(d) + max_surge(d)
    annotated = max_replicas_annotation(rs)
    if annotated is None:
        annotated = (d.status.replicas or 0) if d.status else 0
    if annotated == 0:
        return 0
    new_size = replicas_of(rs) * deployment_replicas / annotated
    return _round_half_away(new_size) - replicas_of(rs)


def _round_half_away(value: float) -> int:
    """Go's math.Round (half away from zero), not Python's banker's rounding."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


def get_proportion(rs: ReplicaSet | None, d: Deployment, to_add: int, added: int) -> int:
    if rs is None or replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def has_progress_deadline(d: Deployment) -> bool:
    deadline = d.spec.progress_deadline_seconds if d.spec else None
    return deadline is not None and deadline != MAX_INT32


def has_revision_history_limit(d: Deployment) -> bool:
    limit = d.spec.revision_history_limit if d.spec else None
    return limit is not None and limit != MAX_INT32
