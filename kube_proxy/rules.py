"""The iptables rules for a node's Services, computed in full from Services and EndpointSlices.

A pure function of its inputs: `build_rules` returns the text that one
`iptables-restore --noflush` applies as a single transaction. Every chain it owns is
declared (`:CHAIN - [0:0]`), which flushes it, and then filled again; chains of
Services that are gone are declared and deleted (`-X`) in the same transaction.

nat table, for a Service port with ready endpoints (names as kube-proxy's):

    KUBE-SERVICES  -d <clusterIP> --dport <port>          -> KUBE-SVC-<hash>
                   -d <LB ingress IP / externalIP> --dport -> KUBE-EXT-<hash>
                   -m addrtype --dst-type LOCAL (last)     -> KUBE-NODEPORTS
    KUBE-NODEPORTS --dport <nodePort>                      -> KUBE-EXT-<hash>
    KUBE-EXT       (Cluster policy) mark for masquerade    -> KUBE-SVC
                   (Local policy) pods' own traffic        -> KUBE-SVC, the rest -> KUBE-SVL
    KUBE-SVC       traffic from outside the pod CIDR is marked for masquerade; then
                   one rule per endpoint: endpoint i of n is chosen with probability
                   1/(n-i), so each gets 1/n; with sessionAffinity ClientIP a client
                   seen within timeoutSeconds goes back to its endpoint first
    KUBE-SVL       the same over this node's endpoints only (no masquerade: the
                   client's address is kept)
    KUBE-SEP       an endpoint talking to itself through the Service is masqueraded
                   (hairpin), then DNAT to <podIP>:<targetPort>
    KUBE-POSTROUTING  masquerades what was marked

filter table: a Service port without ready endpoints is REJECTed at once (an ICMP
port-unreachable, so a client fails instead of hanging), and a Local-policy NodePort
without local endpoints is DROPped; forwarded packets that were marked are accepted.

Headless Services (clusterIP None) get no rules: DNS hands out pod IPs instead.

Kubernetes counterpart: pkg/proxy/iptables/proxier.go (syncProxyRules)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from tinykube.api.core import Service, ServiceSpec
from tinykube.api.discovery import (
    SERVICE_NAME_LABEL, EndpointSlice, endpoint_is_ready, endpoint_is_serving_terminating,
)

MASQ_MARK = "0x4000/0x4000"
# Our chains in each table; anything named with these prefixes that a sync does not
# produce is stale and gets deleted.
NAT_CHAINS = ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ")
FILTER_CHAINS = ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD")
PER_SERVICE_PREFIXES = ("KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-SEP-")
# (table, built-in chain, our chain, extra match): the jumps kept in built-in chains.
JUMPS = (
    ("nat", "PREROUTING", "KUBE-SERVICES", ()),
    ("nat", "OUTPUT", "KUBE-SERVICES", ()),
    ("nat", "POSTROUTING", "KUBE-POSTROUTING", ()),
    ("filter", "FORWARD", "KUBE-FORWARD", ()),
    ("filter", "FORWARD", "KUBE-SERVICES", ("-m", "conntrack", "--ctstate", "NEW")),
    ("filter", "OUTPUT", "KUBE-SERVICES", ("-m", "conntrack", "--ctstate", "NEW")),
    ("filter", "INPUT", "KUBE-EXTERNAL-SERVICES", ("-m", "conntrack", "--ctstate", "NEW")),
    ("filter", "FORWARD", "KUBE-EXTERNAL-SERVICES", ("-m", "conntrack", "--ctstate", "NEW")),
)


def chain_name(prefix: str, *parts: str) -> str:
    """kube-proxy's naming: a prefix and 16 base32 characters of a hash (iptables
    chain names are at most 28 characters)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:16]


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""


