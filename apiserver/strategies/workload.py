"""Deployments, ReplicaSets, StatefulSets and DaemonSets: defaults and the
selector rules every controller relies on.

- spec.selector is required, must select the template's labels, and never
  changes after create (a controller would otherwise orphan its pods);
- the pod template gets the same defaults and checks as a pod.

Kubernetes counterpart: pkg/registry/apps/deployment/strategy.go,
pkg/apis/apps/validation/validation.go, pkg/apis/apps/v1/defaults.go
"""

from __future__ import annotations

from typing import Any

from apiserver.strategies.podspec import default_pod_spec, validate_pod_spec
from apiserver.strategies.statefulset import validate_stateful_set_spec, validate_stateful_set_update
from apiserver.strategy import Obj, Strategy
from tinykube.api.selectors import SelectorError, label_selector_from_dict
from tinykube.api.validation import FieldError, invalid, required

# A DaemonSet's spec.templateGeneration, which apps/v1 carries as this annotation.
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

_DEFAULTS: dict[str, dict[str, Any]] = {
    "Deployment": {
        "replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    },
    "ReplicaSet": {"replicas": 1},
    "StatefulSet": {
        "replicas": 1, "revisionHistoryLimit": 10, "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    },
    "DaemonSet": {
        "revisionHistoryLimit": 10,
        "updateStrategy": {"type": "RollingUpdate",
                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
    },
}


class WorkloadStrategy(Strategy):
    def _default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        for key, value in _DEFAULTS.get(self.info.kind, {}).items():
            if key not in spec:
                spec[key] = value
            elif isinstance(value, dict) and isinstance(spec[key], dict) and \
                    spec[key].get("type", value.get("type")) == value.get("type"):
                for inner, inner_value in value.items():
                    spec[key].setdefault(inner, inner_value)
        template_spec = (spec.get("template") or {}).get("spec")
        if isinstance(template_spec, dict):
            default_pod_spec(template_spec)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._default(obj)
        if self.info.kind == "DaemonSet":
            _set_template_generation(obj, 1)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)
        if self.info.kind == "DaemonSet":
            # spec.templateGeneration (kept in an annotation in apps/v1) counts template changes.
            generation = _template_generation(old)
            if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
                generation += 1
            _set_template_generation(new, generation)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj) + _validate_workload_spec(obj.get("spec"))
        if self.info.kind == "StatefulSet" and isinstance(obj.get("spec"), dict):
            errs += validate_stateful_set_spec(obj["spec"])
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old) + _validate_workload_spec(new.get("spec"))
        if self.info.kind == "StatefulSet" and isinstance(new.get("spec"), dict):
            errs += validate_stateful_set_spec(new["spec"]) + validate_stateful_set_update(new, old)
        new_selector = (new.get("spec") or {}).get("selector")
        old_selector = (old.get("spec") or {}).get("selector")
        if new_selector != old_selector:
            errs.append(invalid("spec.selector", new_selector, "field is immutable"))
        return errs


def _template_generation(obj: Obj) -> int:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _set_template_generation(obj: Obj, generation: int) -> None:
    metadata = obj.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    metadata["annotations"] = {**annotations, TEMPLATE_GENERATION_ANNOTATION: str(generation)}


def _validate_workload_spec(spec: Any) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required("spec")]
    errs: list[FieldError] = []
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        errs.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        errs.append(required("spec.selector"))
    else:
        try:
            parsed = label_selector_from_dict(selector)
        except SelectorError as err:
            errs.append(invalid("spec.selector", selector, str(err)))
        else:
            if parsed.empty():
                errs.append(invalid("spec.selector", selector, "empty selector is invalid "
                                    "for deployment"))
            elif not parsed.matches(labels):
                errs.append(invalid("spec.template.metadata.labels", labels,
                                    "`selector` does not match template `labels`"))
    if not template:
        errs.append(required("spec.template"))
    else:
        errs.extend(validate_pod_spec(template.get("spec"), "spec.template.spec"))
    return errs
