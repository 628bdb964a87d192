"""Cluster DNS answers, from Services and Endpoints (no sockets but the last test's)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from cluster_dns.server import DNSServer, answer, build_records
from tinykube.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Service,
    ServicePort,
    ServiceSpec,
)
from tinykube.api.meta import ObjectMeta


def service(name: str, cluster_ip: str, ports: list[ServicePort] | None = None) -> Service:
    return Service(metadata=ObjectMeta(name=name, namespace="shop"),
                   spec=ServiceSpec(cluster_ip=cluster_ip,
                                    ports=ports or [ServicePort(name="http", port=80, protocol="TCP")]))


def endpoints(name: str, addresses: list[EndpointAddress], not_ready: list[EndpointAddress] | None = None) -> Endpoints:
    return Endpoints(metadata=ObjectMeta(name=name, namespace="shop"),
                     subsets=[EndpointSubset(addresses=addresses, not_ready_addresses=not_ready or [],
                                             ports=[EndpointPort(name="http", port=8080, protocol="TCP")])])


RECORDS = build_records(
    [service("web", "10.96.0.50"), service("db", "None")],
    [endpoints("web", [EndpointAddress(ip="10.244.0.2")]),
     endpoints("db", [EndpointAddress(ip="10.244.0.7", hostname="db-0"),
                      EndpointAddress(ip="10.244.1.7", hostname="db-1")],
               not_ready=[EndpointAddress(ip="10.244.1.9", hostname="db-2")])])


def ask(name: str, qtype: str = "A") -> DNSRecord:
    reply = answer(DNSRecord.question(name, qtype), RECORDS)
    assert reply is not None
    return reply


def ips(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A)


def test_a_service_name_is_its_cluster_ip() -> None:
    assert ips(ask("web.shop.svc.cluster.local")) == ["10.96.0.50"]
    assert ips(ask("WEB.shop.svc.cluster.local.")) == ["10.96.0.50"]  # case and the root dot do not matter


def test_a_headless_service_is_its_ready_pods_and_each_pod_has_its_own_name() -> None:
    assert ips(ask("db.shop.svc.cluster.local")) == ["10.244.0.7", "10.244.1.7"]
    assert ips(ask("db-0.db.shop.svc.cluster.local")) == ["10.244.0.7"]
    assert ask("db-2.db.shop.svc.cluster.local").header.rcode == RCODE.NXDOMAIN  # not ready


def test_named_ports_have_srv_records() -> None:
    cluster_ip = ask("_http._tcp.web.shop.svc.cluster.local", "SRV")
    assert [(rr.rdata.port, str(rr.rdata.target)) for rr in cluster_ip.rr] == [(80, "web.shop.svc.cluster.local.")]
    headless = ask("_http._tcp.db.shop.svc.cluster.local", "SRV")
    assert sorted((rr.rdata.port, str(rr.rdata.target)) for rr in headless.rr) == [
        (8080, "db-0.db.shop.svc.cluster.local."), (8080, "db-1.db.shop.svc.cluster.local.")]
    assert sorted(str(rr.rdata) for rr in headless.ar) == ["10.244.0.7", "10.244.1.7"]


def test_unknown_cluster_names_are_nxdomain_and_known_names_without_the_type_are_empty() -> None:
    assert ask("nope.shop.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert ask("web.other.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    aaaa = ask("web.shop.svc.cluster.local", "AAAA")
    assert (aaaa.header.rcode, aaaa.rr) == (RCODE.NOERROR, [])
    assert ask("shop.svc.cluster.local").header.rcode == RCODE.NOERROR  # a parent of real names


def test_names_outside_the_cluster_domain_are_not_answered_here() -> None:
    assert answer(DNSRecord.question("example.com", "A"), RECORDS) is None


async def test_other_names_are_forwarded_upstream_and_answered_over_udp_and_tcp() -> None:
    """A real server on loopback, forwarding to a fake upstream also on loopback."""
    loop = asyncio.get_running_loop()

    class Upstream(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            query = DNSRecord.parse(data)
            reply = query.reply()
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A("127.0.0.99"), ttl=60))
            self.transport.sendto(reply.pack(), addr)

    upstream_transport, _ = await loop.create_datagram_endpoint(Upstream, local_addr=("127.0.0.1", 0))
    server = DNSServer(RECORDS, ["127.0.0.1"], upstream_port=upstream_transport.get_extra_info("sockname")[1])
    listeners = await server.serve("127.0.0.1", 0)
    udp_port = listeners[0].get_extra_info("sockname")[1]
    tcp_port = listeners[1].sockets[0].getsockname()[1]
    try:
        def udp(name: str) -> DNSRecord:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(3)
                sock.sendto(DNSRecord.question(name).pack(), ("127.0.0.1", udp_port))
                return DNSRecord.parse(sock.recv(4096))

        def tcp(name: str) -> DNSRecord:
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=3) as sock:
                data = DNSRecord.question(name).pack()
                sock.sendall(len(data).to_bytes(2, "big") + data)
                size = int.from_bytes(sock.recv(2), "big")
                return DNSRecord.parse(sock.recv(size))

        assert ips(await asyncio.to_thread(udp, "web.shop.svc.cluster.local")) == ["10.96.0.50"]
        assert ips(await asyncio.to_thread(udp, "example.com")) == ["127.0.0.99"]
        assert ips(await asyncio.to_thread(tcp, "db.shop.svc.cluster.local")) == ["10.244.0.7", "10.244.1.7"]
        assert (await asyncio.to_thread(tcp, "gone.shop.svc.cluster.local")).header.rcode == RCODE.NXDOMAIN
    finally:
        for listener in listeners:
            listener.close()
        upstream_transport.close()
