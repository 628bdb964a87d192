"""How many replicas a resource metric asks for: upstream's replica calculator.

For a Utilization target the ratio is (sum of usage / sum of requests) / target; for
an AverageValue target it is (average usage) / target. Within `tolerance` of 1.0
nothing changes. Pods are grouped first (`group_pods`):
- ignored: being deleted or Failed; their metrics are dropped;
- unready: Pending, or (for cpu) not ready yet: inside the cpu initialization period a
  pod counts only once it is ready and a full metrics window has passed since it became
  ready; after it, a pod that is unready and never was ready within the initial
  readiness delay of its start;
- missing: no metric at all.
When pods are missing, or unready pods could change a scale-up, the ratio is computed
again assuming missing pods use 100 % of their request (or the target) on a scale-down
and 0 on a scale-up, and unready pods 0 on a scale-up; if that flips the direction or
falls within tolerance, the replica count stays.

Kubernetes counterpart: pkg/controller/podautoscaler/replica_calculator.go
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller_manager.podautoscaler.metrics import (
    MetricsClient, MetricsError, PodMetric, PodMetricsInfo, ceil_int, metric_usage_ratio,
    resource_utilization_ratio,
)
from tinykube.api.core import Pod, PodPhase
from tinykube.api.meta import parse_rfc3339
from tinykube.api.quantity import milli_value

CPU = "cpu"


@dataclass
class PodGroups:
    ready_count: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ReplicaCalculation:
    replicas: int
    utilization: int  # percent of request (Utilization) or average milli-units (AverageValue)
    raw_average: int  # average milli-units per pod
    timestamp: float


def _seconds(value: str | None) -> float | None:
    return parse_rfc3339(value).timestamp() if value else None


def group_pods(pods: list[Pod], metrics: PodMetricsInfo, resource: str, now: float,
               cpu_initialization_period: float, delay_of_initial_readiness: float) -> PodGroups:
    groups = PodGroups()
    for pod in pods:
        name = pod.metadata.name
        phase = pod.status.phase if pod.status else None
        if pod.metadata.deletion_timestamp is not None or phase == PodPhase.FAILED:
            groups.ignored.add(name)
            continue
        if phase == PodPhase.PENDING:
            groups.unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            groups.missing.add(name)
            continue
        if resource == CPU and _cpu_unready(pod, metric, now, cpu_initialization_period,
                                            delay_of_initial_readiness):
            groups.unready.add(name)
            continue
        groups.ready_count += 1
    return groups


def _cpu_unready(pod: Pod, metric: PodMetric, now: float, initialization_period: float,
                 initial_readiness_delay: float) -> bool:
    status = pod.status
    condition = next((c for c in (status.conditions or []) if c.type == "Ready"), None) if status else None
    start = _seconds(status.start_time) if status else None
    if condition is None or start is None:
        return True
    transition = _seconds(condition.last_transition_time) or 0.0
    if start + initialization_period > now:
        return condition.status == "False" or metric.timestamp < transition + metric.window_seconds
    return condition.status == "False" and start + initial_readiness_delay > transition


def pod_requests(pods: list[Pod], resource: str) -> dict[str, int]:
    """Each pod's request in milli-units, summed over its containers."""
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        for container in pod.spec.containers if pod.spec else []:
            request = ((container.resources.requests if container.resources else None) or {}).get(resource)
            if request is None:
                raise MetricsError(f"missing request for {resource} in container {container.name} "
                                   f"of Pod {pod.metadata.name}")
            total += milli_value(request)
        requests[pod.metadata.name] = total
    return requests


