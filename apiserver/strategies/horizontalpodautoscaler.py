"""HorizontalPodAutoscaler (autoscaling/v2 and v1): defaults and spec validation.

Defaults as the v2 API's: minReplicas 1, no metrics → cpu at 80 % utilization, and a
given `behavior` completed with the default scale-up and scale-down rules (a
scale-down window left unset stays unset: the controller's
--horizontal-pod-autoscaler-downscale-stabilization applies). Validation follows
upstream's messages; metric types other than Resource (Pods, Object, External,
ContainerResource) are refused with 422, since nothing in tinykube serves their
metrics.

Kubernetes counterpart: pkg/registry/autoscaling/horizontalpodautoscaler/strategy.go,
pkg/apis/autoscaling/v2/defaults.go, pkg/apis/autoscaling/validation/validation.go
"""

from __future__ import annotations

from typing import Any

from apiserver.conversions import hpa_v1_to_v2
from apiserver.strategy import Obj, Strategy
from tinykube.api.quantity import parse_quantity
from tinykube.api.validation import FieldError, forbidden, invalid, not_supported, required

DEFAULT_CPU_UTILIZATION = 80
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
SUPPORTED_METRIC_TYPES = ["Resource"]
TARGET_TYPES = ("Utilization", "Value", "AverageValue")
SELECT_POLICIES = ["Disabled", "Max", "Min"]
POLICY_TYPES = ["Percent", "Pods"]


def default_hpa_spec(spec: Obj) -> None:
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        up = behavior.setdefault("scaleUp", {}) or {}
        up.setdefault("stabilizationWindowSeconds", 0)
        up.setdefault("selectPolicy", "Max")
        if not up.get("policies"):
            up["policies"] = [{"type": "Pods", "value": 4, "periodSeconds": 15},
                              {"type": "Percent", "value": 100, "periodSeconds": 15}]
        behavior["scaleUp"] = up
        down = behavior.setdefault("scaleDown", {}) or {}
        down.setdefault("selectPolicy", "Max")
        if not down.get("policies"):
            down["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        behavior["scaleDown"] = down


def _positive_quantity(value: Any) -> bool:
    try:
        return parse_quantity(value) > 0
    except ValueError:
        return False


def validate_metric_target(target: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    kind = target.get("type") or ""
    if not kind:
        errs.append(required(f"{path}.type", "must specify a metric target type"))
    if kind not in TARGET_TYPES:
        errs.append(invalid(f"{path}.type", kind, "must be either Utilization, Value, or AverageValue"))
    for name in ("value", "averageValue"):
        if target.get(name) is not None and not _positive_quantity(target[name]):
            errs.append(invalid(f"{path}.{name}", target[name], "must be positive"))
    utilization = target.get("averageUtilization")
    if utilization is not None and utilization < 1:
        errs.append(invalid(f"{path}.averageUtilization", utilization, "must be greater than 0"))
    return errs


def validate_metric(metric: Obj, path: str) -> list[FieldError]:
    kind = metric.get("type") or ""
    if not kind:
        return [required(f"{path}.type", "must specify a metric source type")]
    if kind not in SUPPORTED_METRIC_TYPES:
        return [not_supported(f"{path}.type", kind, SUPPORTED_METRIC_TYPES)]
    errs: list[FieldError] = [forbidden(f"{path}.{other}", "must populate the given metric source only")
                              for other in ("object", "external", "pods", "containerResource")
                              if metric.get(other) is not None]
    source = metric.get("resource")
    if source is None:
        return [*errs, required(f"{path}.resource", "must populate information for the given metric source")]
    if not source.get("name"):
        errs.append(required(f"{path}.resource.name", "must specify a resource name"))
    target = source.get("target") or {}
    errs += validate_metric_target(target, f"{path}.resource.target")
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        errs.append(required(f"{path}.resource.target.averageUtilization",
                             "must set either a target raw value or a target utilization"))
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        errs.append(forbidden(f"{path}.resource.target.averageValue",
                              "may not set both a target raw value and a target utilization"))
    return errs


def validate_scaling_rules(rules: Obj | None, path: str) -> list[FieldError]:
    if rules is None:
        return []
    errs: list[FieldError] = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and window < 0:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window, "must be greater than or equal to zero"))
    if window is not None and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                            f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    if rules.get("selectPolicy") is not None and rules["selectPolicy"] not in SELECT_POLICIES:
        errs.append(not_supported(f"{path}.selectPolicy", rules["selectPolicy"], SELECT_POLICIES))
    policies = rules.get("policies") or []
    if not policies:
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
    for index, policy in enumerate(policies):
        at = f"{path}.policies[{index}]"
        if policy.get("type") not in POLICY_TYPES:
            errs.append(not_supported(f"{at}.type", policy.get("type"), POLICY_TYPES))
        if (policy.get("value") or 0) <= 0:
            errs.append(invalid(f"{at}.value", policy.get("value"), "must be greater than zero"))
        period = policy.get("periodSeconds") or 0
        if period <= 0:
            errs.append(invalid(f"{at}.periodSeconds", period, "must be greater than zero"))
        if period > MAX_PERIOD_SECONDS:
            errs.append(invalid(f"{at}.periodSeconds", period, f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs


def validate_hpa_spec(spec: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    min_replicas, max_replicas = spec.get("minReplicas"), spec.get("maxReplicas") or 0
    if min_replicas is not None and min_replicas < 1:
        errs.append(invalid("spec.minReplicas", min_replicas, "must be greater than or equal to 1"))
    if max_replicas < 1:
        errs.append(invalid("spec.maxReplicas", max_replicas, "must be greater than 0"))
    if min_replicas is not None and max_replicas < min_replicas:
        errs.append(invalid("spec.maxReplicas", max_replicas, "must be greater than or equal to `minReplicas`"))
    ref = spec.get("scaleTargetRef") or {}
    for name in ("kind", "name"):
        if not ref.get(name):
            errs.append(required(f"spec.scaleTargetRef.{name}"))
        elif ref[name] in (".", "..") or "/" in ref[name] or "%" in ref[name]:
            errs.append(invalid(f"spec.scaleTargetRef.{name}", ref[name],
                                "may not contain '/' or '%'" if ref[name] not in (".", "..")
                                else f"may not be '{ref[name]}'"))
    for index, metric in enumerate(spec.get("metrics") or []):
        errs += validate_metric(metric, f"spec.metrics[{index}]")
    behavior = spec.get("behavior") or {}
    errs += validate_scaling_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
    errs += validate_scaling_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return errs


class HorizontalPodAutoscalerStrategy(Strategy):
    """autoscaling/v2, and autoscaling/v1 (validated as the v2 object it converts to,
    as Kubernetes validates the internal version)."""

    def _default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if self.info.version == "v1":
            spec.setdefault("minReplicas", 1)
        else:
            default_hpa_spec(spec)

    def _validate_spec(self, obj: Obj) -> list[FieldError]:
        if self.info.version == "v1":
            return validate_hpa_spec(hpa_v1_to_v2(obj).get("spec") or {})
        return validate_hpa_spec(obj.get("spec") or {})

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + self._validate_spec(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return super().validate_update(new, old) + self._validate_spec(new)
