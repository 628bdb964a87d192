"""Cluster DNS: names for Services and pods, answered from the API server's objects.

Records, under the cluster domain (cluster.local), as the Kubernetes DNS spec has them:

- `<svc>.<ns>.svc.cluster.local` A: the Service's ClusterIP; for a headless Service
  (clusterIP None), the IPs of its ready endpoints.
- `<hostname>.<svc>.<ns>.svc.cluster.local` A: an endpoint with a hostname (a pod
  with `spec.hostname` and `spec.subdomain: <svc>`, as StatefulSet pods have).
- `_<port>._<proto>.<svc>.<ns>.svc.cluster.local` SRV: one per named port, pointing
  at the Service name (headless: at each endpoint's own name).
- Any other name in the cluster domain: NXDOMAIN. Names outside it are forwarded to
  the upstream resolvers (the node's /etc/resolv.conf).

Clients expand short names themselves: the kubelet writes each pod's resolv.conf
with `search <ns>.svc.cluster.local svc.cluster.local cluster.local` and `ndots:5`.

The `Records` table is rebuilt from the informers' caches on every Service or
Endpoints change (a dict lookup per query); `answer` is a pure function of a query
and that table, so it is tested without sockets.

Kubernetes counterpart: github.com/coredns/coredns plugin/kubernetes,
github.com/kubernetes/dns docs/specification.md
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dnslib import QTYPE, RCODE, RR, SRV, A, DNSRecord

from tinykube.api.core import Endpoints, Service, ServiceSpec

log = logging.getLogger(__name__)

TTL = 5  # seconds: short, so a changed Service is seen soon


@dataclass
class Records:
    domain: str = "cluster.local"
    a: dict[str, list[str]] = field(default_factory=dict)  # name (no trailing dot) -> IPv4s
    srv: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # name -> (port, target)

    def has_name(self, name: str) -> bool:
        """A name that exists with no record of the asked type gets NODATA, not NXDOMAIN."""
        return name in self.a or name in self.srv


def build_records(services: Iterable[Service], endpoints: Iterable[Endpoints],
                  domain: str = "cluster.local") -> Records:
    records = Records(domain)
    by_key = {(e.metadata.namespace, e.metadata.name): e for e in endpoints}
    for service in services:
        meta, spec = service.metadata, service.spec or ServiceSpec()
        base = f"{meta.name}.{meta.namespace}.svc.{domain}"
        found = by_key.get((meta.namespace, meta.name))
        ready = [(address, subset) for subset in (found.subsets if found else None) or []
                 for address in subset.addresses or []]
        headless = spec.cluster_ip == "None"
        if spec.type == "ExternalName":
            continue  # CNAMEs are not served
        if headless:
            records.a[base] = sorted({address.ip for address, _ in ready})
        elif spec.cluster_ip:
            records.a[base] = [spec.cluster_ip]
        for address, _ in ready:
            if address.hostname:
                records.a.setdefault(f"{address.hostname}.{base}", []).append(address.ip)
        for port in spec.ports or []:
            if not port.name:
                continue
            name = f"_{port.name}._{(port.protocol or 'TCP').lower()}.{base}"
            if headless:
                targets = []
                for address, subset in ready:
                    number = next((p.port for p in subset.ports or [] if p.name == port.name), None)
                    if number is not None:
                        host = address.hostname or address.ip.replace(".", "-")
                        targets.append((number, f"{host}.{base}"))
                        records.a.setdefault(f"{host}.{base}", [address.ip])
                records.srv[name] = sorted(targets)
            else:
                records.srv[name] = [(port.port, base)]
    return records


def in_domain(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def answer(query: DNSRecord, records: Records) -> DNSRecord | None:
    """The reply for a query in the cluster domain; None for a name to forward."""
    question = query.q
    name = str(question.qname).rstrip(".").lower()
    if not in_domain(name, records.domain):
        return None
    reply = query.reply()
    if question.qtype in (QTYPE.A, QTYPE.ANY) and name in records.a:
        for ip in records.a[name]:
            reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
    if question.qtype in (QTYPE.SRV, QTYPE.ANY) and name in records.srv:
        for port, target in records.srv[name]:
            reply.add_answer(RR(question.qname, QTYPE.SRV, rdata=SRV(0, 100, port, target + "."), ttl=TTL))
            for ip in records.a.get(target, []):
                reply.add_ar(RR(target + ".", QTYPE.A, rdata=A(ip), ttl=TTL))
    if not reply.rr and not records.has_name(name) and not _is_parent(name, records):
        reply.header.rcode = RCODE.NXDOMAIN
    return reply


def _is_parent(name: str, records: Records) -> bool:
    """`svc.cluster.local` or `ns.svc.cluster.local` exist as empty non-terminals."""
    return any(key.endswith("." + name) for key in records.a)


class DNSServer:
    """UDP and TCP on one address; cluster names from `records`, the rest upstream."""

    def __init__(self, records: Records, upstreams: list[str], timeout_seconds: float = 2.0,
                 upstream_port: int = 53) -> None:
        self.records = records
        self.upstreams = upstreams
        self.upstream_port = upstream_port
        self.timeout_seconds = timeout_seconds
        self.queries = 0

    async def resolve(self, data: bytes) -> bytes | None:
        try:
            query = DNSRecord.parse(data)
        except Exception:  # not DNS: drop it
            return None
        self.queries += 1
        reply = answer(query, self.records)
        if reply is not None:
            return reply.pack()
        return await self.forward(query)

    async def forward(self, query: DNSRecord) -> bytes:
        for upstream in self.upstreams:
            try:
                return await asyncio.wait_for(self._ask(upstream, query.pack()), self.timeout_seconds)
            except (TimeoutError, OSError) as err:
                log.debug("upstream failed upstream=%s err=%s", upstream, err)
        failed = query.reply()
        failed.header.rcode = RCODE.SERVFAIL
        return failed.pack()

    async def _ask(self, upstream: str, data: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bytes] = loop.create_future()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, addr: tuple[str, int]) -> None:
                if not done.done():
                    done.set_result(reply)

            def error_received(self, exc: Exception) -> None:
                if not done.done():
                    done.set_exception(exc)

        transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(upstream, self.upstream_port))
        try:
            transport.sendto(data)
            return await done
        finally:
            transport.close()

    async def serve(self, host: str, port: int) -> list[Any]:
        server = self
        loop = asyncio.get_running_loop()

        class UDP(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                async def reply() -> None:
                    packed = await server.resolve(data)
                    if packed is not None:
                        self.transport.sendto(packed, addr)  # type: ignore[attr-defined]
                loop.create_task(reply())

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    packed = await server.resolve(await reader.readexactly(size))
                    if packed is None:
                        break
                    writer.write(len(packed).to_bytes(2, "big") + packed)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        udp_transport, _ = await loop.create_datagram_endpoint(UDP, local_addr=(host, port))
        tcp_server = await asyncio.start_server(tcp, host, port)
        return [udp_transport, tcp_server]


def upstream_resolvers(resolv_conf: str = "/etc/resolv.conf") -> list[str]:
    try:
        lines = open(resolv_conf).read().splitlines()
    except OSError:
        return []
    return [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]