class ReplicaCalculator:
    def __init__(self, metrics_client: MetricsClient, *, tolerance: float, cpu_initialization_period: float,
                 delay_of_initial_readiness: float) -> None:
        self.metrics_client = metrics_client
        self.tolerance = tolerance
        self.cpu_initialization_period = cpu_initialization_period
        self.delay_of_initial_readiness = delay_of_initial_readiness

    async def _metrics_and_groups(self, resource: str, namespace: str, selector: str, pods: list[Pod],
                                  now: float) -> tuple[PodMetricsInfo, PodGroups, float]:
        try:
            metrics = await self.metrics_client.get_resource_metric(resource, namespace, selector)
        except MetricsError as err:
            raise MetricsError(f"unable to get metrics for resource {resource}: {err}") from None
        if not pods:
            raise MetricsError("no pods returned by selector while calculating replica count")
        groups = group_pods(pods, metrics, resource, now, self.cpu_initialization_period,
                            self.delay_of_initial_readiness)
        timestamp = max((m.timestamp for m in metrics.values()), default=0.0)
        metrics = {name: m for name, m in metrics.items() if name not in groups.ignored | groups.unready}
        if not metrics:
            raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
        return metrics, groups, timestamp

    async def resource_replicas(self, current_replicas: int, target_utilization: int, resource: str,
                                namespace: str, selector: str, pods: list[Pod],
                                now: float) -> ReplicaCalculation:
        """GetResourceReplicas: a Utilization target, percent of the pods' requests."""
        metrics, groups, timestamp = await self._metrics_and_groups(resource, namespace, selector, pods, now)
        requests = pod_requests(pods, resource)
        ratio, utilization, raw = resource_utilization_ratio(metrics, requests, target_utilization)
        scale_up_with_unready = bool(groups.unready) and ratio > 1.0
        if not scale_up_with_unready and not groups.missing:
            if abs(1.0 - ratio) <= self.tolerance:
                return ReplicaCalculation(current_replicas, utilization, raw, timestamp)
            return ReplicaCalculation(ceil_int(ratio * groups.ready_count), utilization, raw, timestamp)
        fallback = max(100, target_utilization)
        for name in groups.missing:
            value = requests.get(name, 0) * fallback // 100 if ratio < 1.0 else 0
            metrics[name] = PodMetric(timestamp, 0.0, value)
        if scale_up_with_unready:
            for name in groups.unready:
                metrics[name] = PodMetric(timestamp, 0.0, 0)
        new_ratio, _, _ = resource_utilization_ratio(metrics, requests, target_utilization)
        replicas = self._rebalanced(current_replicas, ratio, new_ratio, len(metrics))
        return ReplicaCalculation(replicas, utilization, raw, timestamp)

    async def raw_resource_replicas(self, current_replicas: int, target_usage: int, resource: str,
                                    namespace: str, selector: str, pods: list[Pod],
                                    now: float) -> ReplicaCalculation:
        """GetRawResourceReplicas: an AverageValue target in milli-units per pod."""
        metrics, groups, timestamp = await self._metrics_and_groups(resource, namespace, selector, pods, now)
        ratio, usage = metric_usage_ratio(metrics, target_usage)
        scale_up_with_unready = bool(groups.unready) and ratio > 1.0
        if not scale_up_with_unready and not groups.missing:
            if abs(1.0 - ratio) <= self.tolerance:
                return ReplicaCalculation(current_replicas, usage, usage, timestamp)
            return ReplicaCalculation(ceil_int(ratio * groups.ready_count), usage, usage, timestamp)
        for name in groups.missing:
            metrics[name] = PodMetric(timestamp, 0.0, target_usage if ratio < 1.0 else 0)
        if scale_up_with_unready:
            for name in groups.unready:
                metrics[name] = PodMetric(timestamp, 0.0, 0)
        new_ratio, _ = metric_usage_ratio(metrics, target_usage)
        replicas = self._rebalanced(current_replicas, ratio, new_ratio, len(metrics))
        return ReplicaCalculation(replicas, usage, usage, timestamp)

    def _rebalanced(self, current: int, ratio: float, new_ratio: float, pod_count: int) -> int:
        """After filling in missing and unready pods: no change when that is within
        tolerance or reverses the direction of the first estimate."""
        if (abs(1.0 - new_ratio) <= self.tolerance or (ratio < 1.0 < new_ratio)
                or (ratio > 1.0 > new_ratio)):
            return current
        replicas = ceil_int(new_ratio * pod_count)
        if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
            return current
        return replicas
