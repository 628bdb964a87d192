"""Where the autoscaler's numbers come from: resource metrics per pod, and the ratios.

`MetricsClient` is the interface the controller uses; `RESTMetricsClient` reads
`metrics.k8s.io/v1beta1` PodMetrics through the API server (as upstream reads them
from metrics-server), unit tests pass their own. Values are milli-units of the
resource (millicores for cpu, milli-bytes for memory), summed over a pod's containers,
exactly as upstream's resource metrics client does.

Kubernetes counterpart: pkg/controller/podautoscaler/metrics/client.go, utilization.go
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from tinykube.api.meta import parse_rfc3339
from tinykube.api.quantity import milli_value
from tinykube.client import RESTClient
from tinykube.component import parse_duration

METRICS_PODS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"


class MetricsError(Exception):
    """The metrics could not be read or did not fit the pods (message as upstream's)."""


@dataclass(frozen=True)
class PodMetric:
    timestamp: float  # epoch seconds of the sample
    window_seconds: float
    value: int  # milli-units


PodMetricsInfo = dict[str, PodMetric]


class MetricsClient(Protocol):
    async def get_resource_metric(self, resource: str, namespace: str, selector: str) -> PodMetricsInfo: ...


def _window_seconds(window: str | None) -> float:
    """metrics-server's window, a Go duration such as "10s" or "1m0s"."""
    return parse_duration(window) if window else 0.0


def pod_metrics_from_list(resource: str, items: list[dict[str, Any]]) -> PodMetricsInfo:
    """Upstream getPodMetrics: a pod missing the resource in any container is an error;
    pods without containers are skipped."""
    result: PodMetricsInfo = {}
    for item in items:
        containers = item.get("containers") or []
        if not containers:
            continue
        total = 0
        meta = item.get("metadata") or {}
        for container in containers:
            usage = (container.get("usage") or {}).get(resource)
            if usage is None:
                raise MetricsError(f"missing resource metric {resource} for container {container.get('name')} "
                                   f"in pod {meta.get('namespace')}/{meta.get('name')}")
            total += milli_value(usage)
        stamp = item.get("timestamp")
        result[meta["name"]] = PodMetric(parse_rfc3339(stamp).timestamp() if stamp else 0.0,
                                         _window_seconds(item.get("window")), total)
    return result


class RESTMetricsClient:
    """PodMetrics from the API server's metrics.k8s.io."""

    def __init__(self, client: RESTClient) -> None:
        self.client = client

    async def get_resource_metric(self, resource: str, namespace: str, selector: str) -> PodMetricsInfo:
        try:
            answer = await self.client.request("GET", METRICS_PODS_PATH.format(namespace=namespace),
                                               params={"labelSelector": selector or None})
        except Exception as err:  # any API or transport error: upstream wraps it the same way
            raise MetricsError(f"unable to fetch metrics from resource metrics API: {err}") from None
        items = (answer or {}).get("items") or []
        if not items:
            raise MetricsError("no metrics returned from resource metrics API")
        return pod_metrics_from_list(resource, items)


def resource_utilization_ratio(metrics: PodMetricsInfo, requests: dict[str, int],
                               target_utilization: int) -> tuple[float, int, int]:
    """(usage ratio, utilization %, raw average) over pods that have a request."""
    metrics_total = requests_total = entries = 0
    for pod_name, metric in metrics.items():
        request = requests.get(pod_name)
        if request is None:
            continue  # missing requests are reported elsewhere
        metrics_total += metric.value
        requests_total += request
        entries += 1
    if requests_total == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = metrics_total * 100 // requests_total
    return utilization / target_utilization, utilization, metrics_total // entries


def metric_usage_ratio(metrics: PodMetricsInfo, target_usage: int) -> tuple[float, int]:
    """(usage ratio, average usage) for AverageValue targets."""
    total = sum(m.value for m in metrics.values())
    average = total // len(metrics)
    return average / target_usage, average


def ceil_int(value: float) -> int:
    return int(math.ceil(value))
