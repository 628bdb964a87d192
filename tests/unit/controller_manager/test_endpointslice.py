"""EndpointSlice controller and mirroring: caches preloaded, one sync, assert the writes."""

from __future__ import annotations

from typing import Any

from controller_fakes import FakeClient, cache_add, parsed, typed_factory
from test_endpoints import pod
from test_endpoints import service as endpoints_service

from controller_manager.endpointslice import EndpointSliceController, EndpointSliceMirroringController
from controller_manager.endpointslice.reconciler import WantedGroup, reconcile
from tinykube.api.discovery import Endpoint, EndpointConditions, EndpointPort, EndpointSlice
from tinykube.api.meta import ObjectMeta
from tinykube.client import FakeClock

Obj = dict[str, Any]
MANAGED = {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by":
           "endpointslice-controller.k8s.io"}


def service(**spec: Any) -> Obj:
    """The Endpoints tests' Service, with the uid a stored object has."""
    svc = endpoints_service(**spec)
    svc["metadata"]["uid"] = "uid-svc"
    return svc


def slice_controller(client: FakeClient, services: list[Obj], pods: list[Obj], slices: list[Obj] = (),
                     **options: Any) -> EndpointSliceController:
    ctrl = EndpointSliceController(client, typed_factory(client), None, clock=FakeClock(),  # type: ignore[arg-type]
                                   **options)
    for svc in services:
        cache_add(ctrl.service_informer, svc)
        ctrl.on_service(parsed(ctrl.service_informer, svc))
    cache_add(ctrl.pod_informer, *pods)
    cache_add(ctrl.slice_informer, *slices)
    return ctrl


def written(client: FakeClient, verb: str) -> list[Obj]:
    return [a.body for a in client.writes("endpointslices", verb)]


