"""Namespace controller: one sync of a Terminating namespace against a fake API."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controller_manager.namespace import ContentRemaining, NamespaceController
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import FakeClock, NotFound, SharedInformerFactory

Obj = dict[str, Any]
PODS, CMS = INDEX.by_name("pods"), INDEX.by_name("configmaps")


class FakeClient:
    """Namespaced objects by plural; deletes honour pods' grace periods like the server."""

    def __init__(self, namespace: Obj, content: dict[str, list[Obj]]) -> None:
        self.namespace = copy.deepcopy(namespace)
        self.content = {plural: [copy.deepcopy(o) for o in items] for plural, items in content.items()}
        self.actions: list[tuple[Any, ...]] = []

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        self.actions.append(("get", info.plural, name))
        if info.plural == "namespaces" and name == self.namespace["metadata"]["name"]:
            return copy.deepcopy(self.namespace)
        raise NotFound(404, "NotFound", "not found")

    async def list(self, info: ResourceInfo, namespace: str | None = None, **_: Any) -> tuple[list[Obj], str]:
        return [copy.deepcopy(o) for o in self.content.get(info.plural, [])], "7"

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, *,
                     preconditions: dict[str, str] | None = None, **_: Any) -> Obj:
        self.actions.append(("delete", info.plural, namespace, name))
        items = self.content.get(info.plural, [])
        [obj] = [o for o in items if o["metadata"]["name"] == name]
        if info.plural == "pods" and obj["spec"].get("nodeName"):
            obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:30Z"
            obj["metadata"]["deletionGracePeriodSeconds"] = 30
            return copy.deepcopy(obj)
        items.remove(obj)
        return obj

    async def put_subresource(self, info: ResourceInfo, name: str, subresource: str | None,
                              body: Obj, namespace: str | None = None) -> Obj:
        self.actions.append(("put", info.plural, name, subresource, body["spec"]["finalizers"]))
        return body


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
    factory = SharedInformerFactory(client)  # type: ignore[arg-type]
    ctrl = NamespaceController(client, factory, None, clock=FakeClock(wall_start=1_767_225_600.0),  # type: ignore[arg-type]
                               resources=[PODS, CMS])
    ctrl.namespace_informer.indexer.add(client.namespace)
    return ctrl


async def test_an_emptied_namespace_is_finalized() -> None:
    client = FakeClient(namespace(), {"pods": [item("Pod", "web")], "configmaps": [item("ConfigMap", "cfg")]})
    await controller(client).sync_namespace_from_key("shop")
    assert [a for a in client.actions if a[0] != "get"] == [
        ("delete", "pods", "shop", "web"),
        ("delete", "configmaps", "shop", "cfg"),
        ("put", "namespaces", "shop", "finalize", []),
    ]


async def test_pods_in_their_grace_period_delay_the_finalize() -> None:
    client = FakeClient(namespace(), {"pods": [item("Pod", "bound", node="node-1")]})
    with pytest.raises(ContentRemaining) as remaining:
        await controller(client).sync_namespace_from_key("shop")
    assert remaining.value.remaining == {"pods": 1}
    assert remaining.value.estimate_seconds == 16.0  # half the 30 s grace period, plus 1
    assert not [a for a in client.actions if a[0] == "put"]


async def test_objects_already_terminating_are_waited_for_not_deleted_again() -> None:
    pod = item("Pod", "going", node="node-1")
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:10Z"  # 10 s after the fake wall clock
    client = FakeClient(namespace(), {"pods": [pod]})
    with pytest.raises(ContentRemaining) as remaining:
        await controller(client).sync_namespace_from_key("shop")
    assert remaining.value.estimate_seconds == 6.0
    assert [a for a in client.actions if a[0] != "get"] == []


async def test_an_active_namespace_is_left_alone() -> None:
    client = FakeClient(namespace(deleting=False), {"configmaps": [item("ConfigMap", "cfg")]})
    await controller(client).sync_namespace_from_key("shop")
    assert [a for a in client.actions if a[0] != "get"] == []


def test_only_terminating_namespaces_are_enqueued() -> None:
    client = FakeClient(namespace(), {})
    ctrl = controller(client)
    ctrl.enqueue_namespace(namespace(deleting=False))
    assert len(ctrl.queue) == 0
    ctrl.enqueue_namespace(namespace())
    assert len(ctrl.queue) == 1
