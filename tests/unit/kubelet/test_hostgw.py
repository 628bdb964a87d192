"""The host-gw agent: routes from Node objects, rules, and the commands one sync runs."""

from __future__ import annotations

from kubelet.network.hostgw import (
    HostGatewayNetwork,
    desired_routes,
    iptables_rules,
    parse_routes,
    route_commands,
)
from tinykube.api.core import Node
from tinykube.testing.fake_client import FakeClient


def node(name: str, cidr: str | None, ip: str | None) -> Node:
    return Node.from_dict({"metadata": {"name": name, "resourceVersion": "1"}, "spec": {"podCIDR": cidr} if cidr else {},
            "status": {"addresses": [{"type": "Hostname", "address": name}] +
                       ([{"type": "InternalIP", "address": ip}] if ip else [])}})


NODES = [node("node-1", "10.244.0.0/24", "172.18.0.5"), node("node-2", "10.244.1.0/24", "172.18.0.6"),
         node("node-3", None, "172.18.0.7"), node("node-4", "10.244.3.0/24", None)]


def test_routes_go_to_every_other_node_that_has_a_cidr_and_an_address() -> None:
    assert desired_routes(NODES, "node-1") == {"10.244.1.0/24": "172.18.0.6"}
    assert desired_routes(NODES, "node-2") == {"10.244.0.0/24": "172.18.0.5"}


def test_route_commands_add_change_and_remove_only_what_differs() -> None:
    current = parse_routes("10.244.1.0/24 via 172.18.0.9 dev eth0 \n"
                           "10.244.7.0/24 via 172.18.0.7 dev eth0 \n"
                           "unreachable 10.244.0.0/16 \n"
                           "10.244.2.0/24 via 172.18.0.8 dev eth0 \n")
    desired = {"10.244.1.0/24": "172.18.0.6", "10.244.2.0/24": "172.18.0.8", "10.244.0.0/16": "unreachable"}
    assert route_commands(current, desired) == [
        ["ip", "-4", "route", "replace", "10.244.1.0/24", "via", "172.18.0.6", "proto", "77"],
        ["ip", "-4", "route", "del", "10.244.7.0/24", "proto", "77"]]
    assert route_commands(parse_routes(""), {"10.244.0.0/16": "unreachable"}) == [
        ["ip", "-4", "route", "replace", "unreachable", "10.244.0.0/16", "proto", "77"]]


def test_rules_never_masquerade_pod_to_pod_and_masquerade_what_leaves_the_cluster() -> None:
    rules = iptables_rules("10.244.0.0/16", "10.244.1.0/24", "cbr0").splitlines()
    nat = rules[rules.index("*nat"):]
    accept = nat.index("-A TINYKUBE-POSTROUTING -s 10.244.0.0/16 -d 10.244.0.0/16 -j ACCEPT")
    masquerade = nat.index("-A TINYKUBE-POSTROUTING -s 10.244.1.0/24 ! -o cbr0 -j MASQUERADE")
    assert accept < masquerade
    assert "-A TINYKUBE-FORWARD -d 10.244.0.0/16 -j ACCEPT" in rules
    assert rules.count("COMMIT") == 2


class FakeMachine:
    """Answers `ip route show` from its route table and records every command."""

    def __init__(self, routes: str, jumps_present: bool) -> None:
        self.routes = routes
        self.jumps_present = jumps_present
        self.commands: list[tuple[list[str], str | None]] = []

    async def __call__(self, argv: list[str], stdin: str | None) -> tuple[int, str]:
        self.commands.append((argv, stdin))
        if argv[:4] == ["ip", "-4", "route", "show"]:
            return 0, self.routes
        if "-C" in argv:
            return (0 if self.jumps_present else 1), ""
        return 0, ""


async def test_one_sync_programs_routes_rules_and_missing_jumps() -> None:
    machine = FakeMachine(routes="", jumps_present=False)
    agent = HostGatewayNetwork(FakeClient(), "node-1", "10.244.0.0/16", "cbr0",
                               lambda: "10.244.0.0/24", runner=machine)
    for n in NODES:
        agent.informer.indexer.add(n)
    await agent.sync()
    argvs = [argv for argv, _ in machine.commands]
    assert ["ip", "-4", "route", "replace", "10.244.1.0/24", "via", "172.18.0.6", "proto", "77"] in argvs
    assert ["ip", "-4", "route", "replace", "unreachable", "10.244.0.0/16", "proto", "77"] in argvs
    restore = next(stdin for argv, stdin in machine.commands if argv[0] == "iptables-restore")
    assert restore is not None and "-s 10.244.0.0/24 ! -o cbr0 -j MASQUERADE" in restore
    assert ["iptables", "-w", "-t", "filter", "-I", "FORWARD", "1", "-j", "TINYKUBE-FORWARD"] in argvs
    assert ["iptables", "-w", "-t", "nat", "-I", "POSTROUTING", "1", "-j", "TINYKUBE-POSTROUTING"] in argvs

    settled = FakeMachine(routes="10.244.1.0/24 via 172.18.0.6 dev eth0\nunreachable 10.244.0.0/16\n",
                          jumps_present=True)
    agent.runner = settled
    await agent.sync()
    changes = [argv for argv, _ in settled.commands if argv[:4] != ["ip", "-4", "route", "show"]
               and "-C" not in argv and argv[0] != "iptables-restore"]
    assert changes == []  # nothing to do when the machine already matches
