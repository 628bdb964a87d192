"""NodePorts: two pods cannot bind the same hostPort on one node.

PreFilter collects the pod's (hostIP, protocol, hostPort) triples once into the
CycleState, and returns Skip when there are none (then Filter does not run).
Filter: a wanted triple conflicts with a used one on the same protocol and port
when either IP is 0.0.0.0 (all addresses) or both are equal.

Kubernetes counterpart: pkg/scheduler/framework/plugins/nodeports/node_ports.go,
pkg/scheduler/framework/types.go (HostPortInfo.CheckConflict)
"""

from __future__ import annotations

from scheduler.cycle_state import CycleState
from scheduler.framework import SUCCESS, Status, as_error, skip, unschedulable
from scheduler.types import HostPort, NodeInfo, PodInfo

NAME = "NodePorts"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
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

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        if not pod.host_ports:
            return skip(NAME)
        state.write(PRE_FILTER_STATE_KEY, pod.host_ports)
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        wanted_ports: list[HostPort] | None = state.read(PRE_FILTER_STATE_KEY)
        if wanted_ports is None:
            return as_error(NAME, f"reading {PRE_FILTER_STATE_KEY!r} from cycleState: not found")
        if not node.used_ports:
            return SUCCESS
        for wanted in wanted_ports:
            if any(ports_conflict(wanted, used) for used in node.used_ports):
                return unschedulable(NAME, REASON)
        return SUCCESS
