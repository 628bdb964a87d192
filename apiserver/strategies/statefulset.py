"""StatefulSet-only API rules, called by the workload strategy.

- podManagementPolicy is OrderedReady or Parallel; updateStrategy RollingUpdate or
  OnDelete (rollingUpdate only with RollingUpdate; partition >= 0; maxUnavailable a
  positive count or percentage); persistentVolumeClaimRetentionPolicy whenDeleted and
  whenScaled are Retain or Delete; the template's restartPolicy is Always; ordinals.start >= 0.
- On update only replicas, ordinals, template, updateStrategy, revisionHistoryLimit,
  persistentVolumeClaimRetentionPolicy and minReadySeconds may change (kube-apiserver's
  message, word for word).

Kubernetes counterpart: pkg/apis/apps/validation/validation.go (ValidateStatefulSetSpec,
ValidateStatefulSetUpdate)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.validation import FieldError, forbidden, invalid, not_supported

Obj = dict[str, Any]

MUTABLE_SPEC_FIELDS = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
FORBIDDEN_UPDATE = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                    "'minReadySeconds' are forbidden")


def validate_stateful_set_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        errs.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind not in ("RollingUpdate", "OnDelete"):
        errs.append(invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"))
    elif kind == "OnDelete" and rolling is not None:
        errs.append(invalid("spec.updateStrategy.rollingUpdate", rolling,
                            "only allowed for updateStrategy 'RollingUpdate'"))
    elif isinstance(rolling, dict):
        partition = rolling.get("partition")
        if isinstance(partition, int) and partition < 0:
            errs.append(invalid("spec.updateStrategy.rollingUpdate.partition", partition,
                                "must be greater than or equal to 0"))
        errs += _validate_max_unavailable(rolling.get("maxUnavailable"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    for key in ("whenDeleted", "whenScaled"):
        if retention.get(key) not in ("Retain", "Delete"):
            errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", retention.get(key),
                                      ["Retain", "Delete"]))
    restart = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if restart is not None and restart != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    start = (spec.get("ordinals") or {}).get("start")
    if isinstance(start, int) and start < 0:
        errs.append(invalid("spec.ordinals.start", start, "must be greater than or equal to 0"))
    return errs


def _validate_max_unavailable(value: Any) -> list[FieldError]:
    field = "spec.updateStrategy.rollingUpdate.maxUnavailable"
    if value is None:
        return []
    if isinstance(value, int):
        return [] if value > 0 else [invalid(field, value, "must be greater than 0")]
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        return [invalid(field, value, "a valid percent string must be a numeric string followed by an "
                                      "ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]
    percent = int(text[:-1])
    if percent > 100:
        return [invalid(field, value, "must not be greater than 100%")]
    return [] if percent > 0 else [invalid(field, value, "must be greater than 0")]


def validate_stateful_set_update(new: Obj, old: Obj) -> list[FieldError]:
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    fixed = set(new_spec) | set(old_spec)
    if any(new_spec.get(k) != old_spec.get(k) for k in fixed if k not in MUTABLE_SPEC_FIELDS):
        return [forbidden("spec", FORBIDDEN_UPDATE)]
    return []
