"""The cloud controller's service controller and the Ingress controller on a real API
server: typed informers in, status writes out.

Each runs in this process against the session's etcd + API server, with what lies
outside the cluster faked (a cloud that hands out one address); the test writes the
objects and waits, with a deadline, for what the controller writes back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from cloud_controller_manager.fake_provider import FakeProvider
from cloud_controller_manager.service_controller import FINALIZER, ServiceController
from ingress_controller.__main__ import Controller
from tinykube.api.resources import INGRESSES, SERVICES
from tinykube.client import ClientConfig, RESTClient
from tinykube.testing.processes import APIServerProcess

Obj = dict[str, Any]
LB_IP = "172.18.0.200"


@pytest.fixture
async def api(apiserver: APIServerProcess) -> AsyncIterator[RESTClient]:
    async with RESTClient(ClientConfig(server=apiserver.http_url)) as client:
        yield client


@contextlib.asynccontextmanager
async def running(work: Awaitable[None]) -> AsyncIterator[None]:
    task = asyncio.ensure_future(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def lb_ingress(obj: Obj) -> list[Obj]:
    return ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []


async def test_a_load_balancer_gets_its_address_and_gives_it_back(api: RESTClient, namespace: str) -> None:
    cloud = FakeProvider(LB_IP)
    await api.create(SERVICES, {"metadata": {"name": "web"}, "spec": {
        "type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        namespace=namespace)

    async def live() -> Obj:
        return await api.get(SERVICES, "web", namespace)

    async with running(ServiceController(api, cloud).run(1)):
        async def balanced() -> bool:
            service = await live()
            return lb_ingress(service) == [{"ip": LB_IP}] and FINALIZER in service["metadata"].get("finalizers", [])
        await eventually(balanced, "the load balancer's address and finalizer")
        assert f"{namespace}/web" in cloud.balancers

        port = (await live())["spec"]["ports"][0]
        await api.patch(SERVICES, "web", {"spec": {"type": "ClusterIP", "ports": [
            {"port": port["port"], "targetPort": port["targetPort"], "protocol": port["protocol"]}]}},
            namespace=namespace)

        async def released() -> bool:
            service = await live()
            return not lb_ingress(service) and FINALIZER not in service["metadata"].get("finalizers", [])
        await eventually(released, "the address and the finalizer gone")
        assert f"{namespace}/web" not in cloud.balancers


async def test_ingresses_of_our_class_report_the_published_address(api: RESTClient, namespace: str) -> None:
    await api.create(SERVICES, {"metadata": {"name": "ingress"}, "spec": {
        "type": "ClusterIP", "ports": [{"port": 80}]}}, namespace=namespace)
    await api.patch(SERVICES, "ingress", {"status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}},
                    namespace=namespace, subresource="status")
    for name, class_name in (("mine", "tinykube"), ("theirs", "nginx")):
        await api.create(INGRESSES, {"metadata": {"name": name}, "spec": {
            "ingressClassName": class_name, "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}},
            namespace=namespace)
    args = argparse.Namespace(ingress_class="tinykube", watch_ingress_without_class=False,
                              publish_service=f"{namespace}/ingress")

    async def reported(name: str) -> list[Obj]:
        return lb_ingress(await api.get(INGRESSES, name, namespace))

    async with running(Controller(api, args).run()):
        async def published() -> bool:
            return await reported("mine") == [{"ip": LB_IP}]
        await eventually(published, "the Ingress status")
        assert await reported("theirs") == []
