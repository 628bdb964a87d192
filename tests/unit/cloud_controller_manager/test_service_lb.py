"""The service controller with a fake cloud, and the local load balancer on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from cloud_controller_manager.fake_provider import FakeProvider
from cloud_controller_manager.lbproxy import Balancer, parse_listen
from cloud_controller_manager.provider import Backend, config_hash, free_load_balancer_ip, proxy_args
from cloud_controller_manager.service_controller import FINALIZER, ServiceController, ready_node_ips
from tinykube.api.core import (
    LoadBalancerStatus,
    Node,
    NodeAddress,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    Service,
    ServicePort,
    ServiceSpec,
)
from tinykube.api.meta import ObjectMeta
from tinykube.api.registry import deep_copy
from tinykube.testing.fake_client import FakeClient


def node(name: str, ip: str, ready: bool = True, unschedulable: bool = False) -> Node:
    return Node(metadata=ObjectMeta(name=name, resource_version="1"), spec=NodeSpec(unschedulable=unschedulable),
                status=NodeStatus(addresses=[NodeAddress(type="InternalIP", address=ip)],
                                  conditions=[NodeCondition(type="Ready", status="True" if ready else "False")]))


def service(type_: str = "LoadBalancer") -> Service:
    return Service(metadata=ObjectMeta(name="web", namespace="shop", resource_version="1"),
                   spec=ServiceSpec(type=type_, ports=[ServicePort(port=80, protocol="TCP", node_port=31080)]))


def controller(nodes: list[Node], services: list[Service]) -> tuple[ServiceController, FakeProvider, FakeClient]:
    client, cloud = FakeClient(), FakeProvider()
    made = ServiceController(client, cloud)  # type: ignore[arg-type]
    for n in nodes:
        made.nodes.indexer.add(n)
    for s in services:
        client.seed("services", s)
        made.services.indexer.add(s)
    made._node_ips = ready_node_ips(nodes)
    return made, cloud, client


def observe(ctrl: ServiceController, client: FakeClient) -> Service:
    """What the informer would see next: the Service as the API server now has it."""
    live = Service.from_dict(client.objects[("services", "shop", "web")])
    ctrl.services.indexer.update(live)
    return live


def test_only_ready_schedulable_nodes_take_load_balancer_traffic() -> None:
    assert ready_node_ips([node("a", "172.18.0.3"), node("b", "172.18.0.2"), node("c", "172.18.0.4", ready=False),
                           node("d", "172.18.0.5", unschedulable=True)]) == ("172.18.0.2", "172.18.0.3")


async def test_a_load_balancer_service_gets_a_finalizer_a_balancer_and_its_ingress() -> None:
    ctrl, cloud, client = controller([node("a", "172.18.0.2"), node("b", "172.18.0.3")], [service()])
    await ctrl.sync("shop/web")
    assert cloud.balancers["shop/web"] == [Backend(80, "TCP", 31080, ("172.18.0.2", "172.18.0.3"))]
    live = observe(ctrl, client)
    assert FINALIZER in (live.metadata.finalizers or [])
    assert live.to_dict()["status"]["loadBalancer"]["ingress"] == [{"ip": "172.18.0.200"}]
    await ctrl.sync("shop/web")
    assert len(client.writes("services")) == 2  # nothing more to write


async def test_a_service_that_stops_being_a_load_balancer_loses_it_and_the_finalizer() -> None:
    ctrl, cloud, client = controller([node("a", "172.18.0.2")], [service()])
    await ctrl.sync("shop/web")
    changed = deep_copy(observe(ctrl, client))
    assert changed.spec is not None
    changed.spec.type = "ClusterIP"
    client.seed("services", changed)
    ctrl.services.indexer.update(changed)
    await ctrl.sync("shop/web")
    live = observe(ctrl, client)
    assert cloud.balancers == {}
    assert FINALIZER not in (live.metadata.finalizers or [])
    assert live.status is not None and live.status.load_balancer == LoadBalancerStatus()


def test_proxy_arguments_and_config_hash_follow_the_backends() -> None:
    one = [Backend(80, "TCP", 31080, ("172.18.0.2", "172.18.0.3")), Backend(53, "UDP", 31053, ("172.18.0.2",))]
    assert proxy_args(one) == ["--listen", "80=172.18.0.2:31080,172.18.0.3:31080"]
    two = [Backend(80, "TCP", 31080, ("172.18.0.2",))]
    assert config_hash(one) != config_hash(two) and config_hash(two) == config_hash(list(two))
    assert parse_listen("80=172.18.0.2:31080,172.18.0.3:31080") == (80, [("172.18.0.2", 31080), ("172.18.0.3", 31080)])


async def test_the_balancer_spreads_connections_and_skips_a_backend_that_refuses() -> None:
    async def named(label: bytes) -> asyncio.Server:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(label)
            await writer.drain()
            writer.close()
        return await asyncio.start_server(answer, "127.0.0.1", 0)

    first, second = await named(b"first"), await named(b"second")
    refusing = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = refusing.sockets[0].getsockname()[1]
    refusing.close()
    await refusing.wait_closed()
    backends = [("127.0.0.1", first.sockets[0].getsockname()[1]), ("127.0.0.1", dead_port),
                ("127.0.0.1", second.sockets[0].getsockname()[1])]
    front = await asyncio.start_server(Balancer(backends).handle, "127.0.0.1", 0)
    port = front.sockets[0].getsockname()[1]
    answers = []
    for _ in range(6):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hi")
        writer.write_eof()
        answers.append(await reader.read())
        writer.close()
    assert set(answers) == {b"first", b"second"} and b"" not in answers
    for server in (front, first, second):
        server.close()


def network(containers: list[str], subnet: str = "172.30.7.0/24",
            ip_range: str | None = "172.30.7.0/25") -> dict[str, Any]:
    config = {"Subnet": subnet, "Gateway": "172.30.7.1"}
    if ip_range:
        config["IPRange"] = ip_range
    return {"IPAM": {"Config": [config]},
            "Containers": {f"id{i}": {"IPv4Address": f"{ip}/24"} for i, ip in enumerate(containers)}}


def test_load_balancers_get_addresses_outside_the_range_docker_hands_out() -> None:
    nodes = ["172.30.7.2", "172.30.7.3"]
    assert free_load_balancer_ip(network(nodes), None) == "172.30.7.128"
    assert free_load_balancer_ip(network([*nodes, "172.30.7.128"]), None) == "172.30.7.129"


def test_a_service_keeps_its_address_while_it_is_free() -> None:
    assert free_load_balancer_ip(network(["172.30.7.2"]), "172.30.7.140") == "172.30.7.140"
    # taken by another load balancer meanwhile, or in the nodes' range: the next free one
    assert free_load_balancer_ip(network(["172.30.7.140"]), "172.30.7.140") == "172.30.7.128"
    assert free_load_balancer_ip(network([]), "172.30.7.5") == "172.30.7.128"


def test_without_a_configured_subnet_and_range_the_engine_chooses() -> None:
    assert free_load_balancer_ip({"IPAM": {"Config": []}, "Containers": {}}, "172.30.7.140") is None
    assert free_load_balancer_ip(network([], ip_range=None), None) is None
