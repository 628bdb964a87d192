"""LeastAllocated (NodeResourcesFit's default scoring strategy): prefer emptier nodes.

Per resource r in (cpu, memory), each with weight 1, using "non-zero" requests
(a container without a request counts 100m cpu / 200Mi memory):
    requested_r = non_zero_requested_on_node_r + pod_non_zero_request_r
    score_r     = (allocatable_r - requested_r) * 100 // allocatable_r
                  (0 when allocatable_r is 0 or requested_r > allocatable_r)
    score       = (score_cpu * 1 + score_memory * 1) // (1 + 1)

Kubernetes counterpart: pkg/scheduler/framework/plugins/noderesources/least_allocated.go,
.../noderesources/resource_allocation.go
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import MAX_NODE_SCORE, NoNormalize
from scheduler.types import NodeInfo, PodInfo

NAME = "NodeResourcesFit"
CPU_WEIGHT = 1
MEMORY_WEIGHT = 1


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


class LeastAllocated(NoNormalize):
    name = NAME

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        wanted = pod.resource.non_zero_requests
        cpu = least_requested_score(node.non_zero_requested.milli_cpu + wanted.milli_cpu,
                                    node.allocatable.milli_cpu)
        memory = least_requested_score(node.non_zero_requested.memory + wanted.memory,
                                       node.allocatable.memory)
        return (cpu * CPU_WEIGHT + memory * MEMORY_WEIGHT) // (CPU_WEIGHT + MEMORY_WEIGHT)
