"""BalancedAllocation: prefer nodes whose cpu and memory would be used evenly.

With the pod placed, the fraction of each resource requested (capped at 1):
    f_cpu = min(1, (requested_cpu + pod_cpu) / allocatable_cpu)
    f_mem = min(1, (requested_mem + pod_mem) / allocatable_mem)
    std   = |f_cpu - f_mem| / 2          (the standard deviation of two values)
    score = int((1 - std) * 100)
Real requests are used here, not the "non-zero" defaults; a pod requesting
nothing is not scored (every node gets 0, which changes no ranking).

Kubernetes counterpart: pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import MAX_NODE_SCORE, NoNormalize
from scheduler.types import NodeInfo, PodInfo

NAME = "NodeResourcesBalancedAllocation"


def fraction(requested: int, allocatable: int) -> float:
    return 1.0 if allocatable == 0 else min(1.0, requested / allocatable)


class BalancedAllocation(NoNormalize):
    name = NAME

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        wanted = pod.resource.requests
        if not wanted.milli_cpu and not wanted.memory:
            return 0
        f_cpu = fraction(node.requested.milli_cpu + wanted.milli_cpu, node.allocatable.milli_cpu)
        f_mem = fraction(node.requested.memory + wanted.memory, node.allocatable.memory)
        std = abs(f_cpu - f_mem) / 2
        return int((1 - std) * MAX_NODE_SCORE)
