"""The dashboard's HTTP app: actions reach the API server as kubectl's would, refusals
come back with the API server's code and message, streams frame what they get.

The dashboard's real RESTClient talks to an httpx MockTransport standing in for the
API server, so the tests see the wire: method, path, query and Content-Type.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dashboard import streams
from dashboard.app import create_app
from dashboard.flow_diagram import FlowLayout
from dashboard.hub import Hub, Subscriber
from tinykube.api.core import Node
from tinykube.api.meta import ObjectMeta
from tinykube.api.resources import NODES
from tinykube.client import ClientConfig, RESTClient


class FakeAPIServer:
    """Records requests; answers each path from `answers` (status, body) or 200 {}."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[str, tuple[int, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers.get(request.url.path, (200, {}))
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeAPIServer, httpx.AsyncClient, RESTClient]]:
    server = FakeAPIServer()
    client = RESTClient(ClientConfig(server="http://api.test", user_agent="tinykube-dashboard"),
                        transport=httpx.MockTransport(server), max_retries=0)
    app = create_app(Hub(client), client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash") as browser:
        yield server, browser, client
    await client.aclose()


async def test_scale_patches_the_scale_subresource_as_the_dashboard(api: Any) -> None:
    server, browser, _ = api
    answer = await browser.post("/api/scale", json={"resource": "deployments.apps", "namespace": "demo",
                                                    "name": "web", "replicas": 3})
    assert answer.status_code == 200, answer.text
    request = server.requests[-1]
    assert (request.method, request.url.path) == ("PATCH", "/apis/apps/v1/namespaces/demo/deployments/web/scale")
    assert request.url.params["fieldManager"] == "tinykube-dashboard"
    assert request.headers["content-type"] == "application/merge-patch+json"
    assert json.loads(request.content) == {"spec": {"replicas": 3}}


async def test_restart_stamps_the_pod_template_with_a_strategic_merge_patch(api: Any) -> None:
    server, browser, _ = api
    answer = await browser.post("/api/restart", json={"resource": "statefulsets.apps",
                                                      "namespace": "demo", "name": "db"})
    assert answer.status_code == 200, answer.text
    request = server.requests[-1]
    assert request.url.path == "/apis/apps/v1/namespaces/demo/statefulsets/db"
    assert request.headers["content-type"] == "application/strategic-merge-patch+json"
    annotations = json.loads(request.content)["spec"]["template"]["metadata"]["annotations"]
    assert list(annotations) == ["kubectl.kubernetes.io/restartedAt"]


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/api/scale", {"resource": "daemonsets.apps", "namespace": "d", "name": "x", "replicas": 1},
     "daemonsets.apps cannot do that"),
    ("/api/scale", {"resource": "deployments.apps", "namespace": "d", "name": "x", "replicas": "2"},
     "replicas must be a whole number"),
    ("/api/scale", {"resource": "deployments.apps", "namespace": "d", "name": "x", "replicas": -1},
     "replicas must be 0 or more"),
    ("/api/restart", {"resource": "jobs.batch", "namespace": "d", "name": "x"}, "jobs.batch cannot do that"),
    ("/api/restart", {"resource": "deployments.apps", "namespace": "d"}, "name is required"),
    ("/api/restart", {"resource": "gizmos", "namespace": "d", "name": "x"},
     'the server doesn\'t have a resource type "gizmos"'),
])
async def test_requests_the_dashboard_cannot_make_are_400_and_reach_no_server(
        api: Any, path: str, body: dict[str, Any], message: str) -> None:
    server, browser, _ = api
    answer = await browser.post(path, json=body)
    assert (answer.status_code, answer.json()["message"]) == (400, message)
    assert server.requests == []


async def test_an_api_refusal_comes_back_with_its_code_and_message(api: Any) -> None:
    server, browser, _ = api
    server.answers["/apis/apps/v1/namespaces/demo/deployments/gone/scale"] = (404, {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404, "reason": "NotFound",
        "message": 'deployments.apps "gone" not found'})
    answer = await browser.post("/api/scale", json={"resource": "deployments.apps", "namespace": "demo",
                                                    "name": "gone", "replicas": 1})
    assert (answer.status_code, answer.json()["message"]) == (404, 'deployments.apps "gone" not found')


