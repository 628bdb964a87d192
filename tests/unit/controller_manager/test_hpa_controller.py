"""The HPA controller with a fake API and fake metrics: what it writes to /scale, status and events."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, typed_factory

from controller_manager.podautoscaler import HorizontalController
from controller_manager.podautoscaler.metrics import MetricsError, PodMetric, PodMetricsInfo
from tinykube.api.resources import ResourceInfo
from tinykube.client import EventRecorder, FakeClock, NotFound

Obj = dict[str, Any]
KEY = "default/web"
WALL = 1_767_225_600.0 + 3600  # an hour after the pods started


class ScaleClient(FakeClient):
    """FakeClient whose `scale` subresource is a Deployment's replicas and selector."""

    async def get_subresource(self, info: ResourceInfo, name: str, subresource: str,
                              namespace: str | None = None, **_: Any) -> Obj:
        obj = await self.get(info, name, namespace)
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"replicas": obj["spec"]["replicas"]},
                "status": {"replicas": obj["spec"]["replicas"], "selector": "app=web"}}

    async def put_subresource(self, info: ResourceInfo, name: str, subresource: str | None, body: Any,
                              namespace: str | None = None, **kwargs: Any) -> Obj:
        result = await super().put_subresource(info, name, subresource, body, namespace, **kwargs)
        if subresource == "scale":
            self.objects[(info.plural, namespace or "", name)]["spec"]["replicas"] = body["spec"]["replicas"]
        return result


class FakeMetrics:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def get_resource_metric(self, resource: str, namespace: str, selector: str) -> PodMetricsInfo:
        if not self.values:
            raise MetricsError("no metrics returned from resource metrics API")
        return {name: PodMetric(WALL, 30.0, value) for name, value in self.values.items()}


def deployment(replicas: int) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "resourceVersion": "1"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "echo"}]}}}}


def hpa(min_replicas: int = 1, max_replicas: int = 10, behavior: Obj | None = None) -> Obj:
    spec: Obj = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": min_replicas, "maxReplicas": max_replicas,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-hpa", "resourceVersion": "1"},
            "spec": spec}


def web_pod(name: str, cpu_request: str | None = "100m") -> Obj:
    resources = {"requests": {"cpu": cpu_request}} if cpu_request else {}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": "web"},
                         "resourceVersion": "1"},
            "spec": {"containers": [{"name": "app", "image": "echo", "resources": resources}]},
            "status": {"phase": "Running", "startTime": "2026-01-01T00:00:00Z", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


class Harness:
    def __init__(self, replicas: int, the_hpa: Obj, pods: list[Obj], **options: Any) -> None:
        self.client = ScaleClient()
        self.clock = FakeClock(wall_start=WALL)
        self.metrics = FakeMetrics()
        self.recorder = EventRecorder(self.client, "test", clock=self.clock)  # type: ignore[arg-type]
        factory = typed_factory(self.client)
        self.controller = HorizontalController(self.client, factory, self.recorder,  # type: ignore[arg-type]
                                               clock=self.clock, metrics_client=self.metrics, **options)
        self.client.seed("deployments", deployment(replicas))
        self.hpa = the_hpa
        cache_add(self.controller.hpa_informer, the_hpa)
        cache_add(self.controller.pod_informer, *pods)

    async def sync(self) -> Obj:
        try:
            await self.controller.sync_hpa(KEY)
        finally:
            await self.recorder.flush()
            writes = self.client.writes("horizontalpodautoscalers", "update_status")
            if writes:  # the informer would deliver the written status back
                self.hpa = copy.deepcopy(writes[-1].body)
                cache_add(self.controller.hpa_informer, self.hpa)
        return self.hpa

    def replicas(self) -> int:
        return int(self.client.objects[("deployments", "default", "web")]["spec"]["replicas"])

    def conditions(self) -> dict[str, tuple[str, str, str]]:
        return {c["type"]: (c["status"], c["reason"], c["message"]) for c in self.hpa["status"]["conditions"]}

    def events(self) -> list[tuple[str, str, str]]:
        return [(e["type"], e["reason"], e["message"]) for e in self.client.events]


async def test_high_cpu_scales_the_deployment_up_with_upstreams_event_and_status() -> None:
    h = Harness(2, hpa(), [web_pod("a"), web_pod("b")])
    h.metrics.values = {"a": 150, "b": 150}  # 150% of 100m against 50%
    hpa_after = await h.sync()
    assert h.replicas() == 4  # ceil(3 × 2) = 6, capped at max(2 × 2, 4)
    assert ("Normal", "SuccessfulRescale",
            "New size: 4; reason: cpu resource utilization (percentage of request) above target") in h.events()
    status = hpa_after["status"]
    assert (status["currentReplicas"], status["desiredReplicas"]) == (2, 4)
    assert status["lastScaleTime"]
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 150, "averageValue": "150m"}}}]
    conditions = h.conditions()
    assert conditions["AbleToScale"] == ("True", "SucceededRescale",
                                         "the HPA controller was able to update the target scale to 4")
    assert conditions["ScalingActive"] == ("True", "ValidMetricFound", "the HPA was able to successfully calculate "
                                           "a replica count from cpu resource utilization (percentage of request)")
    assert conditions["ScalingLimited"] == ("True", "ScaleUpLimit", "the desired replica count is increasing "
                                            "faster than the maximum scale rate")


