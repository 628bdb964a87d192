"""tinykube.client against the real API server over real etcd (plain HTTP and HTTPS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import pytest

from tinykube.api.resources import INDEX
from tinykube.client import (
    AlreadyExists,
    ClientConfig,
    Conflict,
    EventRecorder,
    LeaderElector,
    NotFound,
    RESTClient,
    SharedInformer,
    Unauthorized,
    load_kubeconfig,
)
from tinykube.testing.processes import APIServerProcess

CONFIGMAPS = INDEX.by_name("configmaps")
PODS = INDEX.by_name("pods")
LEASES = INDEX.by_name("leases")
EVENTS = INDEX.by_name("events")
assert CONFIGMAPS and PODS and LEASES and EVENTS


@pytest.fixture
async def client(apiserver: APIServerProcess) -> AsyncIterator[RESTClient]:
    async with RESTClient(ClientConfig(server=apiserver.http_url)) as rest:
        yield rest


@pytest.fixture
async def secure_client(apiserver: APIServerProcess) -> AsyncIterator[RESTClient]:
    config = load_kubeconfig(apiserver.kubeconfig)
    assert config.server == apiserver.https_url and config.token == apiserver.token
    async with RESTClient(config) as rest:
        yield rest


async def until(condition: Callable[[], bool], timeout_seconds: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.02)


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def config_for(apiserver: APIServerProcess, transport: str) -> ClientConfig:
    """Plain HTTP (anonymous), or HTTPS with the kubeconfig the fixture wrote."""
    if transport == "http":
        return ClientConfig(server=apiserver.http_url)
    return load_kubeconfig(apiserver.kubeconfig)


@pytest.mark.parametrize("transport", ["http", "https"])
async def test_create_get_update_patch_delete(transport: str, namespace: str,
                                              apiserver: APIServerProcess) -> None:
    async with RESTClient(config_for(apiserver, transport)) as rest:
        await _crud(rest, namespace)


async def _crud(rest: RESTClient, namespace: str) -> None:
    created = await rest.create(CONFIGMAPS, configmap("settings", a="1"), namespace)
    assert created["metadata"]["uid"] and created["data"] == {"a": "1"}
    with pytest.raises(AlreadyExists):
        await rest.create(CONFIGMAPS, configmap("settings"), namespace)

    got = await rest.get(CONFIGMAPS, "settings", namespace)
    got["data"]["a"] = "2"
    updated = await rest.update(CONFIGMAPS, got)
    assert updated["data"] == {"a": "2"}
    with pytest.raises(Conflict):  # `got` carries the old resourceVersion
        await rest.update(CONFIGMAPS, got)

    patched = await rest.patch(CONFIGMAPS, "settings", {"data": {"b": "3"}}, namespace=namespace)
    assert patched["data"] == {"a": "2", "b": "3"}

    await rest.delete(CONFIGMAPS, "settings", namespace)
    with pytest.raises(NotFound):
        await rest.get(CONFIGMAPS, "settings", namespace)


async def test_a_wrong_token_is_unauthorized(apiserver: APIServerProcess) -> None:
    config = load_kubeconfig(apiserver.kubeconfig)
    config.token = "not-the-token"
    async with RESTClient(config) as rest:
        with pytest.raises(Unauthorized):
            await rest.list(CONFIGMAPS, "default")


async def test_list_follows_pages(client: RESTClient, namespace: str) -> None:
    for i in range(5):
        await client.create(CONFIGMAPS, configmap(f"cm-{i}"), namespace)
    items, resource_version = await client.list(CONFIGMAPS, namespace, limit=2)
    assert sorted(i["metadata"]["name"] for i in items) == [f"cm-{i}" for i in range(5)]
    assert int(resource_version) > 0


async def test_watch_from_a_list_sees_every_change(client: RESTClient, namespace: str) -> None:
    _, resource_version = await client.list(CONFIGMAPS, namespace)
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async with aclosing(client.watch(CONFIGMAPS, namespace,
                                         resource_version=resource_version)) as events:
            async for event in events:
                if event.type != "BOOKMARK":
                    seen.append((event.type, event.object["data"]["v"]))
                if event.type == "DELETED":
                    return

    watcher = asyncio.create_task(follow())
    await client.create(CONFIGMAPS, configmap("w", v="1"), namespace)
    await client.patch(CONFIGMAPS, "w", {"data": {"v": "2"}}, namespace=namespace)
    await client.delete(CONFIGMAPS, "w", namespace)
    await asyncio.wait_for(watcher, 15)
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


async def test_informer_syncs_then_sees_add_update_delete(secure_client: RESTClient,
                                                          namespace: str) -> None:
    await secure_client.create(PODS, pod("before"), namespace)
    informer = SharedInformer(secure_client, PODS, namespace=namespace)
    seen: list[tuple[str, str]] = []
    informer.add_event_handler(
        on_add=lambda obj: seen.append(("add", obj["metadata"]["name"])),
        on_update=lambda old, new: seen.append(("update", new["metadata"]["labels"]["app"])),
        on_delete=lambda obj: seen.append(("delete", obj["metadata"]["name"])))
    informer.start()
    try:
        assert await informer.wait_for_cache_sync(15)
        assert seen == [("add", "before")]
        await secure_client.create(PODS, pod("after"), namespace)
        await until(lambda: ("add", "after") in seen)
        await secure_client.patch(PODS, "after", {"metadata": {"labels": {"app": "api"}}},
                                  namespace=namespace)
        await until(lambda: ("update", "api") in seen)
        assert informer.indexer.get(f"{namespace}/after")["metadata"]["labels"] == {"app": "api"}
        await secure_client.delete(PODS, "after", namespace, grace_period_seconds=0)
        await until(lambda: ("delete", "after") in seen)
        assert informer.indexer.list_keys() == [f"{namespace}/before"]
    finally:
        await informer.stop()


async def test_two_electors_one_leader_then_handover(client: RESTClient, namespace: str) -> None:
    lease = f"lock-{uuid.uuid4().hex[:6]}"
    leading: list[str] = []
    done = {name: asyncio.Event() for name in ("a", "b")}

    def candidate(identity: str) -> tuple[LeaderElector, Callable[[], Any]]:
        elector = LeaderElector(client, namespace, lease, identity, lease_duration_seconds=3,
                                renew_deadline_seconds=2, retry_period_seconds=0.2)

        async def work() -> None:
            leading.append(identity)
            await done[identity].wait()

        return elector, work

    (a, work_a), (b, work_b) = candidate("a"), candidate("b")
    runs = {"a": asyncio.create_task(a.run(work_a)), "b": asyncio.create_task(b.run(work_b))}
    try:
        await until(lambda: len(leading) == 1)
        first = leading[0]
        second = "b" if first == "a" else "a"
        # The follower keeps polling and sees the leader renew, yet never leads.
        for _ in range(2):
            await _wait_for_renewal(client, namespace, lease)
        assert leading == [first]
        done[first].set()  # the leader finishes: it releases the lease
        await asyncio.wait_for(runs[first], 15)
        await until(lambda: leading == [first, second], timeout_seconds=15)
        spec = (await client.get(LEASES, lease, namespace))["spec"]
        assert spec["holderIdentity"] == second and spec["leaseTransitions"] == 1
    finally:
        for run in runs.values():
            run.cancel()
        await asyncio.gather(*runs.values(), return_exceptions=True)


async def _wait_for_renewal(client: RESTClient, namespace: str, lease: str) -> None:
    previous = (await client.get(LEASES, lease, namespace))["spec"]["renewTime"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while (await client.get(LEASES, lease, namespace))["spec"]["renewTime"] == previous:
        assert loop.time() < deadline, "the leader stopped renewing"
        await asyncio.sleep(0.05)


async def test_event_recorder_writes_and_aggregates(client: RESTClient, namespace: str) -> None:
    target = await client.create(CONFIGMAPS, configmap("noisy"), namespace)
    recorder = EventRecorder(client, "test-controller", host="host-1")
    for _ in range(3):
        recorder.event(target, "Warning", "TooLoud", "the configmap is too loud")
    await recorder.shut_down()
    items, _ = await client.list(EVENTS, namespace,
                                 field_selector="involvedObject.name=noisy,reason=TooLoud")
    assert len(items) == 1
    event = items[0]
    assert event["count"] == 3 and event["type"] == "Warning"
    assert event["involvedObject"]["uid"] == target["metadata"]["uid"]
    assert event["source"] == {"component": "test-controller", "host": "host-1"}
