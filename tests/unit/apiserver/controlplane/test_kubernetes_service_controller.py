"""The `kubernetes` Service and the lease endpoint reconciler, over MemoryStorage.

Two APIServer objects share one storage, as two API server processes share etcd; a
movable clock stands for time, so a Lease expires without any waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

from apiserver import errors
from apiserver.allocator import first_service_ip, reserved_service_ips
from apiserver.controlplane.kubernetes_service import KubernetesServiceConfig, default_advertise_address
from apiserver.registry import RequestContext
from apiserver.server import APIServer, ServerConfig
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import ENDPOINT_SLICES, ENDPOINTS, LEASES, SERVICES

TTL_SECONDS = 15


class MovableClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def make_server(storage: MemoryStorage, clock: MovableClock, address: str,
                reconciler_type: str = "lease") -> APIServer:
    config = KubernetesServiceConfig(service_ip="10.96.0.1", secure_port=6443, advertise_address=address,
                                     reconciler_type=reconciler_type, lease_ttl_seconds=TTL_SECONDS,
                                     reconcile_interval_seconds=3600)  # rounds are driven by the test
    return APIServer(storage, ServerConfig(kubernetes_service=config), clock=clock)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def pair(clock: MovableClock) -> AsyncIterator[tuple[APIServer, APIServer]]:
    storage = MemoryStorage()
    first, second = make_server(storage, clock, "192.0.2.1"), make_server(storage, clock, "192.0.2.2")
    await first.start()
    await second.start()
    yield first, second
    await second.stop()
    await first.stop()


async def endpoint_addresses(server: APIServer) -> tuple[list[str], list[str]]:
    endpoints = await server.registries[ENDPOINTS].get("default", "kubernetes")
    slice_ = await server.registries[ENDPOINT_SLICES].get("default", "kubernetes")
    return ([a["ip"] for s in endpoints["subsets"] for a in s["addresses"]],
            [a for e in slice_["endpoints"] for a in e["addresses"]])


async def reconcile(server: APIServer) -> None:
    assert server.kubernetes_service is not None and server.kubernetes_service.reconciler is not None
    config = server.kubernetes_service.config
    await server.kubernetes_service.reconciler.reconcile_endpoints(config.advertise_address,
                                                                   config.secure_port)


async def test_the_service_has_the_first_ip_and_https_to_the_secure_port(pair) -> None:
    service = await pair[0].registries[SERVICES].get("default", "kubernetes")
    assert service["spec"]["clusterIP"] == "10.96.0.1"
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                         "targetPort": 6443}]
    assert "selector" not in service["spec"]
    assert service["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}


async def test_both_servers_are_endpoints_with_the_upstream_labels(pair) -> None:
    first, _ = pair
    await reconcile(first)  # the second started later: the first sees it on its next round
    assert await endpoint_addresses(first) == (["192.0.2.1", "192.0.2.2"], ["192.0.2.1", "192.0.2.2"])
    endpoints = await first.registries[ENDPOINTS].get("default", "kubernetes")
    assert endpoints["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert endpoints["subsets"][0]["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]
    slice_ = await first.registries[ENDPOINT_SLICES].get("default", "kubernetes")
    assert slice_["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert slice_["addressType"] == "IPv4"
    assert all(e["conditions"]["ready"] for e in slice_["endpoints"])


async def test_a_server_that_stops_renewing_is_removed_after_the_ttl(pair, clock) -> None:
    first, _ = pair  # the second "dies": it is never asked to reconcile again
    clock.advance(TTL_SECONDS - 1)
    await reconcile(first)
    assert (await endpoint_addresses(first))[1] == ["192.0.2.1", "192.0.2.2"]
    clock.advance(2)
    await reconcile(first)
    assert await endpoint_addresses(first) == (["192.0.2.1"], ["192.0.2.1"])
    leases, _ = await first.storage.list("/registry/leases/kube-system/")
    assert [lease["spec"]["holderIdentity"] for lease in leases] == ["192.0.2.1"]


async def test_a_renewing_server_stays(pair, clock) -> None:
    first, second = pair
    for _ in range(3):
        clock.advance(TTL_SECONDS - 1)
        await reconcile(second)
        await reconcile(first)
    assert (await endpoint_addresses(first))[1] == ["192.0.2.1", "192.0.2.2"]


async def test_a_graceful_stop_removes_the_server_at_once(clock) -> None:
    storage = MemoryStorage()
    first, second = make_server(storage, clock, "192.0.2.1"), make_server(storage, clock, "192.0.2.2")
    await first.start()
    await second.start()
    await second.stop()
    assert await endpoint_addresses(first) == (["192.0.2.1"], ["192.0.2.1"])
    await first.stop()


async def test_an_edited_service_and_endpoints_are_put_back(pair) -> None:
    first, _ = pair
    services = first.registries[SERVICES]
    ctx = RequestContext()
    await services.guaranteed_update("default", "kubernetes", lambda s: {
        **s, "spec": {**s["spec"], "ports": [{"name": "web", "port": 80, "protocol": "TCP",
                                               "targetPort": 80}]}}, ctx)
    await first.registries[ENDPOINTS].guaranteed_update(
        "default", "kubernetes", lambda e: {**e, "subsets": [{"addresses": [{"ip": "198.51.100.9"}]}]}, ctx)
    assert first.kubernetes_service is not None
    await first.kubernetes_service.update_service()
    await reconcile(first)
    service = await services.get("default", "kubernetes")
    assert service["spec"]["ports"][0]["targetPort"] == 6443
    assert (await endpoint_addresses(first))[0] == ["192.0.2.1", "192.0.2.2"]


async def test_reconciler_none_keeps_the_service_but_writes_no_endpoints(clock) -> None:
    server = make_server(MemoryStorage(), clock, "192.0.2.1", reconciler_type="none")
    await server.start()
    try:
        assert (await server.registries[SERVICES].get("default", "kubernetes"))["spec"]["clusterIP"] \
            == "10.96.0.1"
        with pytest.raises(errors.APIError) as missing:
            await server.registries[ENDPOINTS].get("default", "kubernetes")
        assert missing.value.code == 404
        leases, _ = await server.storage.list(server.registries[LEASES].prefix)
        assert leases == []
    finally:
        await server.stop()


async def test_the_first_ip_is_never_handed_out_but_can_be_asked_for() -> None:
    server = APIServer(MemoryStorage(), ServerConfig(service_cluster_ip_range="10.0.0.0/29"))
    await server.start()
    try:
        services = server.registries[SERVICES]
        ips = set()
        for n in range(5):  # 10.0.0.2 .. 10.0.0.6: the range without 10.0.0.1
            created = await services.create("default", {"metadata": {"name": f"s{n}"}, "spec": {
                "ports": [{"port": 80}]}}, RequestContext())
            ips.add(created["spec"]["clusterIP"])
        assert "10.0.0.1" not in ips and len(ips) == 5
        with pytest.raises(errors.APIError):  # the range is full for everyone else
            await services.create("default", {"metadata": {"name": "s5"}, "spec": {"ports": [{"port": 80}]}},
                                  RequestContext())
        asked = await services.create("default", {"metadata": {"name": "api"}, "spec": {
            "clusterIP": "10.0.0.1", "ports": [{"port": 443}]}}, RequestContext())
        assert asked["spec"]["clusterIP"] == "10.0.0.1"
    finally:
        await server.stop()


def test_first_service_ip() -> None:
    assert first_service_ip("10.96.0.0/16") == "10.96.0.1"
    assert reserved_service_ips("10.0.0.0/24") == frozenset({"10.0.0.1"})


@pytest.mark.parametrize("bind", ["192.0.2.7", "10.1.2.3"])
def test_a_specific_bind_address_is_advertised(bind: str) -> None:
    assert default_advertise_address(bind) == bind


@pytest.mark.parametrize("bind", ["0.0.0.0", "127.0.0.1"])
def test_an_unspecified_or_loopback_bind_advertises_a_host_address(bind: str) -> None:
    assert default_advertise_address(bind) != "0.0.0.0"