async def test_scale_down_waits_for_the_stabilization_window() -> None:
    h = Harness(4, hpa(), [web_pod(n) for n in "abcd"],
                horizontal_pod_autoscaler_downscale_stabilization_seconds=60.0)
    h.metrics.values = {n: 5 for n in "abcd"}  # 5%
    await h.sync()
    assert h.replicas() == 4
    assert h.conditions()["AbleToScale"][1] == "ScaleDownStabilized"
    h.clock.advance(61)
    await h.sync()
    assert h.replicas() == 1
    assert ("Normal", "SuccessfulRescale", "New size: 1; reason: All metrics below target") in h.events()


async def test_pods_without_requests_make_scaling_inactive_with_upstreams_message() -> None:
    h = Harness(1, hpa(), [web_pod("a", cpu_request=None)])
    h.metrics.values = {"a": 100}
    await h.sync()
    message = "failed to get cpu utilization: missing request for cpu in container app of Pod a"
    assert h.conditions()["ScalingActive"] == ("False", "FailedGetResourceMetric",
                                               f"the HPA was unable to compute the replica count: {message}")
    assert ("Warning", "FailedGetResourceMetric", message) in h.events()
    assert ("Warning", "FailedComputeMetricsReplicas",
            f"invalid metrics (1 invalid out of 1), first error is: {message}") in h.events()
    assert h.replicas() == 1 and not h.client.writes("deployments")


async def test_replicas_outside_min_max_are_brought_back_without_metrics() -> None:
    h = Harness(12, hpa(max_replicas=5), [])
    await h.sync()
    assert h.replicas() == 5
    assert ("Normal", "SuccessfulRescale",
            "New size: 5; reason: Current number of replicas above Spec.MaxReplicas") in h.events()
    low = Harness(1, hpa(min_replicas=3), [])
    await low.sync()
    assert low.replicas() == 3


async def test_a_target_at_zero_replicas_is_left_alone() -> None:
    h = Harness(0, hpa(), [])
    await h.sync()
    assert h.replicas() == 0
    assert h.conditions()["ScalingActive"] == ("False", "ScalingDisabled",
                                               "scaling is disabled since the replica count of the target is zero")


async def test_a_missing_target_is_reported_as_failed_get_scale() -> None:
    h = Harness(1, hpa(), [])
    del h.client.objects[("deployments", "default", "web")]
    with pytest.raises(NotFound):  # the sync fails, and is retried a period later
        await h.sync()
    condition = h.conditions()["AbleToScale"]
    assert condition[:2] == ("False", "FailedGetScale")
    assert condition[2].startswith("the HPA controller was unable to get the target's current scale: ")
    assert any(e[1] == "FailedGetScale" for e in h.events())


async def test_behavior_policies_limit_the_step_and_disabled_scale_down_never_shrinks() -> None:
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
                "scaleDown": {"selectPolicy": "Disabled", "policies": [{"type": "Pods", "value": 1,
                                                                        "periodSeconds": 60}]}}
    h = Harness(2, hpa(behavior=behavior), [web_pod("a"), web_pod("b")])
    h.metrics.values = {"a": 200, "b": 200}
    await h.sync()
    assert h.replicas() == 3  # one pod per minute
    h.clock.advance(15)
    await h.sync()
    assert h.replicas() == 3
    h.metrics.values = {"a": 1, "b": 1}
    h.clock.advance(600)
    await h.sync()
    assert h.replicas() == 3
    assert h.conditions()["ScalingLimited"][1] == "ScaleDownLimit"


async def test_each_hpa_is_synced_once_per_period() -> None:
    h = Harness(1, hpa(), [web_pod("a")], horizontal_pod_autoscaler_sync_period_seconds=15.0)
    h.controller.enqueue(h.controller.hpa_informer.indexer.get(KEY))
    assert len(h.controller.queue) == 0  # not at once: a period later
    h.clock.advance(15)
    assert len(h.controller.queue) == 1
