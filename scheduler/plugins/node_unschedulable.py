"""NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods.

A pod that tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint (as
DaemonSet pods do) may still land there.

Kubernetes counterpart: pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go
"""

from __future__ import annotations

from scheduler.framework import SUCCESS, CycleState, Status, unresolvable
from scheduler.types import NodeInfo, PodInfo
from tinykube.api.taints import tolerates_taint

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable:
            return SUCCESS
        if any(tolerates_taint(t, UNSCHEDULABLE_TAINT) for t in pod.tolerations):
            return SUCCESS
        return unresolvable(NAME, REASON)
