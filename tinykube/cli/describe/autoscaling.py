"""Describe a HorizontalPodAutoscaler: reference, metrics (current / target), limits,
behavior, replicas and conditions, as kubectl prints an autoscaling/v2 HPA.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go
(HorizontalPodAutoscalerDescriber, describeHorizontalPodAutoscalerV2)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.cli.describe.format import PrefixWriter, format_time, write_object_meta
from tinykube.client import RESTClient

Obj = dict[str, Any]


def _resource_metric_line(spec: Obj, status: Obj | None) -> str:
    source = spec.get("resource") or {}
    target = source.get("target") or {}
    current_value = ((status or {}).get("resource") or {}).get("current") or {}
    name = source.get("name", "")
    if target.get("averageValue") is not None:
        current = current_value.get("averageValue") or "<unknown>"
        return f"resource {name} on pods:\t{current} / {target['averageValue']}"
    current = "<unknown>"
    if current_value.get("averageUtilization") is not None:
        current = f"{current_value['averageUtilization']}% ({current_value.get('averageValue', '0')})"
    want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
    return f"resource {name} on pods  (as a percentage of request):\t{current} / {want}"


def _write_rules(w: PrefixWriter, direction: str, rules: Obj | None) -> None:
    if rules is None:
        return
    w.write(1, f"{direction}:")
    if rules.get("stabilizationWindowSeconds") is not None:
        w.write(2, f"Stabilization Window: {rules['stabilizationWindowSeconds']} seconds")
    policies = rules.get("policies") or []
    if policies:
        w.write(2, f"Select Policy: {rules.get('selectPolicy') or '<unset>'}")
        w.write(2, "Policies:")
        for policy in policies:
            w.write(3, f"- Type: {policy.get('type')}\tValue: {policy.get('value')}\t"
                       f"Period: {policy.get('periodSeconds')} seconds")


async def describe_hpa(client: RESTClient, info: ResourceInfo, hpa: Obj) -> PrefixWriter:
    w = PrefixWriter()
    write_object_meta(w, hpa)
    meta, spec, status = hpa.get("metadata") or {}, hpa.get("spec") or {}, hpa.get("status") or {}
    w.write(0, f"CreationTimestamp:\t{format_time(meta.get('creationTimestamp'))}")
    ref = spec.get("scaleTargetRef") or {}
    w.write(0, f"Reference:\t{ref.get('kind', '')}/{ref.get('name', '')}")
    w.write(0, "Metrics:\t( current / target )")
    current_metrics = status.get("currentMetrics") or []
    for index, metric in enumerate(spec.get("metrics") or []):
        current = current_metrics[index] if index < len(current_metrics) else None
        if metric.get("type") == "Resource":
            w.write(1, _resource_metric_line(metric, current))
        else:
            w.write(1, f'<unknown metric type "{metric.get("type")}">')
    min_replicas = spec.get("minReplicas")
    w.write(0, f"Min replicas:\t{'<unset>' if min_replicas is None else min_replicas}")
    w.write(0, f"Max replicas:\t{spec.get('maxReplicas', 0)}")
    behavior = spec.get("behavior")
    if behavior is not None:
        w.write(0, "Behavior:")
        _write_rules(w, "Scale Up", behavior.get("scaleUp"))
        _write_rules(w, "Scale Down", behavior.get("scaleDown"))
    w.write(0, f"{ref.get('kind', '')} pods:\t{status.get('currentReplicas', 0)} current / "
               f"{status.get('desiredReplicas', 0)} desired")
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:")
        w.write_header(1, "Type", "Status", "Reason", "Message")
        for condition in conditions:
            w.write(1, f"{condition.get('type')}\t{condition.get('status')}\t{condition.get('reason', '')}\t"
                       f"{condition.get('message', '')}")
    return w
