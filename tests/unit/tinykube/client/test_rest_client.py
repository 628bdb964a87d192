"""RESTClient against a scripted transport: URLs, bodies, paging, errors and watch."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from tinykube.api import ConfigMap, ObjectMeta, Pod
from tinykube.api.resources import INDEX
from tinykube.client.config import ClientConfig
from tinykube.client.errors import AlreadyExists, Gone, NotFound
from tinykube.client.rest import PatchType, RESTClient

PODS = INDEX.by_name("pods")
NODES = INDEX.by_name("nodes")
DEPLOYMENTS = INDEX.by_name("deployments")
assert PODS and NODES and DEPLOYMENTS


class Recorder:
    """A transport that records each request and answers with a scripted function."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)


def client_for(answer: Callable[[httpx.Request], httpx.Response], token: str | None = None) -> tuple[RESTClient, Recorder]:
    recorder = Recorder(answer)
    config = ClientConfig(server="http://apiserver.test", token=token)
    return RESTClient(config, transport=httpx.MockTransport(recorder)), recorder


def echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content) if request.content else {}
    return httpx.Response(201 if request.method == "POST" else 200, json=body)


def status(code: int, reason: str) -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "code": code, "reason": reason, "message": f"{reason}!"})


async def test_get_builds_namespaced_and_cluster_paths_and_sends_the_token() -> None:
    client, rec = client_for(lambda r: httpx.Response(200, json={"kind": "Pod"}), token="tok")
    async with client:
        await client.get(PODS, "web", "team-a")
        await client.get(NODES, "node-1")
        await client.get_subresource(DEPLOYMENTS, "web", "scale", "team-a")
    assert [r.url.path for r in rec.requests] == [
        "/api/v1/namespaces/team-a/pods/web", "/api/v1/nodes/node-1",
        "/apis/apps/v1/namespaces/team-a/deployments/web/scale"]
    assert rec.requests[0].headers["authorization"] == "Bearer tok"


async def test_a_namespaced_name_without_namespace_is_refused() -> None:
    client, _ = client_for(echo)
    async with client:
        with pytest.raises(ValueError, match="namespaced"):
            await client.get(PODS, "web")


async def test_list_follows_continue_pages_and_keeps_the_first_resource_version() -> None:
    pages = {
        None: {"metadata": {"resourceVersion": "42", "continue": "p2"}, "items": [{"metadata": {"name": "a"}}]},
        "p2": {"metadata": {"resourceVersion": "42", "continue": "p3"}, "items": [{"metadata": {"name": "b"}}]},
        "p3": {"metadata": {"resourceVersion": "42"}, "items": [{"metadata": {"name": "c"}}]},
    }
    client, rec = client_for(lambda r: httpx.Response(200, json=pages[r.url.params.get("continue")]))
    async with client:
        items, rv = await client.list(PODS, "ns", label_selector="app=web", limit=1)
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"]
    assert rv == "42"
    assert items[0]["kind"] == "Pod" and items[0]["apiVersion"] == "v1"
    assert len(rec.requests) == 3
    assert all(r.url.params["labelSelector"] == "app=web" and r.url.params["limit"] == "1"
               for r in rec.requests)
    assert "fieldSelector" not in rec.requests[0].url.params


async def test_create_update_and_status_use_post_put_and_the_status_path() -> None:
    client, rec = client_for(echo)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"}}
    async with client:
        created = await client.create(PODS, pod, field_manager="me")
        await client.update(PODS, pod)
        await client.update_status(PODS, pod)
    assert created == pod
    assert [(r.method, r.url.path) for r in rec.requests] == [
        ("POST", "/api/v1/namespaces/ns/pods"), ("PUT", "/api/v1/namespaces/ns/pods/web"),
        ("PUT", "/api/v1/namespaces/ns/pods/web/status")]
    assert rec.requests[0].url.params["fieldManager"] == "me"
    assert json.loads(rec.requests[1].content)["metadata"]["resourceVersion"] == "7"


