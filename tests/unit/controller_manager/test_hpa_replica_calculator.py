"""The HPA's replica calculator: upstream's cases for tolerance, missing and unready pods."""

from __future__ import annotations

from typing import Any

import pytest

from controller_manager.podautoscaler.metrics import (
    MetricsError, PodMetric, PodMetricsInfo, pod_metrics_from_list,
)
from controller_manager.podautoscaler.replica_calculator import ReplicaCalculator, group_pods
from tinykube.api.core import Pod
from tinykube.api.quantity import milli_value

NOW = 1_767_225_600.0 + 3600  # an hour after START
START = "2026-01-01T00:00:00Z"
Obj = dict[str, Any]


class FakeMetrics:
    def __init__(self, values: dict[str, int], timestamp: float = NOW, window: float = 30.0) -> None:
        self.values, self.timestamp, self.window = values, timestamp, window
        self.calls: list[tuple[str, str, str]] = []

    async def get_resource_metric(self, resource: str, namespace: str, selector: str) -> PodMetricsInfo:
        self.calls.append((resource, namespace, selector))
        if not self.values:
            raise MetricsError("no metrics returned from resource metrics API")
        return {name: PodMetric(self.timestamp, self.window, v) for name, v in self.values.items()}


def make_pod(name: str, *, cpu_request: str | None = "1", memory_request: str | None = "100Mi",
             phase: str = "Running", ready: str | None = "True", ready_since: str = START,
             start: str | None = START, deleting: bool = False) -> Pod:
    requests = {k: v for k, v in (("cpu", cpu_request), ("memory", memory_request)) if v is not None}
    status: Obj = {"phase": phase}
    if start is not None:
        status["startTime"] = start
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready, "lastTransitionTime": ready_since}]
    meta: Obj = {"name": name, "namespace": "default", "labels": {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = START
    return Pod.from_dict({"metadata": meta, "status": status, "spec": {"containers": [
        {"name": "app", "image": "echo", "resources": {"requests": requests}}]}})


def calculator(values: dict[str, int], **kwargs: float) -> ReplicaCalculator:
    return ReplicaCalculator(FakeMetrics(values), tolerance=kwargs.get("tolerance", 0.1),
                             cpu_initialization_period=kwargs.get("init", 300.0),
                             delay_of_initial_readiness=kwargs.get("delay", 30.0))


async def cpu(values: dict[str, int], pods: list[Pod], current: int, target: int = 50, **kwargs: float) -> Any:
    return await calculator(values, **kwargs).resource_replicas(current, target, "cpu", "default", "app=web",
                                                                pods, NOW)


async def test_scale_up_proportional_to_utilization_over_target() -> None:
    pods = [make_pod(f"p{i}") for i in range(3)]
    result = await cpu({"p0": 900, "p1": 1000, "p2": 1100}, pods, current=3)  # 100% of 1 core vs 50%
    assert (result.replicas, result.utilization, result.raw_average) == (6, 100, 1000)


async def test_scale_down_and_within_tolerance_nothing_changes() -> None:
    pods = [make_pod(f"p{i}") for i in range(4)]
    assert (await cpu({f"p{i}": 100 for i in range(4)}, pods, current=4)).replicas == 1  # 10% vs 50%
    steady = await cpu({f"p{i}": 540 for i in range(4)}, pods, current=4)  # 54%: ratio 1.08 ≤ 1.1
    assert (steady.replicas, steady.utilization) == (4, 54)


async def test_missing_pods_count_as_full_on_scale_down_and_empty_on_scale_up() -> None:
    pods = [make_pod(f"p{i}") for i in range(4)]
    # p3 has no metric. Down: the others use 10%, p3 counts as 100% of its request →
    # (3×100 + 1000) / 4000 = 32.5% → ceil(0.65 × 4) = 3 (without the fallback it would be 1).
    assert (await cpu({"p0": 100, "p1": 100, "p2": 100}, pods, current=4)).replicas == 3
    # Up: the others use 100%, p3 counts as 0 → 75% → ceil(1.5 × 4) = 6.
    assert (await cpu({"p0": 1000, "p1": 1000, "p2": 1000}, pods, current=4)).replicas == 6


async def test_unready_pods_count_as_zero_only_when_scaling_up() -> None:
    pods = [make_pod("p0"), make_pod("p1"), make_pod("p2", phase="Pending", ready=None)]
    # 80% on the ready two; the pending one counts 0 on the way up: 160/300 → ratio 1.067 within tolerance.
    assert (await cpu({"p0": 800, "p1": 800}, pods, current=3)).replicas == 3
    # 10% on the ready two: unready pods do not matter going down → ceil(0.2 × 2) = 1.
    assert (await cpu({"p0": 100, "p1": 100}, pods, current=3)).replicas == 1


async def test_cpu_of_a_pod_inside_its_initialization_period_counts_once_ready_for_a_window() -> None:
    just_started = "2026-01-01T00:59:00Z"  # a minute before NOW
    became_ready = "2026-01-01T00:59:50Z"  # 10 s before NOW: the 30 s metric window is not yet past
    young = make_pod("young", start=just_started, ready_since=became_ready)
    groups = group_pods([young], {"young": PodMetric(NOW, 30.0, 900)}, "cpu", NOW, 300.0, 30.0)
    assert groups.unready == {"young"}
    later = PodMetric(NOW + 60, 30.0, 900)
    assert group_pods([young], {"young": later}, "cpu", NOW + 60, 300.0, 30.0).ready_count == 1
    # With a zero initialization period the same pod counts at once (it is ready).
    assert group_pods([young], {"young": PodMetric(NOW, 30.0, 900)}, "cpu", NOW, 0.0, 30.0).ready_count == 1
    # Memory ignores readiness entirely.
    assert group_pods([young], {"young": PodMetric(NOW, 30.0, 900)}, "memory", NOW, 300.0, 30.0).ready_count == 1


async def test_never_ready_pod_after_the_initial_readiness_delay_is_unready() -> None:
    never_ready = make_pod("p", ready="False", ready_since="2026-01-01T00:00:10Z")  # within 30 s of start
    assert group_pods([never_ready], {"p": PodMetric(NOW, 30.0, 1)}, "cpu", NOW, 300.0, 30.0).unready == {"p"}
    went_unready_later = make_pod("p", ready="False", ready_since="2026-01-01T00:40:00Z")
    assert group_pods([went_unready_later], {"p": PodMetric(NOW, 30.0, 1)}, "cpu", NOW, 300.0,
                      30.0).ready_count == 1


async def test_deleted_and_failed_pods_are_ignored() -> None:
    pods = [make_pod("p0"), make_pod("gone", deleting=True), make_pod("dead", phase="Failed")]
    result = await cpu({"p0": 1000, "gone": 0, "dead": 0}, pods, current=1)
    assert (result.replicas, result.utilization) == (2, 100)


async def test_a_pod_without_a_request_is_an_error_with_upstreams_message() -> None:
    pods = [make_pod("p0"), make_pod("norequest", cpu_request=None)]
    with pytest.raises(MetricsError, match="^missing request for cpu in container app of Pod norequest$"):
        await cpu({"p0": 100, "norequest": 100}, pods, current=2)


async def test_no_metrics_and_no_pods_are_errors() -> None:
    with pytest.raises(MetricsError, match="unable to get metrics for resource cpu: no metrics returned"):
        await cpu({}, [make_pod("p0")], current=1)
    with pytest.raises(MetricsError, match="no pods returned by selector while calculating replica count"):
        await cpu({"p0": 1}, [], current=1)
    pending = [make_pod("p0", phase="Pending")]
    with pytest.raises(MetricsError, match=r"did not receive metrics for targeted pods \(pods might be unready\)"):
        await cpu({"p0": 1}, pending, current=1)


async def test_average_value_target_on_memory() -> None:
    pods = [make_pod(f"p{i}") for i in range(2)]
    mib = 1024 * 1024 * 1000  # one MiB in milli-bytes
    calc = calculator({"p0": 300 * mib, "p1": 100 * mib})
    result = await calc.raw_resource_replicas(2, 100 * mib, "memory", "default", "app=web", pods, NOW)
    assert (result.replicas, result.raw_average) == (4, 200 * mib)


def test_pod_metrics_list_sums_containers_in_milli_units_and_needs_every_container() -> None:
    items = [{"metadata": {"name": "a", "namespace": "default"}, "timestamp": "2026-01-01T01:00:00Z",
              "window": "10s", "containers": [{"name": "x", "usage": {"cpu": "250000000n", "memory": "1Mi"}},
                                              {"name": "y", "usage": {"cpu": "50m", "memory": "1Mi"}}]},
             {"metadata": {"name": "empty"}, "containers": []}]
    got = pod_metrics_from_list("cpu", items)
    assert got == {"a": PodMetric(NOW, 10.0, 300)}
    assert pod_metrics_from_list("memory", items)["a"].value == milli_value("2Mi")
    with pytest.raises(MetricsError, match="missing resource metric storage for container x in pod default/a"):
        pod_metrics_from_list("storage", items)
