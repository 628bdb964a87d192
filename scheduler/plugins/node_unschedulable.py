"""NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods.

A pod that tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint (as
DaemonSet pods do) may still land there.

Kubernetes counterpart: pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, unresolvable
from scheduler.types import NodeInfo, PodInfo
from tinykube.api.core import Taint

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


class NodeUnschedulable:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable:
            return SUCCESS
        if any(t.tolerates_taint(UNSCHEDULABLE_TAINT) for t in pod.tolerations):
            return SUCCESS
        return unresolvable(NAME, REASON)