async def test_pods_become_endpoints_with_conditions_ports_and_the_service_as_owner() -> None:
    client = FakeClient()
    pods = [pod("a", "10.0.0.1", ready=True), pod("b", "10.0.0.2", ready=False),
            pod("c", "10.0.0.3", ready=True, deleting=True), pod("no-ip", None, ready=True),
            pod("stranger", "10.0.0.7", ready=True, labels={"app": "other"})]
    await slice_controller(client, [service()], pods).sync_service("ns/web")
    [body] = written(client, "create")
    assert body["metadata"]["generateName"] == "web-"
    assert body["metadata"]["labels"] == {"tier": "front", **MANAGED}
    assert body["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert body["addressType"] == "IPv4"
    assert body["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    conditions = {e["addresses"][0]: e["conditions"] for e in body["endpoints"]}
    assert conditions == {
        "10.0.0.1": {"ready": True, "serving": True, "terminating": False},
        "10.0.0.2": {"ready": False, "serving": False, "terminating": False},
        "10.0.0.3": {"ready": False, "serving": True, "terminating": True},
    }
    assert body["endpoints"][0]["targetRef"] == {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}
    assert body["endpoints"][0]["nodeName"] == "node-1"


async def test_a_second_sync_writes_nothing_and_a_lagging_cache_makes_no_second_slice() -> None:
    client = FakeClient()
    ctrl = slice_controller(client, [service()], [pod("a", "10.0.0.1", ready=True)])
    await ctrl.sync_service("ns/web")
    await ctrl.sync_service("ns/web")  # the informer has not shown the created slice yet
    assert len(written(client, "create")) == 1
    cache_add(ctrl.slice_informer, written(client, "create")[0])
    await ctrl.sync_service("ns/web")
    assert len(written(client, "create")) == 1 and written(client, "update") == []


async def test_slices_hold_at_most_the_maximum_and_keep_endpoints_where_they_are() -> None:
    client = FakeClient()
    pods = [pod(f"p{i}", f"10.0.0.{i + 1}", ready=True) for i in range(5)]
    ctrl = slice_controller(client, [service()], pods, max_endpoints_per_slice=2)
    await ctrl.sync_service("ns/web")
    created = written(client, "create")
    assert [len(s["endpoints"]) for s in created] == [2, 2, 1]
    cache_add(ctrl.slice_informer, *created)
    first = created[0]
    gone = first["endpoints"][0]["targetRef"]["name"]
    ctrl.pod_informer.indexer.delete(parsed(ctrl.pod_informer, next(p for p in pods if p["metadata"]["name"] == gone)))
    await ctrl.sync_service("ns/web")
    [update] = written(client, "update")
    assert update["metadata"]["name"] == first["metadata"]["name"]
    assert [e["addresses"] for e in update["endpoints"]] == [first["endpoints"][1]["addresses"]]
    assert written(client, "create") == created and written(client, "delete") == []


async def test_no_pods_leave_one_empty_placeholder_and_a_selectorless_service_none() -> None:
    client = FakeClient()
    ctrl = slice_controller(client, [service()], [])
    await ctrl.sync_service("ns/web")
    [placeholder] = written(client, "create")
    assert placeholder["endpoints"] == [] and "ports" not in placeholder
    cache_add(ctrl.slice_informer, placeholder)
    selectorless = service()
    del selectorless["spec"]["selector"]
    cache_add(ctrl.service_informer, selectorless)
    await ctrl.sync_service("ns/web")
    assert [a.name for a in client.writes("endpointslices", "delete")] == [placeholder["metadata"]["name"]]


def test_reconcile_moves_endpoints_of_a_changed_port_set_to_a_new_slice() -> None:
    old_ports = [EndpointPort(name="http", port=8080, protocol="TCP")]
    new_ports = [EndpointPort(name="http", port=9090, protocol="TCP")]
    endpoint = Endpoint(addresses=["10.0.0.1"], conditions=EndpointConditions(ready=True))
    existing = EndpointSlice(metadata=ObjectMeta(name="web-1", namespace="ns", labels={"a": "b"}),
                             ports=old_ports, endpoints=[endpoint])
    plan = reconcile([existing], [WantedGroup(new_ports, [endpoint])], max_per_slice=100,
                     new_slice=lambda ports: EndpointSlice(metadata=ObjectMeta(generate_name="web-"), ports=ports),
                     labels={"a": "b"})
    assert [s.metadata.name for s in plan.delete] == ["web-1"] and plan.update == []
    assert [s.ports for s in plan.create] == [new_ports] and existing.endpoints == [endpoint]


async def test_mirroring_copies_a_selectorless_services_endpoints_and_skips_others() -> None:
    client = FakeClient()
    ctrl = EndpointSliceMirroringController(client, typed_factory(client), None, clock=FakeClock())  # type: ignore[arg-type]
    selectorless = service()
    del selectorless["spec"]["selector"]
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": "web", "namespace": "ns", "uid": "uid-ep", "labels": {"team": "x"}},
                 "subsets": [{"ports": [{"name": "http", "port": 8080}],
                              "addresses": [{"ip": "192.0.2.10"}], "notReadyAddresses": [{"ip": "192.0.2.11"}]}]}
    cache_add(ctrl.service_informer, selectorless)
    cache_add(ctrl.endpoints_informer, endpoints)
    await ctrl.sync_endpoints("ns/web")
    [body] = written(client, "create")
    assert body["metadata"]["labels"] == {
        "team": "x", "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}
    assert body["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert [(e["addresses"], e["conditions"]) for e in body["endpoints"]] == [
        (["192.0.2.10"], {"ready": True}), (["192.0.2.11"], {"ready": False})]
    assert body["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    cache_add(ctrl.slice_informer, body)
    cache_add(ctrl.service_informer, service())  # the Service gained a selector: not ours any more
    await ctrl.sync_endpoints("ns/web")
    assert [a.name for a in client.writes("endpointslices", "delete")] == [body["metadata"]["name"]]