async def test_yaml_shows_the_object_without_managed_fields(api: Any) -> None:
    server, browser, _ = api
    server.answers["/api/v1/namespaces/demo/pods/web-1"] = (200, {
        "metadata": {"name": "web-1", "namespace": "demo", "managedFields": [{"manager": "x"}]},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
    answer = await browser.get("/api/yaml", params={"resource": "pods", "namespace": "demo", "name": "web-1"})
    assert answer.status_code == 200
    assert answer.text.startswith("metadata:\n  name: web-1\n")
    assert "managedFields" not in answer.text
    assert "apiVersion: v1\nkind: Pod\n" in answer.text


async def test_apply_server_side_applies_each_document_with_the_dashboards_field_manager(api: Any) -> None:
    server, browser, _ = api
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n---\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 2}\n")
    answer = await browser.post("/api/apply", params={"namespace": "demo", "force": "true"}, content=text)
    assert answer.json() == {"applied": ["configmap/settings serverside-applied",
                                         "deployment/web serverside-applied"]}
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("PATCH", "/api/v1/namespaces/demo/configmaps/settings"),
        ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web")]
    for request in server.requests:
        assert request.headers["content-type"] == "application/apply-patch+yaml"
        assert dict(request.url.params) == {"fieldManager": "tinykube-dashboard", "force": "true"}


@pytest.mark.parametrize(("text", "message"), [
    ("", "no objects passed to apply"),
    ("kind: Gizmo\napiVersion: v9\nmetadata: {name: a}\n", 'no matches for kind "Gizmo" in version "v9"'),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "a ConfigMap needs metadata.name"),
    ("- a\n- b\n", "each YAML document must be an object"),
])
async def test_apply_refuses_what_it_cannot_place(api: Any, text: str, message: str) -> None:
    server, browser, _ = api
    answer = await browser.post("/api/apply", content=text)
    assert (answer.status_code, answer.json()["message"]) == (400, message)
    assert server.requests == []


async def test_a_subscriber_keeps_only_the_newest_view_of_each_topic() -> None:
    subscriber = Subscriber()
    subscriber.offer("overview", "1")
    subscriber.offer("workloads", "a")
    subscriber.offer("overview", "2")
    assert await subscriber.take() == {"overview": "2", "workloads": "a"}
    subscriber.offer("events", "[]")
    assert await subscriber.take() == {"events": "[]"}


async def test_the_flow_stream_announces_the_watch_then_draws_arrows(api: Any) -> None:
    server, _, client = api
    lines = [{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "7"}}},
             {"type": "ADDED", "object": {"type": "Write", "userAgent": "tinykube-scheduler", "user": "s",
                                          "verb": "create", "subresource": "binding", "monotonicNanos": 5,
                                          "object": {"kind": "Pod", "name": "p", "namespace": "d",
                                                     "resourceVersion": "9"}}},
             {"type": "ERROR", "object": {"code": 410, "message": "too old resource version"}}]
    server.answers["/apis/flow.tinykube.io/v1alpha1/flowrecords"] = (
        200, b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    frames = []
    async for chunk in streams.flow_updates(client, FlowLayout()):
        frames.append(chunk.decode())
        if "event: reset" in frames[-1]:
            break
    assert [f.split("\n")[0] for f in frames] == ["event: lanes", "event: ready", "event: lanes",
                                                  "event: arrow", "event: reset"]
    arrow = json.loads(frames[3].split("\n")[1].removeprefix("data: "))
    assert (arrow["from"], arrow["to"], arrow["label"]) == ("scheduler", "apiserver",
                                                            "create pod/p (binding)")
    assert server.requests[0].url.params["watch"] == "true"


async def test_log_lines_are_framed_one_by_one_and_a_refusal_is_a_failure(api: Any) -> None:
    server, _, client = api
    server.answers["/api/v1/namespaces/d/pods/p/log"] = (200, b"one\ntwo\n")
    frames = [f.decode() async for f in streams.log_lines(client, "d", "p", None)]
    assert frames == ['event: line\ndata: {"text": "one"}\n\n', 'event: line\ndata: {"text": "two"}\n\n',
                      "event: end\ndata: {}\n\n"]
    assert server.requests[-1].url.params["follow"] == "true"
    server.answers["/api/v1/namespaces/d/pods/q/log"] = (400, {
        "kind": "Status", "code": 400, "reason": "BadRequest",
        "message": 'container "x" is not valid for pod q'})
    frames = [f.decode() async for f in streams.log_lines(client, "d", "q", "x")]
    assert frames == ['event: failure\ndata: {"message": "container \\"x\\" is not valid for pod q", '
                      '"code": 400}\n\n']


async def test_page_updates_start_with_every_topic(api: Any) -> None:
    _, _, client = api
    hub = Hub(client)
    updates = streams.page_updates(hub)
    first = (await asyncio.wait_for(anext(updates), 5)).decode()
    assert [line for line in first.split("\n") if line.startswith("event:")] == [
        "event: overview", "event: workloads", "event: events"]
    assert len(hub.subscribers) == 1
    await updates.aclose()
    assert hub.subscribers == set()


async def test_a_view_that_reads_as_before_is_not_sent_again(api: Any) -> None:
    _, _, client = api
    hub = Hub(client)
    subscriber = hub.subscribe()
    await subscriber.take()  # every topic, first
    hub.mark_stale("overview")
    hub.publish_stale()
    await subscriber.take()
    hub.mark_stale("overview")  # e.g. a node heartbeat: the Node changed, the overview did not
    hub.publish_stale()
    assert subscriber.pending == {}
    hub.informers[NODES].indexer.add(Node(metadata=ObjectMeta(name="node-a")))
    hub.mark_stale("overview")
    hub.publish_stale()
    assert [n["name"] for n in json.loads(subscriber.pending["overview"])["nodes"]] == ["node-a"]
