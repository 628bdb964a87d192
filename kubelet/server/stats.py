"""The stats summary: CPU and memory of the node, its pods and their containers.

`GET /stats/summary` answers the kubelet's Summary API shape (a subset):

    {"node": {"nodeName", "startTime", "cpu": {"time", "usageNanoCores",
              "usageCoreNanoSeconds"}, "memory": {"time", "workingSetBytes", ...}},
     "pods": [{"podRef": {"name", "namespace", "uid"}, "startTime",
               "containers": [{"name", "startTime", "cpu", "memory"}], "cpu", "memory"}]}

Container figures come from the runtime (`container_stats`), pod figures are the
sum of their containers. Node figures are the node's root cgroup (`machine_usage`:
on a compose node its own container, not the host): usageNanoCores is the rate between two reads, so the first read
after start reports the pods' sum instead. The metrics API in the API server builds
NodeMetrics and PodMetrics from this document, as metrics-server does.

Kubernetes counterpart: pkg/kubelet/server/stats/summary.go,
staging/src/k8s.io/kubelet/pkg/apis/stats/v1alpha1/types.go
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from kubelet.runtime import ContainerStats, RuntimeServiceError
from kubelet.server.containers import ContainerLister, container_name, running_containers
from kubelet.server.machine_usage import MachineUsage, read_machine_usage

log = logging.getLogger(__name__)


class StatsRuntime(ContainerLister, Protocol):
    async def container_stats(self, container_id: str) -> ContainerStats: ...


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SummaryProvider:
    """Builds the summary; keeps the previous machine sample for the node's CPU rate."""

    def __init__(self, runtime: StatsRuntime, node_name: str,
                 machine: Callable[[], MachineUsage | None] = read_machine_usage,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.runtime, self.node_name = runtime, node_name
        self._machine, self._clock_ns = machine, clock_ns
        self._start_ns = clock_ns()
        self._last: tuple[int, MachineUsage] | None = None

    async def summary(self) -> dict[str, Any]:
        now = self._clock_ns()
        pods = await running_containers(self.runtime, self.node_name)
        pairs = [(sandbox, c) for sandbox, containers in pods.values() for c in containers]
        results = await asyncio.gather(*(self.runtime.container_stats(c.id) for _, c in pairs),
                                       return_exceptions=True)
        stats: dict[str, ContainerStats] = {}
        for (_, container), result in zip(pairs, results, strict=True):
            if isinstance(result, ContainerStats):
                stats[container.id] = result
            elif isinstance(result, RuntimeServiceError):
                log.debug("no stats container=%s err=%s", container.id, result)  # it just exited
            elif isinstance(result, BaseException):
                log.warning("stats failed container=%s err=%r", container.id, result)
        pod_entries = []
        for sandbox, containers in pods.values():
            entries = [self._container_entry(c.id, container_name(c), c.started_at_ns or now, stats)
                       for c in containers if c.id in stats]
            pod_entries.append({
                "podRef": {"name": sandbox.metadata.name, "namespace": sandbox.metadata.namespace,
                           "uid": sandbox.metadata.uid},
                "startTime": _time(sandbox.created_at_ns or now),
                "containers": entries,
                "cpu": _cpu(now, sum(e["cpu"]["usageNanoCores"] for e in entries),
                            sum(e["cpu"]["usageCoreNanoSeconds"] for e in entries)),
                "memory": _memory(now, sum(e["memory"]["workingSetBytes"] for e in entries)),
            })
        return {"node": self._node_entry(now, pod_entries), "pods": pod_entries}

    @staticmethod
    def _container_entry(container_id: str, name: str, started_ns: int,
                         stats: dict[str, ContainerStats]) -> dict[str, Any]:
        s = stats[container_id]
        return {"name": name, "startTime": _time(started_ns),
                "cpu": _cpu(s.timestamp_ns, s.cpu_usage_nano_cores, s.cpu_usage_core_nano_seconds),
                "memory": _memory(s.timestamp_ns, s.memory_working_set_bytes)}

    def _node_entry(self, now: int, pods: list[dict[str, Any]]) -> dict[str, Any]:
        sample = self._machine()
        pods_cpu = sum(p["cpu"]["usageNanoCores"] for p in pods)
        pods_memory = sum(p["memory"]["workingSetBytes"] for p in pods)
        if sample is None:  # not Linux: report what the pods use
            cpu, memory = _cpu(now, pods_cpu, 0), _memory(now, pods_memory)
        else:
            rate = pods_cpu
            if self._last is not None and now > self._last[0]:
                used = sample.cpu_usage_core_nano_seconds - self._last[1].cpu_usage_core_nano_seconds
                rate = max(0, used * 1_000_000_000 // (now - self._last[0]))
            self._last = (now, sample)
            cpu = _cpu(now, rate, sample.cpu_usage_core_nano_seconds)
            memory = _memory(now, max(sample.memory_working_set_bytes, pods_memory))
            memory["availableBytes"] = sample.memory_available_bytes
        return {"nodeName": self.node_name, "startTime": _time(self._start_ns), "cpu": cpu,
                "memory": memory}


def _cpu(time_ns: int, nano_cores: int, core_nano_seconds: int) -> dict[str, Any]:
    return {"time": _time(time_ns), "usageNanoCores": nano_cores,
            "usageCoreNanoSeconds": core_nano_seconds}


def _memory(time_ns: int, working_set_bytes: int) -> dict[str, Any]:
    return {"time": _time(time_ns), "workingSetBytes": working_set_bytes,
            "usageBytes": working_set_bytes}