@pytest.mark.parametrize(
    ("patch_type", "content_type"),
    [
        (PatchType.MERGE, "application/merge-patch+json"),
        (PatchType.STRATEGIC, "application/strategic-merge-patch+json"),
        (PatchType.JSON, "application/json-patch+json"),
        ("apply", "application/apply-patch+yaml"),
    ],
)
async def test_patch_sends_the_content_type_of_its_flavour(patch_type: PatchType | str, content_type: str) -> None:
    client, rec = client_for(lambda r: httpx.Response(200, json={}))
    async with client:
        await client.patch(PODS, "web", {"metadata": {"labels": {"a": "b"}}}, patch_type=patch_type,
                           namespace="ns", field_manager="me", force=True)
    assert rec.requests[0].method == "PATCH"
    assert rec.requests[0].headers["content-type"] == content_type
    assert rec.requests[0].url.params["force"] == "true"


async def test_apply_without_field_manager_is_refused() -> None:
    client, _ = client_for(echo)
    async with client:
        with pytest.raises(ValueError, match="field_manager"):
            await client.patch(PODS, "web", {}, patch_type="apply", namespace="ns")


async def test_delete_sends_delete_options() -> None:
    client, rec = client_for(lambda r: httpx.Response(200, json={"kind": "Status", "status": "Success"}))
    async with client:
        await client.delete(PODS, "web", "ns", grace_period_seconds=0, propagation_policy="Foreground",
                            preconditions={"uid": "u-1"})
    options = json.loads(rec.requests[0].content)
    assert options == {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                       "propagationPolicy": "Foreground", "preconditions": {"uid": "u-1"}}


async def test_binding_is_a_post_to_the_subresource() -> None:
    client, rec = client_for(echo)
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"},
               "target": {"kind": "Node", "name": "node-1"}}
    async with client:
        await client.create_subresource(PODS, "web", "binding", binding, "ns")
    assert (rec.requests[0].method, rec.requests[0].url.path) == \
        ("POST", "/api/v1/namespaces/ns/pods/web/binding")


async def test_error_answers_raise_the_mapped_exception() -> None:
    answers = iter([status(404, "NotFound"), status(409, "AlreadyExists")])
    client, _ = client_for(lambda r: next(answers))
    async with client:
        with pytest.raises(NotFound):
            await client.get(PODS, "web", "ns")
        with pytest.raises(AlreadyExists):
            await client.create(PODS, {"metadata": {"name": "web"}}, "ns")


async def test_typed_helpers_take_and_return_models() -> None:
    client, rec = client_for(echo)
    cm = ConfigMap(metadata=ObjectMeta(name="settings", namespace="ns"), data={"k": "v"})
    async with client:
        created = await client.create_object(cm)
    assert isinstance(created, ConfigMap) and created.data == {"k": "v"}
    assert rec.requests[0].url.path == "/api/v1/namespaces/ns/configmaps"

    client, rec = client_for(lambda r: httpx.Response(200, json=Pod(metadata=ObjectMeta(name="p")).to_dict()))
    async with client:
        pod = await client.get_object(Pod, "p", "ns")
    assert isinstance(pod, Pod) and pod.metadata.name == "p"


def stream(*lines: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=b"".join(json.dumps(line).encode() + b"\n" for line in lines))


async def test_watch_yields_events_and_sends_watch_parameters() -> None:
    client, rec = client_for(lambda r: stream(
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "11"}}},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
        {"type": "DELETED", "object": {"metadata": {"name": "a", "resourceVersion": "13"}}}))
    async with client:
        events = [(e.type, e.object["metadata"]["resourceVersion"])
                  async for e in client.watch(PODS, "ns", resource_version="10", timeout_seconds=30)]
    assert events == [("ADDED", "11"), ("BOOKMARK", "12"), ("DELETED", "13")]
    params = rec.requests[0].url.params
    assert (params["watch"], params["resourceVersion"], params["allowWatchBookmarks"],
            params["timeoutSeconds"]) == ("true", "10", "true", "30")


async def test_watch_error_event_with_410_raises_gone() -> None:
    client, _ = client_for(lambda r: stream(
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "11"}}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                     "message": "too old resource version: 1 (11)"}}))
    seen: list[str] = []
    async with client:
        with pytest.raises(Gone, match="too old"):
            async with aclosing(client.watch(PODS, "ns", resource_version="1")) as events:
                async for event in events:
                    seen.append(event.type)
    assert seen == ["ADDED"]


async def test_watch_refused_by_the_server_raises() -> None:
    client, _ = client_for(lambda r: status(403, "Forbidden"))
    async with client:
        with pytest.raises(Exception) as info:
            async for _ in client.watch(PODS):
                pass
    assert info.value.__class__.__name__ == "Forbidden"
