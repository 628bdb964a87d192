"""kube-proxy's rules, computed from Services and EndpointSlices (pure; no iptables here)."""

from __future__ import annotations

from typing import Any

from kube_proxy.rules import build_rules, chains_in, service_ports
from tinykube.api.core import (
    ClientIPConfig,
    LoadBalancerIngress,
    LoadBalancerStatus,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceStatus,
    SessionAffinityConfig,
)
from tinykube.api.discovery import SERVICE_NAME_LABEL, Endpoint, EndpointConditions, EndpointPort, EndpointSlice
from tinykube.api.meta import ObjectMeta

CIDR = "10.244.0.0/16"


def service(name: str, cluster_ip: str = "10.96.0.50", type_: str = "ClusterIP", **spec: Any) -> Service:
    port = ServicePort(name="http", port=80, target_port=8080, protocol="TCP",
                       node_port=30080 if type_ != "ClusterIP" else None)
    return Service(metadata=ObjectMeta(name=name, namespace="web"),
                   spec=ServiceSpec(type=type_, cluster_ip=cluster_ip, ports=[port], **spec))


def endpoints(name: str, ready: list[tuple[str, str]], not_ready: list[str] | None = None,
              terminating: list[str] | None = None) -> EndpointSlice:
    """The slice the EndpointSlice controller writes for Service `name`: ready endpoints,
    not-ready ones, and ones still serving while they terminate."""
    endpoints = [Endpoint(addresses=[ip], node_name=node, conditions=EndpointConditions(ready=True))
                 for ip, node in ready]
    endpoints += [Endpoint(addresses=[ip], conditions=EndpointConditions(ready=False)) for ip in not_ready or []]
    endpoints += [Endpoint(addresses=[ip], conditions=EndpointConditions(ready=False, serving=True, terminating=True))
                  for ip in terminating or []]
    return EndpointSlice(metadata=ObjectMeta(name=f"{name}-abcde", namespace="web",
                                             labels={SERVICE_NAME_LABEL: name}),
                         ports=[EndpointPort(name="http", port=8080, protocol="TCP")], endpoints=endpoints)


THREE = [("10.244.0.2", "node-1"), ("10.244.1.2", "node-2"), ("10.244.1.3", "node-2")]


def rules_for(services: list[Service], eps: list[EndpointSlice], node: str = "node-1",
              existing: tuple[str, ...] = ()) -> list[str]:
    return build_rules(service_ports(services, eps), node, CIDR, existing).splitlines()


def test_ready_endpoints_share_a_cluster_ip_evenly_and_not_ready_ones_get_nothing() -> None:
    lines = rules_for([service("web")], [endpoints("web", THREE, not_ready=["10.244.0.9"])])
    svc = next(line.split()[-1] for line in lines if "--dport 80 -j KUBE-SVC-" in line)
    spread = [line for line in lines if line.startswith(f"-A {svc} ") and "KUBE-SEP-" in line]
    assert len(spread) == 3
    assert "--probability 0.33333333333" in spread[0] and "--probability 0.50000000000" in spread[1]
    assert "statistic" not in spread[2]
    dnats = sorted(line.split()[-1] for line in lines if "-j DNAT" in line)
    assert dnats == ["10.244.0.2:8080", "10.244.1.2:8080", "10.244.1.3:8080"]
    assert f"-A {svc} ! -s {CIDR} -d 10.96.0.50/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ" in lines
    assert any(line.startswith("-A KUBE-SEP-") and "-s 10.244.0.2/32 -j KUBE-MARK-MASQ" in line for line in lines)
    assert not any("REJECT" in line for line in lines)


def test_a_service_without_ready_endpoints_rejects_at_once() -> None:
    lines = rules_for([service("web", type_="NodePort")], [endpoints("web", [], not_ready=["10.244.0.9"])])
    rejects = [line for line in lines if "REJECT" in line]
    assert len(rejects) == 2
    assert "-d 10.96.0.50/32 -p tcp -m tcp --dport 80" in rejects[0]
    assert "--dst-type LOCAL -p tcp -m tcp --dport 30080" in rejects[1]
    assert not any("KUBE-SVC-" in line for line in lines)


def test_node_port_and_load_balancer_ip_go_through_the_external_chain_with_masquerade() -> None:
    lb = service("web", type_="LoadBalancer")
    lb.status = ServiceStatus(load_balancer=LoadBalancerStatus(ingress=[LoadBalancerIngress(ip="172.18.0.100")]))
    lines = rules_for([lb], [endpoints("web", THREE)])
    ext = next(line.split()[-1] for line in lines if line.startswith("-A KUBE-NODEPORTS"))
    assert ext.startswith("KUBE-EXT-")
    assert any("-d 172.18.0.100/32 -p tcp -m tcp --dport 80" in line and line.endswith(ext) for line in lines)
    assert f"-A {ext} -j KUBE-MARK-MASQ" in lines
    assert lines[lines.index("*nat"):][-2].endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")


