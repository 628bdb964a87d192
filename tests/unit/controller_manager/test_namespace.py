"""Namespace controller: one sync of a Terminating namespace against a fake API."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, parsed, typed_factory

from controller_manager.namespace import ContentRemaining, NamespaceController
from tinykube.api.resources import CONFIGMAPS, PODS
from tinykube.client import FakeClock

Obj = dict[str, Any]


def fake_client(namespace: Obj, content: dict[str, list[Obj]]) -> FakeClient:
    """The namespace and its content; pods bound to a node have a 30 s grace period."""
    client = FakeClient(pod_grace_period_seconds=30)
    client.seed("namespaces", namespace)
    for plural, items in content.items():
        for obj in items:
            client.seed(plural, obj)
    return client


def writes(client: FakeClient) -> list[tuple[Any, ...]]:
    return [("put", a.resource, a.name, a.subresource, a.body["spec"]["finalizers"]) if a.subresource
            else (a.verb, a.resource, a.namespace, a.name) for a in client.actions]


def namespace(deleting: bool = True) -> Obj:
    meta: Obj = {"name": "shop", "uid": "ns-1", "resourceVersion": "5"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta,
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}}


def item(kind: str, name: str, node: str | None = None) -> Obj:
    obj: Obj = {"apiVersion": "v1", "kind": kind,
                "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"}}
    if kind == "Pod":
        obj["spec"] = {"containers": [{"name": "c", "image": "nginx"}], "nodeName": node}
    return obj


def controller(client: FakeClient) -> NamespaceController:
    ctrl = NamespaceController(client, typed_factory(client), None,  # type: ignore[arg-type]
                               clock=FakeClock(wall_start=1_767_225_600.0), resources=[PODS, CONFIGMAPS])
    cache_add(ctrl.namespace_informer, *(obj for (plural, _, _), obj in client.objects.items()
                                         if plural == "namespaces"))
    return ctrl


async def test_an_emptied_namespace_is_finalized() -> None:
    client = fake_client(namespace(), {"pods": [item("Pod", "web")], "configmaps": [item("ConfigMap", "cfg")]})
    await controller(client).sync_namespace_from_key("shop")
    assert writes(client) == [
        ("delete", "pods", "shop", "web"),
        ("delete", "configmaps", "shop", "cfg"),
        ("put", "namespaces", "shop", "finalize", []),
    ]


async def test_pods_in_their_grace_period_delay_the_finalize() -> None:
    client = fake_client(namespace(), {"pods": [item("Pod", "bound", node="node-1")]})
    with pytest.raises(ContentRemaining) as remaining:
        await controller(client).sync_namespace_from_key("shop")
    assert remaining.value.remaining == {"pods": 1}
    assert remaining.value.estimate_seconds == 16.0  # half the 30 s grace period, plus 1
    assert not [w for w in writes(client) if w[0] == "put"]


async def test_objects_already_terminating_are_waited_for_not_deleted_again() -> None:
    pod = item("Pod", "going", node="node-1")
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:10Z"  # 10 s after the fake wall clock
    client = fake_client(namespace(), {"pods": [pod]})
    with pytest.raises(ContentRemaining) as remaining:
        await controller(client).sync_namespace_from_key("shop")
    assert remaining.value.estimate_seconds == 6.0
    assert writes(client) == []


async def test_an_active_namespace_is_left_alone() -> None:
    client = fake_client(namespace(deleting=False), {"configmaps": [item("ConfigMap", "cfg")]})
    await controller(client).sync_namespace_from_key("shop")
    assert writes(client) == []


def test_only_terminating_namespaces_are_enqueued() -> None:
    client = fake_client(namespace(), {})
    ctrl = controller(client)
    ctrl.enqueue_namespace(parsed(ctrl.namespace_informer, namespace(deleting=False)))
    assert len(ctrl.queue) == 0
    ctrl.enqueue_namespace(parsed(ctrl.namespace_informer, namespace()))
    assert len(ctrl.queue) == 1