@dataclass
class ServicePort:
    """One port of one Service, with what the rules need."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: list[str] = field(default_factory=list)
    local_only: bool = False  # externalTrafficPolicy: Local
    affinity_seconds: int = 0  # sessionAffinity ClientIP timeout; 0 = none
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port_name}"

    def chain(self, prefix: str) -> str:
        return chain_name(prefix, self.namespace, self.name, self.port_name, self.protocol.lower())

    def endpoint_chain(self, endpoint: Endpoint) -> str:
        return chain_name("KUBE-SEP-", self.namespace, self.name, self.port_name, self.protocol.lower(),
                          f"{endpoint.ip}:{endpoint.port}")


def service_ports(services: Iterable[Service], slices: Iterable[EndpointSlice]) -> list[ServicePort]:
    """Services and their EndpointSlices, as ServicePorts (headless and ExternalName left out).

    A Service port's endpoints are the ready endpoints of every slice labelled with the
    Service's name that serves a port of the same name and protocol; when none is ready,
    the ones still serving while they terminate take the traffic (so connections drain
    instead of being refused during a rollout's last moments)."""
    by_service: dict[tuple[str | None, str], list[EndpointSlice]] = {}
    for slice_ in slices:
        service_name = (slice_.metadata.labels or {}).get(SERVICE_NAME_LABEL)
        if service_name and slice_.address_type == "IPv4":
            by_service.setdefault((slice_.metadata.namespace, service_name), []).append(slice_)
    result = []
    for service in services:
        meta, spec = service.metadata, service.spec or ServiceSpec()
        namespace, name = meta.namespace or "", meta.name or ""
        cluster_ip = spec.cluster_ip or ""
        if spec.type == "ExternalName" or not cluster_ip or cluster_ip == "None":
            continue
        external = spec.type in ("NodePort", "LoadBalancer")
        affinity = 0
        if spec.session_affinity == "ClientIP":
            client_ip = spec.session_affinity_config.client_ip if spec.session_affinity_config else None
            affinity = (client_ip.timeout_seconds if client_ip else None) or 10800
        found = by_service.get((meta.namespace, name), [])
        for port in spec.ports or []:
            protocol = port.protocol or "TCP"
            if protocol not in ("TCP", "UDP"):
                continue  # SCTP is not supported
            port_name = port.name or ""
            ready, terminating = [], []
            for slice_ in found:
                target = next((p for p in slice_.ports or []
                               if (p.name or "") == port_name and (p.protocol or "TCP") == protocol), None)
                if target is None or target.port is None:
                    continue
                for endpoint in slice_.endpoints or []:
                    chosen = Endpoint(endpoint.addresses[0], target.port, endpoint.node_name or "")
                    if endpoint_is_ready(endpoint):
                        ready.append(chosen)
                    elif endpoint_is_serving_terminating(endpoint):
                        terminating.append(chosen)
            result.append(ServicePort(
                namespace, name, port_name, protocol, cluster_ip, port.port,
                (port.node_port or 0) if external else 0,
                list(spec.external_ips or []) + load_balancer_ips(service),
                spec.external_traffic_policy == "Local" and external,
                affinity, sorted(set(ready or terminating), key=lambda e: (e.ip, e.port))))
    return sorted(result, key=lambda p: p.key)


def load_balancer_ips(service: Service) -> list[str]:
    """The IPs in the Service's `status.loadBalancer.ingress`."""
    balancer = service.status.load_balancer if service.status else None
    return [i.ip for i in (balancer.ingress if balancer else None) or [] if i.ip]


def _match(protocol: str, port: int, *, destination: str | None = None) -> list[str]:
    words = ["-d", f"{destination}/32"] if destination else []
    proto = protocol.lower()
    return words + ["-p", proto, "-m", proto, "--dport", str(port)]


def _comment(text: str) -> list[str]:
    return ["-m", "comment", "--comment", f'"{text}"']


def build_rules(ports: list[ServicePort], node_name: str, cluster_cidr: str,
                existing_chains: Iterable[str] = ()) -> str:
    """The whole `iptables-restore --noflush` input for this node."""
    nat: list[list[str]] = [
        ["-A", "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", "0x4000"],
        ["-A", "KUBE-POSTROUTING", "-m", "mark", "!", "--mark", MASQ_MARK, "-j", "RETURN"],
        ["-A", "KUBE-POSTROUTING", "-j", "MARK", "--xor-mark", "0x4000"],
        ["-A", "KUBE-POSTROUTING", "-j", "MASQUERADE", "--random-fully"],
    ]
    filter_rules: list[list[str]] = [
        ["-A", "KUBE-FORWARD", "-m", "mark", "--mark", MASQ_MARK, "-j", "ACCEPT"],
        ["-A", "KUBE-FORWARD", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    ]
    nat_chains = list(NAT_CHAINS)
    for sp in ports:
        proto = sp.protocol.lower()
        if not sp.endpoints:
            reject = ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
            comment = _comment(f"{sp.key} has no endpoints")
            filter_rules.append(["-A", "KUBE-SERVICES", *comment, *_match(sp.protocol, sp.port, destination=sp.cluster_ip),
                                 *reject])
            for ip in sp.external_ips:
                filter_rules.append(["-A", "KUBE-SERVICES", *comment, *_match(sp.protocol, sp.port, destination=ip),
                                     *reject])
            if sp.node_port:
                filter_rules.append(["-A", "KUBE-EXTERNAL-SERVICES", *comment, "-m", "addrtype", "--dst-type",
                                     "LOCAL", *_match(sp.protocol, sp.node_port), *reject])
            continue
        svc, ext, svl = sp.chain("KUBE-SVC-"), sp.chain("KUBE-EXT-"), sp.chain("KUBE-SVL-")
        nat_chains.append(svc)
        nat.append(["-A", "KUBE-SERVICES", *_comment(f"{sp.key} cluster IP"),
                    *_match(sp.protocol, sp.port, destination=sp.cluster_ip), "-j", svc])
        nat.append(["-A", svc, "!", "-s", cluster_cidr, *_match(sp.protocol, sp.port, destination=sp.cluster_ip),
                    "-j", "KUBE-MARK-MASQ"])
        nat += _spread(sp, svc, sp.endpoints)
        for endpoint in sp.endpoints:
            sep = sp.endpoint_chain(endpoint)
            nat_chains.append(sep)
            nat.append(["-A", sep, "-s", f"{endpoint.ip}/32", "-j", "KUBE-MARK-MASQ"])
            recent = ["-m", "recent", "--name", sep, "--set"] if sp.affinity_seconds else []
            nat.append(["-A", sep, "-p", proto, "-m", proto, *recent, "-j", "DNAT", "--to-destination",
                        f"{endpoint.ip}:{endpoint.port}"])
        if not (sp.node_port or sp.external_ips):
            continue
        nat_chains.append(ext)
        for ip in sp.external_ips:
            nat.append(["-A", "KUBE-SERVICES", *_comment(f"{sp.key} external IP"),
                        *_match(sp.protocol, sp.port, destination=ip), "-j", ext])
        if sp.node_port:
            nat.append(["-A", "KUBE-NODEPORTS", *_comment(sp.key), *_match(sp.protocol, sp.node_port), "-j", ext])
        if not sp.local_only:
            nat.append(["-A", ext, "-j", "KUBE-MARK-MASQ"])
            nat.append(["-A", ext, "-j", svc])
            continue
        local = [e for e in sp.endpoints if e.node_name == node_name]
        nat.append(["-A", ext, "-s", cluster_cidr, "-j", svc])  # pods may use any endpoint
        if local:
            nat_chains.append(svl)
            nat.append(["-A", ext, "-j", svl])
            nat += _spread(sp, svl, local)
        elif sp.node_port:
            filter_rules.append(["-A", "KUBE-EXTERNAL-SERVICES", *_comment(f"{sp.key} has no local endpoints"),
                                 "-m", "addrtype", "--dst-type", "LOCAL", *_match(sp.protocol, sp.node_port),
                                 "-j", "DROP"])
    nat.append(["-A", "KUBE-SERVICES", *_comment("kubernetes service nodeports"),
                "-m", "addrtype", "--dst-type", "LOCAL", "-j", "KUBE-NODEPORTS"])
    stale = sorted({c for c in existing_chains if c.startswith(PER_SERVICE_PREFIXES)} - set(nat_chains))
    lines = ["*filter", *(f":{c} - [0:0]" for c in FILTER_CHAINS), *(" ".join(r) for r in filter_rules), "COMMIT",
             "*nat", *(f":{c} - [0:0]" for c in nat_chains + stale), *(" ".join(r) for r in nat),
             *(f"-X {c}" for c in stale), "COMMIT", ""]
    return "\n".join(lines)


def _spread(sp: ServicePort, chain: str, endpoints: list[Endpoint]) -> list[list[str]]:
    """Endpoint i of n taken with probability 1/(n-i): an even spread; sticky first."""
    rules = []
    if sp.affinity_seconds:
        for endpoint in endpoints:
            sep = sp.endpoint_chain(endpoint)
            rules.append(["-A", chain, "-m", "recent", "--name", sep, "--rcheck", "--seconds",
                          str(sp.affinity_seconds), "--reap", "-j", sep])
    for index, endpoint in enumerate(endpoints):
        remaining = len(endpoints) - index
        chance = [] if remaining == 1 else ["-m", "statistic", "--mode", "random", "--probability",
                                            f"{1 / remaining:.11f}"]
        rules.append(["-A", chain, *chance, "-j", sp.endpoint_chain(endpoint)])
    return rules


def chains_in(save_output: str) -> set[str]:
    """Chain names declared in `iptables-save` output (`:NAME POLICY [counters]`)."""
    return {line[1:].split()[0] for line in save_output.splitlines() if line.startswith(":")}
