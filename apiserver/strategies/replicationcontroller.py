"""ReplicationControllers (core/v1): the ReplicaSet's ancestor, with a plain label map.

Differences from a ReplicaSet that the API server owns:
- defaulting: an empty `spec.selector` becomes the template's labels, and an object
  without labels takes the template's labels too (so `kubectl get rc -l app=x` finds
  it); `replicas` defaults to 1;
- the selector may change after create (a ReplicaSet's may not);
- the template is required, must carry the selector's labels, and must restart
  Always, with no activeDeadlineSeconds (the pods are meant to run for ever).

Kubernetes counterpart: pkg/registry/core/replicationcontroller/strategy.go,
pkg/apis/core/v1/defaults.go (SetDefaults_ReplicationController),
pkg/apis/core/validation/validation.go (ValidateReplicationControllerSpec)
"""

from __future__ import annotations

from typing import Any

from apiserver.strategies.podspec import default_pod_spec, validate_pod_spec
from apiserver.strategy import Obj, Strategy
from tinykube.api.validation import FieldError, forbidden, invalid, not_supported, required


class ReplicationControllerStrategy(Strategy):
    def _default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        template = spec.get("template")
        if isinstance(template, dict):
            labels = (template.get("metadata") or {}).get("labels") or {}
            if labels and not spec.get("selector"):
                spec["selector"] = dict(labels)
            metadata = obj.setdefault("metadata", {})
            if labels and not metadata.get("labels"):
                metadata["labels"] = dict(labels)
            if isinstance(template.get("spec"), dict):
                default_pod_spec(template["spec"])
        spec.setdefault("replicas", 1)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_replication_controller_spec(obj.get("spec"))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return super().validate_update(new, old) + validate_replication_controller_spec(new.get("spec"))


def validate_replication_controller_spec(spec: Any) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required("spec")]
    errs: list[FieldError] = []
    for field in ("minReadySeconds", "replicas"):
        value = spec.get(field)
        if isinstance(value, int) and value < 0:
            errs.append(invalid(f"spec.{field}", value, "must be greater than or equal to 0"))
    selector = spec.get("selector") or {}
    if not selector:
        errs.append(required("spec.selector"))
    template = spec.get("template")
    if not isinstance(template, dict) or not template:
        errs.append(required("spec.template"))
        return errs
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and any(labels.get(key) != value for key, value in selector.items()):
        errs.append(invalid("spec.template.metadata.labels", labels,
                            "`selector` does not match template `labels`"))
    pod_spec = template.get("spec")
    errs.extend(validate_pod_spec(pod_spec, "spec.template.spec"))
    if isinstance(pod_spec, dict):
        policy = pod_spec.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
        if pod_spec.get("activeDeadlineSeconds") is not None:
            errs.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                                  "activeDeadlineSeconds in ReplicationController is not Supported"))
    return errs
