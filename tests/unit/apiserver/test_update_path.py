"""The registry's one update path over MemoryStorage: PUT, delete, namespace
finalize and pods/binding all end in `Storage.guaranteed_update`, with the
kind-specific parts in strategy hooks.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store_test.go,
pkg/registry/core/pod/storage/storage_test.go, pkg/registry/core/namespace/storage/storage_test.go
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver import deletion, errors
from apiserver.registry import Registry, RequestContext
from apiserver.server import APIServer
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import CONFIGMAPS, NAMESPACES, PODS

Obj = dict[str, Any]


@pytest.fixture
async def server() -> AsyncIterator[APIServer]:
    api = APIServer(MemoryStorage())
    await api.start()
    yield api
    await api.stop()


def ctx() -> RequestContext:
    return RequestContext(field_manager="test")


async def create_pod(server: APIServer, name: str) -> Obj:
    return await server.registries[PODS].create("default", {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}]}}, ctx())


async def refused(call: Any) -> errors.APIError:
    with pytest.raises(errors.APIError) as raised:
        await call
    return raised.value


async def test_a_stale_resource_version_is_a_conflict_and_writes_nothing(server: APIServer) -> None:
    configmaps = server.registries[CONFIGMAPS]
    created = await configmaps.create("default", {"metadata": {"name": "cm"}, "data": {"a": "1"}},
                                      ctx())
    fresh = {**created, "data": {"a": "2"}}
    updated = await configmaps.update("default", "cm", fresh, ctx())
    stale = {**created, "data": {"a": "3"}}
    err = await refused(configmaps.update("default", "cm", stale, ctx()))
    assert (err.code, err.message) == (409, 'Operation cannot be fulfilled on configmaps "cm": '
                                       f"{errors.OPTIMISTIC_LOCK_MESSAGE}")
    assert await configmaps.get("default", "cm") == updated


async def test_an_unchanged_update_keeps_the_resource_version(server: APIServer) -> None:
    configmaps = server.registries[CONFIGMAPS]
    created = await configmaps.create("default", {"metadata": {"name": "cm"}}, ctx())
    again = await configmaps.update("default", "cm", created, ctx())
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_delete_with_a_wrong_uid_is_a_conflict(server: APIServer) -> None:
    configmaps = server.registries[CONFIGMAPS]
    created = await configmaps.create("default", {"metadata": {"name": "cm"}}, ctx())
    uid = created["metadata"]["uid"]
    err = await refused(deletion.delete(configmaps, "default", "cm",
                                        {"preconditions": {"uid": "other"}}, ctx()))
    assert err.code == 409
    assert err.message.endswith(f"Precondition failed: UID in precondition: other, UID in "
                                f"object meta: {uid}")
    assert await configmaps.get("default", "cm") == created
    removed = await deletion.delete(configmaps, "default", "cm", {"preconditions": {"uid": uid}},
                                    ctx())
    assert removed["metadata"]["uid"] == uid
    assert (await refused(configmaps.get("default", "cm"))).code == 404


async def test_a_namespace_stays_until_finalize_empties_its_spec_finalizers(
        server: APIServer) -> None:
    namespaces: Registry = server.registries[NAMESPACES]
    await namespaces.create(None, {"metadata": {"name": "shop"}}, ctx())
    marked = await deletion.delete(namespaces, None, "shop", {}, ctx())
    assert marked["status"]["phase"] == "Terminating" and marked["metadata"]["deletionTimestamp"]
    assert marked["spec"]["finalizers"] == ["kubernetes"]

    # finalize changes spec.finalizers only: the label the body adds is not taken.
    body = {**marked, "spec": {"finalizers": ["kubernetes", "example.com/mine"]},
            "metadata": {**marked["metadata"], "labels": {"sneaky": "yes"}}}
    held = await namespaces.update(None, "shop", body, ctx(), "finalize")
    assert held["spec"]["finalizers"] == ["kubernetes", "example.com/mine"]
    assert "sneaky" not in held["metadata"]["labels"]

    # The update that empties them removes the namespace in the same write.
    await namespaces.update(None, "shop", {**held, "spec": {"finalizers": []}}, ctx(), "finalize")
    assert (await refused(namespaces.get(None, "shop"))).code == 404


async def test_finalize_may_not_be_bypassed_by_a_plain_update(server: APIServer) -> None:
    namespaces = server.registries[NAMESPACES]
    created = await namespaces.create(None, {"metadata": {"name": "keep"}}, ctx())
    plain = await namespaces.update(None, "keep", {**created, "spec": {"finalizers": []}}, ctx())
    assert plain["spec"]["finalizers"] == ["kubernetes"]


async def test_binding_honours_the_uid_precondition(server: APIServer) -> None:
    pods = server.registries[PODS]
    created = await create_pod(server, "web")
    uid = created["metadata"]["uid"]
    wrong = {"metadata": {"name": "web", "uid": "other"}, "target": {"name": "node-1"}}
    err = await refused(pods.create_on_subresource("default", "web", "binding", wrong))
    assert err.code == 409 and "UID in precondition: other" in err.message
    assert "nodeName" not in (await pods.get("default", "web"))["spec"]

    right = {"metadata": {"name": "web", "uid": uid}, "target": {"name": "node-1"}}
    status = await pods.create_on_subresource("default", "web", "binding", right)
    assert status["status"] == "Success"
    bound = await pods.get("default", "web")
    assert bound["spec"]["nodeName"] == "node-1"

    err = await refused(pods.create_on_subresource("default", "web", "binding", right))
    assert (err.code, err.message) == (409, 'Operation cannot be fulfilled on pods/binding "web": '
                                       'pod web is already assigned to node "node-1"')


async def test_binding_a_pod_being_deleted_is_a_conflict(server: APIServer) -> None:
    pods = server.registries[PODS]
    await create_pod(server, "gone")
    await pods.update("default", "gone", {**await pods.get("default", "gone"), "metadata": {
        **(await pods.get("default", "gone"))["metadata"], "finalizers": ["example.com/hold"]}},
        ctx())
    await deletion.delete(pods, "default", "gone", {}, ctx())
    err = await refused(pods.create_on_subresource(
        "default", "gone", "binding", {"metadata": {"name": "gone"}, "target": {"name": "n"}}))
    assert err.message.endswith("pod gone is being deleted, cannot be assigned to a host")


@pytest.mark.parametrize(("binding", "code"), [
    ({"metadata": {"name": "web"}}, 400),
    ({"metadata": {"name": "web"}, "target": {"kind": "Node"}}, 422),
    ("not an object", 400),
])
async def test_a_binding_without_a_target_node_is_refused(server: APIServer, binding: Any,
                                                          code: int) -> None:
    await create_pod(server, "web")
    pods = server.registries[PODS]
    assert (await refused(pods.create_on_subresource("default", "web", "binding", binding))).code \
        == code


async def test_only_pods_take_a_posted_subresource(server: APIServer) -> None:
    configmaps = server.registries[CONFIGMAPS]
    await configmaps.create("default", {"metadata": {"name": "cm"}}, ctx())
    err = await refused(configmaps.create_on_subresource("default", "cm", "binding", {}))
    assert err.code == 405
