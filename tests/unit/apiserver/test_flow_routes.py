"""The flow log endpoint through the real application: list, watch, 410, discovery."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apiserver.app import create_app
from apiserver.flow.log import Caller, FlowLog, WatchIdentity, WriteRecord
from apiserver.flow.routes import watch_records
from apiserver.metrics import RequestMetrics
from apiserver.server import APIServer, ServerConfig
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import PODS
from tinykube.flow.chain import ChainFilter

PATH = "/apis/flow.tinykube.io/v1alpha1/flowrecords"
WATCH = WatchIdentity(Caller("admin", "tinykube-scheduler"), PODS, "", "", "")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    server = APIServer(MemoryStorage(), ServerConfig(flow_log_size=6))
    await server.start()
    app = create_app(server, RequestMetrics(), None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"User-Agent": "test-agent/1.0"}) as client:
        yield client
    await server.stop()


async def create(http: httpx.AsyncClient, name: str, owner: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o",
                                    "uid": owner}]
    response = await http.post("/api/v1/namespaces/default/configmaps", json={"metadata": meta})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]


async def test_a_write_is_listed_with_its_caller_and_change(http: httpx.AsyncClient) -> None:
    await create(http, "one")
    body = (await http.get(PATH)).json()
    assert body["kind"] == "FlowRecordList"
    record = body["items"][-1]
    assert (record["type"], record["user"], record["userAgent"], record["verb"], record["change"]) == \
        ("Write", "system:unsecured", "test-agent/1.0", "create", "created")
    assert record["object"]["name"] == "one" and record["object"]["resource"] == "configmaps"
    assert body["metadata"]["resourceVersion"] == record["metadata"]["resourceVersion"]


async def test_uids_select_an_object_and_what_it_owns(http: httpx.AsyncClient) -> None:
    root = await create(http, "root")
    await create(http, "child", owner=root["metadata"]["uid"])
    await create(http, "stranger")
    items = (await http.get(PATH, params={"uids": root["metadata"]["uid"]})).json()["items"]
    assert [i["object"]["name"] for i in items] == ["root", "child"]


async def test_a_watch_resumes_after_a_sequence_number(http: httpx.AsyncClient) -> None:
    last = (await http.get(PATH)).json()["metadata"]["resourceVersion"]
    await create(http, "after")
    events = lines(await http.get(PATH, params={"watch": "true", "resourceVersion": last,
                                                "timeoutSeconds": "1"}))
    assert events[0] == {"type": "BOOKMARK", "object": {
        "kind": "FlowRecord", "apiVersion": "flow.tinykube.io/v1alpha1",
        "metadata": {"resourceVersion": last}}}
    assert [e["object"]["object"]["name"] for e in events[1:] if e["type"] == "ADDED"] == ["after"]


async def test_a_watch_from_before_the_ring_is_410_gone(http: httpx.AsyncClient) -> None:
    for name in ("a", "b", "c"):  # with the system namespaces, more than the ring holds
        await create(http, name)
    events = lines(await http.get(PATH, params={"watch": "true", "resourceVersion": "0"}))
    assert events[-1]["type"] == "ERROR"
    assert (events[-1]["object"]["code"], events[-1]["object"]["reason"]) == (410, "Expired")


async def test_the_group_is_in_legacy_and_aggregated_discovery(http: httpx.AsyncClient) -> None:
    groups = (await http.get("/apis")).json()["groups"]
    assert {"name": "flow.tinykube.io", "versions": [{"groupVersion": "flow.tinykube.io/v1alpha1",
            "version": "v1alpha1"}], "preferredVersion": {"groupVersion": "flow.tinykube.io/v1alpha1",
                                                          "version": "v1alpha1"}} in groups
    aggregated = (await http.get("/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})).json()
    flow = next(i for i in aggregated["items"] if i["metadata"]["name"] == "flow.tinykube.io")
    assert flow["versions"][0]["resources"][0]["verbs"] == ["list", "watch"]
    resources = (await http.get("/apis/flow.tinykube.io/v1alpha1")).json()["resources"]
    assert [r["name"] for r in resources] == ["flowrecords"]


async def test_a_delivery_recorded_before_its_write_waits_for_it() -> None:
    """The store's watch can beat the writing request: the delivery is sent once
    its write is recorded, so it has its latency."""
    flow_log = FlowLog(size=10)
    stream = watch_records(flow_log, 0, ChainFilter({"p1"}), None)
    assert b"BOOKMARK" in await anext(stream)
    flow_log.record_deliveries(WATCH, [("ADDED", {"metadata": {"name": "web", "uid": "p1"}}, 42)])
    next_chunk = asyncio.create_task(anext(stream))
    await asyncio.sleep(0)  # the stream sees the delivery and waits for its write
    assert not next_chunk.done()
    flow_log.record_write(WriteRecord(flow_log.next_seq(), 0, Caller("admin", "tinykube"), PODS,
                                      "demo", "web", "p1", 42, "ADDED", (), None, None))
    events = [json.loads(line) for line in (await next_chunk).splitlines()]
    await stream.aclose()
    assert [(e["object"]["type"], e["object"]["object"]["uid"]) for e in events] == \
        [("Delivery", "p1"), ("Write", "p1")]
    assert "latencySeconds" in events[0]["object"]
