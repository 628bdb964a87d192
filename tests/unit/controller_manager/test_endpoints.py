"""Endpoints controller: caches preloaded, one `sync_service`, assert the written Endpoints."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, parsed, typed_factory

from controller_manager.endpoints import EndpointsController, find_port, repack_subsets
from tinykube.api.core import EndpointAddress, EndpointPort, Pod, ServicePort
from tinykube.client import FakeClock

Obj = dict[str, Any]


def actions(client: FakeClient) -> list[tuple[Any, ...]]:
    """(verb, resource, namespace, body) per write; a delete has the name instead of a body."""
    return [(a.verb, a.resource, a.namespace, a.name if a.body is None else a.body) for a in client.actions]


def service(ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"tier": "front"}},
            "spec": {"selector": {"app": "web"},
                     "ports": ports or [{"name": "http", "port": 80, "targetPort": "http"}], **spec}}


def pod(name: str, ip: str | None, ready: bool, *, labels: dict[str, str] | None = None,
        container_port: int = 8080, deleting: bool = False, phase: str = "Running") -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": "1",
                 "labels": labels if labels is not None else {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status: Obj = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": container_port}]}]},
            "status": status}


def controller(client: FakeClient, services: list[Obj], pods: list[Obj],
               endpoints: list[Obj] | None = None) -> EndpointsController:
    ctrl = EndpointsController(client, typed_factory(client), None, clock=FakeClock())  # type: ignore[arg-type]
    for svc in services:
        cache_add(ctrl.service_informer, svc)
        ctrl.on_service(parsed(ctrl.service_informer, svc))
    cache_add(ctrl.pod_informer, *pods)
    cache_add(ctrl.endpoints_informer, *(endpoints or []))
    return ctrl


def address(name: str, ip: str) -> Obj:
    return {"ip": ip, "nodeName": "node-1",
            "targetRef": {"kind": "Pod", "namespace": "ns", "name": name, "uid": f"uid-{name}"}}


async def test_ready_and_not_ready_pods_are_split_and_named_ports_resolved() -> None:
    client = FakeClient()
    pods = [pod("b", "10.0.0.2", ready=False), pod("a", "10.0.0.1", ready=True),
            pod("no-ip", None, ready=True), pod("gone", "10.0.0.9", ready=True, deleting=True),
            pod("done", "10.0.0.8", ready=False, phase="Succeeded"),
            pod("stranger", "10.0.0.7", ready=True, labels={"app": "other"})]
    await controller(client, [service()], pods).sync_service("ns/web")

    [(verb, plural, namespace, body)] = actions(client)
    assert (verb, plural, namespace) == ("create", "endpoints", "ns")
    assert {k: body["metadata"][k] for k in ("name", "namespace", "labels")} == {
        "name": "web", "namespace": "ns", "labels": {"tier": "front"}}
    assert body["subsets"] == [{"addresses": [address("a", "10.0.0.1")],
                                "notReadyAddresses": [address("b", "10.0.0.2")],
                                "ports": [{"port": 8080, "protocol": "TCP", "name": "http"}]}]


async def test_publish_not_ready_addresses_puts_every_pod_in_addresses() -> None:
    client = FakeClient()
    await controller(client, [service(publishNotReadyAddresses=True)],
                     [pod("b", "10.0.0.2", ready=False)]).sync_service("ns/web")
    [(_, _, _, body)] = actions(client)
    assert body["subsets"][0]["addresses"] == [address("b", "10.0.0.2")]
    assert "notReadyAddresses" not in body["subsets"][0]


async def test_pods_serving_a_named_port_on_different_numbers_get_separate_subsets() -> None:
    client = FakeClient()
    pods = [pod("a", "10.0.0.1", ready=True), pod("b", "10.0.0.2", ready=True, container_port=9090)]
    await controller(client, [service()], pods).sync_service("ns/web")
    [(_, _, _, body)] = actions(client)
    assert [(s["addresses"][0]["ip"], s["ports"][0]["port"]) for s in body["subsets"]] == [
        ("10.0.0.1", 8080), ("10.0.0.2", 9090)]


async def test_unchanged_endpoints_are_not_written() -> None:
    first = FakeClient()
    pods = [pod("a", "10.0.0.1", ready=True)]
    await controller(first, [service()], pods).sync_service("ns/web")
    [(_, _, _, written)] = actions(first)
    existing = {**written, "metadata": {**written["metadata"], "resourceVersion": "9"}}

    again = FakeClient()
    await controller(again, [service()], pods, [existing]).sync_service("ns/web")
    assert actions(again) == []

    changed = FakeClient()
    await controller(changed, [service()], [pod("a", "10.0.0.1", ready=False)], [existing]).sync_service("ns/web")
    [(verb, _, _, body)] = actions(changed)
    # An update of the cached object: FakeClient answers with the version sent + 1000.
    assert verb == "update" and body["metadata"]["resourceVersion"] == "1009"
    assert body["subsets"][0]["notReadyAddresses"] == [address("a", "10.0.0.1")]


async def test_endpoints_of_a_deleted_service_are_deleted() -> None:
    client = FakeClient()
    leftover = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "ns"}}
    ctrl = controller(client, [], [], [leftover])
    ctrl.check_leftover_endpoints()
    assert len(ctrl.queue) == 1
    await ctrl.sync_service("ns/web")
    assert actions(client) == [("delete", "endpoints", "ns", "web")]


async def test_a_service_without_selector_is_left_to_its_user() -> None:
    client = FakeClient()
    selectorless = service()
    del selectorless["spec"]["selector"]
    await controller(client, [selectorless], [pod("a", "10.0.0.1", ready=True)]).sync_service("ns/web")
    assert actions(client) == []


async def drain(ctrl: EndpointsController) -> list[str]:
    keys = []
    while len(ctrl.queue):
        key = await ctrl.queue.get()
        assert key is not None
        ctrl.queue.done(key)
        keys.append(key)
    return keys


async def test_a_pod_readiness_change_enqueues_exactly_the_services_selecting_it() -> None:
    other = {**service(), "metadata": {"name": "other", "namespace": "ns"},
             "spec": {"selector": {"app": "other"}, "ports": [{"port": 80}]}}
    ctrl = controller(FakeClient(), [service(), other], [])
    assert sorted(await drain(ctrl)) == ["ns/other", "ns/web"]
    old = pod("a", "10.0.0.1", ready=False)
    new = copy.deepcopy(old)
    new["status"]["conditions"][0]["status"] = "True"
    new["metadata"]["resourceVersion"] = "2"
    old_pod, new_pod = Pod.from_dict(old), Pod.from_dict(new)
    ctrl.on_pod_update(old_pod, new_pod)
    assert await drain(ctrl) == ["ns/web"]
    ctrl.on_pod_update(new_pod, new_pod)  # a resync: same resourceVersion, nothing to do
    assert await drain(ctrl) == []


@pytest.mark.parametrize("service_port, expected", [
    ({"port": 80}, 80),
    ({"port": 80, "targetPort": 8080}, 8080),
    ({"port": 80, "targetPort": "http"}, 8080),
    ({"port": 80, "targetPort": "metrics"}, None),
    ({"port": 80, "targetPort": "http", "protocol": "UDP"}, None),
])
def test_find_port(service_port: Obj, expected: int | None) -> None:
    assert find_port(Pod.from_dict(pod("a", "10.0.0.1", ready=True)),
                     ServicePort.from_dict(service_port)) == expected


def test_repack_subsets_is_deterministic() -> None:
    port = EndpointPort(port=80, protocol="TCP")
    entries = [(EndpointAddress.from_dict(address("b", "10.0.0.2")), port, True),
               (EndpointAddress.from_dict(address("a", "10.0.0.1")), port, True)]
    assert repack_subsets(entries) == repack_subsets(list(reversed(entries)))
    assert [a.ip for a in repack_subsets(entries)[0].addresses or ()] == ["10.0.0.1", "10.0.0.2"]
