"""NodeResourcesFit: the pod's requests fit in what the node has left.

PreFilter reads the pod's requests once into the CycleState; Filter checks, per
node, for cpu and memory:
    requested_by_pods_on_node + pod_request <= allocatable
and that the pod count stays within allocatable "pods". Pods the scheduler has
assumed but whose binding has not been observed yet count too (they are in the
NodeInfo), so a burst of pods never overcommits a node. A pod requesting nothing
always fits cpu/memory. Every shortfall is a reason ("Insufficient cpu",
"Insufficient memory", "Too many pods"), counted per node in the FailedScheduling
message.

Kubernetes counterpart: pkg/scheduler/framework/plugins/noderesources/fit.go
(PreFilter, fitsRequest)
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, as_error, unschedulable
from scheduler.types import NodeInfo, PodInfo, Resource

NAME = "NodeResourcesFit"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME


def insufficient_resources(want: Resource, node: NodeInfo) -> list[str]:
    reasons = []
    if len(node.pods) + 1 > node.allocatable.allowed_pod_number:
        reasons.append("Too many pods")
    used, have = node.requested, node.allocatable
    if want.milli_cpu and want.milli_cpu > have.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if want.memory and want.memory > have.memory - used.memory:
        reasons.append("Insufficient memory")
    return reasons


class NodeResourcesFit:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        state.write(PRE_FILTER_STATE_KEY, pod.resource.requests)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        want: Resource | None = state.read(PRE_FILTER_STATE_KEY)
        if want is None:
            return as_error(NAME, f"reading {PRE_FILTER_STATE_KEY!r} from cycleState: not found")
        reasons = insufficient_resources(want, node)
        return unschedulable(NAME, *reasons) if reasons else SUCCESS
