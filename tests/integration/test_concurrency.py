"""Concurrent writers against one API server over real etcd.

- 20 writers each incrementing a counter in one ConfigMap with read-modify-write
  (PUT carrying the resourceVersion they read, retried on 409) lose no increment:
  updates are compare-and-swap on etcd's mod_revision.
- 50 Services created at once never share a clusterIP; NodePort Services created at
  once never share a nodePort; of several creates asking for one clusterIP (or one
  nodePort) exactly one wins; two API servers on one etcd never hand out the same
  clusterIP: each allocated value is a create-if-absent key in storage.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Callable
from typing import Any

import httpx

from tinykube.testing.processes import APIServerProcess

WRITERS = 20
INCREMENTS_PER_WRITER = 10


async def increment(client: httpx.AsyncClient, path: str, times: int) -> int:
    """Add one to data.counter `times` times; returns how many 409s were retried."""
    conflicts = 0
    for _ in range(times):
        while True:
            current = (await client.get(path)).json()
            current["data"]["counter"] = str(int(current["data"]["counter"]) + 1)
            response = await client.put(path, json=current)
            if response.status_code == 409:
                assert response.json()["reason"] == "Conflict"
                conflicts += 1
                continue
            assert response.status_code == 200, response.text
            break
    return conflicts


async def test_concurrent_increments_with_conflict_retry_lose_nothing(
        apiserver: APIServerProcess, namespace: str) -> None:
    collection = f"/api/v1/namespaces/{namespace}/configmaps"
    path = f"{collection}/counter"
    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=apiserver.http_url, timeout=60, limits=limits) as client:
        response = await client.post(collection, json={"metadata": {"name": "counter"},
                                                       "data": {"counter": "0"}})
        assert response.status_code == 201, response.text
        conflicts = await asyncio.gather(
            *(increment(client, path, INCREMENTS_PER_WRITER) for _ in range(WRITERS)))
        final = (await client.get(path)).json()
    assert final["data"]["counter"] == str(WRITERS * INCREMENTS_PER_WRITER)
    # The writers really raced: without conflicts this test would prove nothing.
    assert sum(conflicts) > 0


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


async def create_all(apiserver: APIServerProcess, collection: str,
                     bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=apiserver.http_url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(*(client.post(collection, json=body) for body in bodies))
        for response in responses:
            assert response.status_code == 201, response.text
        listed = (await client.get(collection)).json()["items"]
    return list(listed)


async def test_concurrent_service_creates_never_share_a_cluster_ip(
        apiserver: APIServerProcess, namespace: str) -> None:
    count = 50
    items = await create_all(apiserver, f"/api/v1/namespaces/{namespace}/services",
                             [service(f"svc-{i}") for i in range(count)])
    ips = [item["spec"]["clusterIP"] for item in items]
    assert len(ips) == count
    assert len(set(ips)) == count
    service_range = ipaddress.ip_network("10.96.0.0/16")
    assert all(ipaddress.ip_address(ip) in service_range for ip in ips)


async def test_concurrent_node_port_services_never_share_a_node_port(
        apiserver: APIServerProcess, namespace: str) -> None:
    count = 30
    items = await create_all(apiserver, f"/api/v1/namespaces/{namespace}/services",
                             [service(f"np-{i}", type="NodePort") for i in range(count)])
    ports = [item["spec"]["ports"][0]["nodePort"] for item in items]
    assert len(ports) == count
    assert len(set(ports)) == count
    assert all(30000 <= port <= 32767 for port in ports)


async def free_value(apiserver: APIServerProcess, collection: str,
                     make: Callable[[], dict[str, Any]],
                     value_of: Callable[[dict[str, Any]], Any]) -> Any:
    """A value nobody holds: claimed by a probe Service, then released by deleting it."""
    async with httpx.AsyncClient(base_url=apiserver.http_url, timeout=60) as client:
        for _ in range(20):
            response = await client.post(collection, json=make())
            if response.status_code == 201:
                assert (await client.delete(f"{collection}/probe")).status_code == 200
                return value_of(response.json())
            assert response.status_code == 422, response.text
    raise AssertionError("no free value found")


async def test_concurrent_requests_for_one_cluster_ip_and_node_port_have_one_winner(
        apiserver: APIServerProcess, namespace: str) -> None:
    contenders = 10
    collection = f"/api/v1/namespaces/{namespace}/services"
    ip = await free_value(apiserver, collection, lambda: service(
        "probe", clusterIP=f"10.96.{random.randint(230, 254)}.{random.randint(1, 254)}"),
        lambda svc: svc["spec"]["clusterIP"])
    node_port = await free_value(apiserver, collection, lambda: service(
        "probe", type="NodePort", ports=[{"port": 80, "nodePort": random.randint(32600, 32767)}]),
        lambda svc: svc["spec"]["ports"][0]["nodePort"])
    bodies = [service(f"ip-{i}", clusterIP=ip) for i in range(contenders)] + [
        service(f"port-{i}", type="NodePort", ports=[{"port": 80, "nodePort": node_port}])
        for i in range(contenders)]
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=apiserver.http_url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(*(client.post(collection, json=body) for body in bodies))
        listed = (await client.get(collection)).json()["items"]
    codes = [response.status_code for response in responses]
    assert sorted(codes[:contenders]) == [201] + [422] * (contenders - 1)
    assert sorted(codes[contenders:]) == [201] + [422] * (contenders - 1)
    assert [item["spec"]["clusterIP"] for item in listed].count(ip) == 1
    assert [item["spec"]["ports"][0].get("nodePort") for item in listed].count(node_port) == 1


async def test_two_api_servers_never_hand_out_the_same_cluster_ip(
        apiserver: APIServerProcess, fresh_apiserver: APIServerProcess, namespace: str) -> None:
    per_server = 25
    collection = f"/api/v1/namespaces/{namespace}/services"
    limits = httpx.Limits(max_connections=per_server)
    async with httpx.AsyncClient(base_url=apiserver.http_url, timeout=60, limits=limits) as one, \
            httpx.AsyncClient(base_url=fresh_apiserver.http_url, timeout=60, limits=limits) as two:
        responses = await asyncio.gather(
            *(one.post(collection, json=service(f"one-{i}")) for i in range(per_server)),
            *(two.post(collection, json=service(f"two-{i}")) for i in range(per_server)))
        for response in responses:
            assert response.status_code == 201, response.text
        listed = (await two.get(collection)).json()["items"]
    ips = [item["spec"]["clusterIP"] for item in listed]
    assert len(ips) == 2 * per_server
    assert len(set(ips)) == len(ips)
