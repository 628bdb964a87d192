"""The pod network between nodes, host-gw style: routes to the other nodes' pod CIDRs.

Every node's pods live on a bridge that owns the node's `spec.podCIDR` (the Docker
runtime makes it, see kubelet.runtime.docker). So reaching a pod on another node
only needs one route per node: "10.244.2.0/24 via <node-2's IP>". This agent keeps
those routes equal to the Node objects it watches (added, moved, removed as nodes
come and go), plus the packet-filter rules that let pod traffic through:

- routes carry `proto 77`, so the agent knows which routes are its own and never
  touches others; an `unreachable` route for the whole cluster CIDR makes a packet
  for a pod CIDR that no node owns fail at once instead of leaving the machine;
- `filter TINYKUBE-FORWARD` accepts forwarded traffic to pods, from other nodes
  too (Docker's FORWARD policy is DROP);
- `nat TINYKUBE-POSTROUTING` never masquerades pod-to-pod traffic (pods see each
  other's real IPs) and masquerades what leaves the cluster CIDR from local pods.

The rules are applied with one `iptables-restore --noflush` (all or nothing); the
jumps from the built-in chains are checked and inserted on each sync, because a
restarted Docker engine puts its own rules first again. A full sync runs on every
Node change and every `resync_seconds`.

Kubernetes counterpart: flannel's host-gw backend (github.com/flannel-io/flannel
pkg/backend/hostgw), pkg/kubelet/network/kubenet (the bridge and masquerade rules)
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Iterable
from tinykube.api.core import Node
from tinykube.api.resources import NODES
from tinykube.client import SharedInformer
from tinykube.client.informer import ListerWatcher
from tinykube.system import Runner, run_command

log = logging.getLogger(__name__)

ROUTE_PROTO = "77"  # marks the routes this agent owns
FORWARD_CHAIN = "TINYKUBE-FORWARD"
POSTROUTING_CHAIN = "TINYKUBE-POSTROUTING"
MASQ_MARK = "0x4000/0x4000"  # kube-proxy's "masquerade this" mark
# (table, built-in chain, our chain): the jumps kept at the top of the built-in chains.
JUMPS = (("filter", "FORWARD", FORWARD_CHAIN), ("nat", "POSTROUTING", POSTROUTING_CHAIN))

def internal_ip(node: Node) -> str | None:
    for address in (node.status.addresses if node.status else None) or []:
        if address.type == "InternalIP":
            return address.address
    return None


def desired_routes(nodes: Iterable[Node], own_name: str) -> dict[str, str]:
    """{pod CIDR: next hop} for every other node with both a pod CIDR and an address."""
    routes = {}
    for node in nodes:
        cidr, via = node.spec.pod_cidr if node.spec else None, internal_ip(node)
        if node.metadata.name != own_name and cidr and via:
            routes[str(ipaddress.ip_network(cidr))] = via
    return routes


def parse_routes(output: str) -> dict[str, str]:
    """`ip -4 route show proto 77` → {destination: next hop, or "unreachable"}."""
    routes = {}
    for line in output.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "unreachable" and len(words) > 1:
            routes[words[1]] = "unreachable"
        elif "via" in words:
            routes[words[0]] = words[words.index("via") + 1]
    return routes


def route_commands(current: dict[str, str], desired: dict[str, str]) -> list[list[str]]:
    """The `ip route` commands that turn `current` into `desired` (ours only)."""
    commands = []
    for destination, via in sorted(desired.items()):
        if current.get(destination) != via:
            if via == "unreachable":
                commands.append(["ip", "-4", "route", "replace", "unreachable", destination, "proto", ROUTE_PROTO])
            else:
                commands.append(["ip", "-4", "route", "replace", destination, "via", via, "proto", ROUTE_PROTO])
    for destination in sorted(set(current) - set(desired)):
        commands.append(["ip", "-4", "route", "del", destination, "proto", ROUTE_PROTO])
    return commands


def iptables_rules(cluster_cidr: str, pod_cidr: str, bridge: str) -> str:
    """The whole rule set, for `iptables-restore --noflush` (our chains only)."""
    return "\n".join([
        "*filter",
        f":{FORWARD_CHAIN} - [0:0]",
        # Only traffic *to* pods (after any Service DNAT): a pod's packet for a Service
        # without endpoints must still meet kube-proxy's REJECT further on, and Docker
        # already accepts what leaves the pod bridge.
        f"-A {FORWARD_CHAIN} -d {cluster_cidr} -j ACCEPT",
        "COMMIT",
        "*nat",
        f":{POSTROUTING_CHAIN} - [0:0]",
        # Packets kube-proxy marked for masquerading (a pod reaching itself through a
        # Service) go back to POSTROUTING, where KUBE-POSTROUTING masquerades them.
        f"-A {POSTROUTING_CHAIN} -m mark --mark {MASQ_MARK} -j RETURN",
        # ACCEPT, not RETURN: RETURN would go back to POSTROUTING and its masquerades.
        f"-A {POSTROUTING_CHAIN} -s {cluster_cidr} -d {cluster_cidr} -j ACCEPT",
        f"-A {POSTROUTING_CHAIN} -s {pod_cidr} ! -o {bridge} -j MASQUERADE",
        "COMMIT",
        ""])


class HostGatewayNetwork:
    """Keeps this node's routes and rules equal to the cluster's Nodes."""

    def __init__(self, client: ListerWatcher, node_name: str, cluster_cidr: str, bridge: str,
                 pod_cidr: Callable[[], str], *, runner: Runner = run_command, resync_seconds: float = 30.0) -> None:
        self.node_name = node_name
        self.cluster_cidr = str(ipaddress.ip_network(cluster_cidr))
        self.bridge = bridge
        self.pod_cidr = pod_cidr
        self.runner = runner
        self.resync_seconds = resync_seconds
        self.informer = SharedInformer(client, NODES, indexers={}, typed=True)
        self._changed = asyncio.Event()
        self.informer.add_event_handler(on_add=self._on_change, on_update=lambda old, new: self._on_change(new),
                                        on_delete=self._on_change)

    def _on_change(self, _: Node) -> None:
        self._changed.set()

    async def run(self) -> None:
        self.informer.start()
        try:
            while True:
                try:
                    await asyncio.wait_for(self._changed.wait(), self.resync_seconds)
                except TimeoutError:
                    pass
                if not self.informer.has_synced():
                    await asyncio.sleep(0.1)  # the first list is arriving: sync once it is whole
                    continue
                self._changed.clear()
                try:
                    await self.sync()
                except Exception as err:  # retried at the next change or resync
                    log.warning("pod network sync failed err=%s", err)
        finally:
            await self.informer.stop()

    async def sync(self) -> None:
        desired = desired_routes(self.informer.indexer.list(), self.node_name)
        desired[self.cluster_cidr] = "unreachable"
        _, shown = await self._run(["ip", "-4", "route", "show", "proto", ROUTE_PROTO])
        for command in route_commands(parse_routes(shown), desired):
            await self._run(command)
            log.info("route %s", " ".join(command[3:-2]))
        await self._run(["iptables-restore", "-w", "--noflush"],
                        iptables_rules(self.cluster_cidr, self.pod_cidr(), self.bridge))
        for table, builtin, chain in JUMPS:
            present, _ = await self.runner(["iptables", "-w", "-t", table, "-C", builtin, "-j", chain], None)
            if present != 0:
                await self._run(["iptables", "-w", "-t", table, "-I", builtin, "1", "-j", chain])

    async def _run(self, argv: list[str], stdin: str | None = None) -> tuple[int, str]:
        code, output = await self.runner(argv, stdin)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {code}: {output.strip()}")
        return code, output
