"""NodeResourcesFit: the pod's requests fit in what the node has left.

For cpu and memory: requested_by_pods_on_node + pod_request <= allocatable, and
the pod count stays within allocatable "pods". Pods the scheduler has assumed but
whose binding has not been observed yet count too (they are in the NodeInfo), so
a burst of pods never overcommits a node. A pod requesting nothing always fits
cpu/memory. Every shortfall is a reason ("Insufficient cpu", "Insufficient
memory", "Too many pods"), counted per node in the FailedScheduling message.

Kubernetes counterpart: pkg/scheduler/framework/plugins/noderesources/fit.go (fitsRequest)
"""

from __future__ import annotations

from scheduler.framework import SUCCESS, CycleState, Status, unschedulable
from scheduler.types import NodeInfo, PodInfo

NAME = "NodeResourcesFit"


def insufficient_resources(pod: PodInfo, node: NodeInfo) -> list[str]:
    reasons = []
    if len(node.pods) + 1 > node.allocatable.allowed_pod_number:
        reasons.append("Too many pods")
    want, used, have = pod.requests, node.requested, node.allocatable
    if want.milli_cpu and want.milli_cpu > have.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if want.memory and want.memory > have.memory - used.memory:
        reasons.append("Insufficient memory")
    return reasons


class NodeResourcesFit:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        reasons = insufficient_resources(pod, node)
        return unschedulable(NAME, *reasons) if reasons else SUCCESS