def test_local_traffic_policy_keeps_external_traffic_on_local_endpoints_unmasqueraded() -> None:
    svc = service("web", type_="NodePort", external_traffic_policy="Local")
    on_node1 = rules_for([svc], [endpoints("web", THREE)], node="node-1")
    svl = next(line.split()[-1] for line in on_node1 if line.startswith("-A KUBE-EXT-") and "KUBE-SVL-" in line)
    assert [line.split()[-1] for line in on_node1 if line.startswith(f"-A {svl} ")] != []
    local_seps = {line.split()[-1] for line in on_node1 if line.startswith(f"-A {svl} ")}
    local_dnat = [line for line in on_node1 if "DNAT" in line and line.split()[1] in local_seps]
    assert [line.split()[-1] for line in local_dnat] == ["10.244.0.2:8080"]
    assert not any(line.startswith("-A KUBE-EXT-") and "KUBE-MARK-MASQ" in line for line in on_node1)

    nowhere = rules_for([svc], [endpoints("web", [("10.244.1.2", "node-2")])], node="node-3")
    assert any("KUBE-EXTERNAL-SERVICES" in line and "--dport 30080" in line and line.endswith("-j DROP")
               for line in nowhere)


def test_client_ip_affinity_checks_recent_clients_before_spreading() -> None:
    svc = service("web", session_affinity="ClientIP",
                  session_affinity_config=SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=60)))
    lines = rules_for([svc], [endpoints("web", THREE)])
    checks = [line for line in lines if "--rcheck --seconds 60 --reap" in line]
    assert len(checks) == 3
    first_spread = next(i for i, line in enumerate(lines) if "statistic" in line)
    assert all(lines.index(check) < first_spread for check in checks)
    assert sum("--set -j DNAT" in line for line in lines) == 3


def test_headless_and_external_name_services_get_no_rules() -> None:
    headless = service("db", cluster_ip="None")
    external = Service(metadata=ObjectMeta(name="ext", namespace="web"),
                       spec=ServiceSpec(type="ExternalName", external_name="example.com"))
    assert service_ports([headless, external], [endpoints("db", THREE)]) == []


def test_chains_of_deleted_services_are_declared_and_deleted() -> None:
    before = build_rules(service_ports([service("web")], [endpoints("web", THREE)]), "node-1", CIDR)
    old_chains = chains_in(before)
    after = rules_for([], [], existing=tuple(old_chains)).copy()
    stale = sorted(c for c in old_chains if c.startswith(("KUBE-SVC-", "KUBE-SEP-")))
    assert len(stale) == 4
    for chain in stale:
        assert f":{chain} - [0:0]" in after and f"-X {chain}" in after


def test_chain_names_fit_iptables_and_are_stable() -> None:
    lines = rules_for([service("a-very-long-service-name-indeed")], [endpoints("a-very-long-service-name-indeed", THREE)])
    chains = {c for c in chains_in("\n".join(lines)) if c.startswith("KUBE-")}
    assert all(len(c) <= 28 for c in chains)
    assert rules_for([service("web")], [endpoints("web", THREE)]) == rules_for([service("web")], [endpoints("web", THREE)])


def test_terminating_endpoints_serve_only_when_no_endpoint_is_ready() -> None:
    draining = rules_for([service("web")], [endpoints("web", [], terminating=["10.244.0.7"])])
    assert [line.split()[-1] for line in draining if "-j DNAT" in line] == ["10.244.0.7:8080"]
    mixed = rules_for([service("web")], [endpoints("web", [("10.244.0.2", "node-1")], terminating=["10.244.0.7"])])
    assert [line.split()[-1] for line in mixed if "-j DNAT" in line] == ["10.244.0.2:8080"]


def test_endpoints_of_every_slice_of_the_service_count_and_other_services_slices_do_not() -> None:
    first = endpoints("web", THREE[:1])
    second = endpoints("web", THREE[1:])
    second.metadata.name = "web-fghij"
    other = endpoints("db", [("10.244.2.2", "node-3")])
    lines = rules_for([service("web")], [first, second, other])
    assert sorted(line.split()[-1] for line in lines if "-j DNAT" in line) == [
        "10.244.0.2:8080", "10.244.1.2:8080", "10.244.1.3:8080"]
