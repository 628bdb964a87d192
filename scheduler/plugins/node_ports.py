"""NodePorts: two pods cannot bind the same hostPort on one node.

A requested (hostIP, protocol, hostPort) conflicts with a used one on the same
protocol and port when either IP is 0.0.0.0 (all addresses) or both are equal.

Kubernetes counterpart: pkg/scheduler/framework/plugins/nodeports/node_ports.go,
pkg/scheduler/framework/types.go (HostPortInfo.CheckConflict)
"""

from __future__ import annotations

from scheduler.framework import SUCCESS, CycleState, Status, unschedulable
from scheduler.types import HostPort, NodeInfo, PodInfo

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"
ANY_IP = "0.0.0.0"


def ports_conflict(wanted: HostPort, used: HostPort) -> bool:
    ip, protocol, port = wanted
    used_ip, used_protocol, used_port = used
    if port != used_port or protocol != used_protocol:
        return False
    return ip == ANY_IP or used_ip == ANY_IP or ip == used_ip


class NodePorts:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not pod.host_ports or not node.used_ports:
            return SUCCESS
        for wanted in pod.host_ports:
            if any(ports_conflict(wanted, used) for used in node.used_ports):
                return unschedulable(NAME, REASON)
        return SUCCESS
