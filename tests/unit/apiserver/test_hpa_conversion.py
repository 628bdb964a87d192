"""autoscaling/v1 ⇄ v2 HorizontalPodAutoscaler conversion: what each version shows of the other."""

from __future__ import annotations

from apiserver.conversions import BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, METRICS_ANNOTATION, hpa_v1_to_v2, hpa_v2_to_v1

META = {"name": "web", "namespace": "default", "resourceVersion": "7", "uid": "u1"}
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
CPU_50 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "64Mi"}}}
BEHAVIOR = {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                          "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}}


def v2(**spec: object) -> dict[str, object]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": dict(META),
            "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5, **spec}}


def test_a_cpu_utilization_target_is_v1s_target_percentage_both_ways() -> None:
    stored = v2(metrics=[CPU_50])
    stored["status"] = {"currentReplicas": 2, "desiredReplicas": 3, "lastScaleTime": "2026-01-01T00:00:00Z",
                        "currentMetrics": [{"type": "Resource", "resource": {
                            "name": "cpu", "current": {"averageUtilization": 75, "averageValue": "75m"}}}],
                        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}]}
    view = hpa_v2_to_v1(stored)
    assert view["apiVersion"] == "autoscaling/v1"
    assert view["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                            "targetCPUUtilizationPercentage": 50}
    assert view["status"] == {"currentReplicas": 2, "desiredReplicas": 3, "lastScaleTime": "2026-01-01T00:00:00Z",
                              "currentCPUUtilizationPercentage": 75}
    assert CONDITIONS_ANNOTATION in view["metadata"]["annotations"]
    back = hpa_v1_to_v2(view)
    assert back["spec"] == stored["spec"] and back["metadata"] == stored["metadata"]
    assert back["status"]["conditions"] == stored["status"]["conditions"]


def test_what_v1_cannot_express_travels_in_annotations_and_comes_back() -> None:
    stored = v2(metrics=[CPU_50, MEMORY], behavior=BEHAVIOR)
    view = hpa_v2_to_v1(stored)
    annotations = view["metadata"]["annotations"]
    assert set(annotations) == {METRICS_ANNOTATION, BEHAVIOR_ANNOTATION}
    assert "metrics" not in view["spec"] and "behavior" not in view["spec"]
    assert hpa_v1_to_v2(view) == stored


def test_a_v1_object_without_a_target_gets_v2s_default_cpu_metric() -> None:
    created = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": dict(META),
               "spec": {"scaleTargetRef": REF, "maxReplicas": 3}}
    assert hpa_v1_to_v2(created)["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
