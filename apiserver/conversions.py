"""Conversions between served versions of one stored resource (see storage/converting.py).

(events.k8s.io/v1 Events are core/v1 Events renamed: conversions_events.py.)

autoscaling/v1 HorizontalPodAutoscaler ⇄ autoscaling/v2 (the stored version), as
Kubernetes converts them: v1's targetCPUUtilizationPercentage is a v2 `Resource` cpu
metric with a Utilization target, currentCPUUtilizationPercentage its current
utilization. What v1 cannot express travels in annotations, so an object read and
written back through v1 keeps it: the other metrics
(`autoscaling.alpha.kubernetes.io/metrics`), `behavior`
(`autoscaling.alpha.kubernetes.io/behavior`), the conditions
(`autoscaling.alpha.kubernetes.io/conditions`) and the other current metrics
(`autoscaling.alpha.kubernetes.io/current-metrics`), each as JSON of the v2 fields.
A v1 object without a cpu target and without other metrics gets v2's default, cpu at 80 %.

Kubernetes counterpart: pkg/apis/autoscaling/v1/conversion.go
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.conversions_events import core_to_events_v1, events_v1_to_core
from apiserver.storage.converting import Converter, ConvertingStorage
from apiserver.storage.interface import Storage
from tinykube.api.resources import ResourceInfo

Obj = dict[str, Any]
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
_ANNOTATIONS = (METRICS_ANNOTATION, BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION)
DEFAULT_CPU_UTILIZATION = 80


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu"
            and (resource.get("target") or {}).get("type") == "Utilization")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def hpa_v2_to_v1(stored: Obj) -> Obj:
    obj = copy.deepcopy(stored)
    spec, status = obj.get("spec") or {}, obj.get("status")
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    new_spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    others: list[Obj] = []
    for metric in spec.get("metrics") or []:
        if _is_cpu_utilization(metric) and "targetCPUUtilizationPercentage" not in new_spec:
            new_spec["targetCPUUtilizationPercentage"] = metric["resource"]["target"].get("averageUtilization")
        else:
            others.append(metric)
    if others:
        annotations[METRICS_ANNOTATION] = _json(others)
    if spec.get("behavior") is not None:
        annotations[BEHAVIOR_ANNOTATION] = _json(spec["behavior"])
    if status is not None:
        new_status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas",
                                                   "desiredReplicas") if k in status}
        other_current: list[Obj] = []
        for metric in status.get("currentMetrics") or []:
            resource = metric.get("resource") or {}
            utilization = (resource.get("current") or {}).get("averageUtilization")
            if metric.get("type") == "Resource" and resource.get("name") == "cpu" and utilization is not None:
                new_status["currentCPUUtilizationPercentage"] = utilization
            else:
                other_current.append(metric)
        if other_current:
            annotations[CURRENT_METRICS_ANNOTATION] = _json(other_current)
        if status.get("conditions"):
            annotations[CONDITIONS_ANNOTATION] = _json(status["conditions"])
        obj["status"] = new_status
    obj["spec"] = new_spec
    if annotations:
        obj.setdefault("metadata", {})["annotations"] = annotations
    obj["apiVersion"] = "autoscaling/v1"
    return obj


def hpa_v1_to_v2(served: Obj) -> Obj:
    obj = copy.deepcopy(served)
    spec, status = obj.get("spec") or {}, obj.get("status")
    meta = obj.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    extra = {name: json.loads(annotations.pop(name)) for name in _ANNOTATIONS if name in annotations}
    new_spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    metrics: list[Obj] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
    metrics += extra.get(METRICS_ANNOTATION) or []
    new_spec["metrics"] = metrics or [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    if BEHAVIOR_ANNOTATION in extra:
        new_spec["behavior"] = extra[BEHAVIOR_ANNOTATION]
    if status is not None:
        new_status: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas",
                                                   "desiredReplicas") if k in status}
        current: list[Obj] = []
        if status.get("currentCPUUtilizationPercentage") is not None:
            current.append({"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": status["currentCPUUtilizationPercentage"]}}})
        current += extra.get(CURRENT_METRICS_ANNOTATION) or []
        if current:
            new_status["currentMetrics"] = current
        if CONDITIONS_ANNOTATION in extra:
            new_status["conditions"] = extra[CONDITIONS_ANNOTATION]
        obj["status"] = new_status
    obj["spec"] = new_spec
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    obj["apiVersion"] = "autoscaling/v2"
    return obj


# (group, version, plural) of a served version -> its converter to the stored version.
CONVERTERS: dict[tuple[str, str, str], Converter] = {
    ("autoscaling", "v1", "horizontalpodautoscalers"): Converter(to_stored=hpa_v1_to_v2, from_stored=hpa_v2_to_v1),
    ("events.k8s.io", "v1", "events"): Converter(to_stored=events_v1_to_core, from_stored=core_to_events_v1),
}


def storage_for_version(storage: Storage, info: ResourceInfo) -> Storage:
    """The storage a resource's registry writes through: converting for a served
    version that is not the stored one."""
    converter = CONVERTERS.get((info.group, info.version, info.plural))
    return storage if converter is None else ConvertingStorage(storage, converter)  # type: ignore[return-value]
