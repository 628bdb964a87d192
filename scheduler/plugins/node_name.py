"""NodeName: a pod that names its node (spec.nodeName) fits only that node.

A pod created with spec.nodeName never reaches the scheduler (the kubelet of that
node picks it up directly), so in this scheduler the filter only matters for a
PodInfo evaluated against a fixed node; it is kept because upstream's default
filter list starts with it and a reader comparing the two should find it here.

Kubernetes counterpart: pkg/scheduler/framework/plugins/nodename/node_name.go
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, unresolvable
from scheduler.types import NodeInfo, PodInfo

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


class NodeName:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not pod.node_name or pod.node_name == node.name:
            return SUCCESS
        return unresolvable(NAME, REASON)
