"""Chunked lists (limit/continue) over paged MemoryStorage, and the health endpoints.

A continued list is read at the first chunk's revision, so the chunks add up to
one consistent list whatever is written between them; a compacted revision is 410
Expired. The health endpoints answer in kube-apiserver's format, over the ASGI app.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/etcd3/store_test.go
(TestListContinuation), staging/src/k8s.io/apiserver/pkg/server/healthz/healthz_test.go
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apiserver import errors, reading
from apiserver.app import create_app
from apiserver.metrics import RequestMetrics
from apiserver.registry import Registry, RequestContext
from apiserver.server import APIServer
from apiserver.storage.memory import MemoryStorage
from tinykube.api.resources import CONFIGMAPS

Obj = dict[str, Any]


@pytest.fixture
async def storage() -> MemoryStorage:
    return MemoryStorage(page_size=3)


@pytest.fixture
async def server(storage: MemoryStorage) -> AsyncIterator[APIServer]:
    api = APIServer(storage)
    await api.start()
    yield api
    await api.stop()


async def create(reg: Registry, name: str) -> Obj:
    return await reg.create("default", {"metadata": {"name": name}, "data": {"v": "1"}},
                            RequestContext(field_manager="test"))


async def chunk(reg: Registry, limit: int, token: str | None) -> tuple[list[str], str, str | None]:
    selection = reading.parse_selection(reg, "default", None, None)
    items, revision, next_token = await reading.list_objects(reg, selection, limit, token)
    return [o["metadata"]["name"] for o in items], revision, next_token


async def test_chunks_are_one_consistent_list(server: APIServer) -> None:
    configmaps = server.registries[CONFIGMAPS]
    for i in range(7):
        await create(configmaps, f"cm-{i}")
    names, revision, token = await chunk(configmaps, 4, None)
    assert names == ["cm-0", "cm-1", "cm-2", "cm-3"] and token
    await server.storage.delete(configmaps.key("default", "cm-5"))
    await create(configmaps, "cm-9")
    rest, rest_revision, last_token = await chunk(configmaps, 4, token)
    assert (rest, rest_revision, last_token) == (["cm-4", "cm-5", "cm-6"], revision, None)


async def test_a_continue_token_from_before_a_compaction_is_410_expired(
        server: APIServer, storage: MemoryStorage) -> None:
    configmaps = server.registries[CONFIGMAPS]
    for i in range(3):
        await create(configmaps, f"cm-{i}")
    _, _, token = await chunk(configmaps, 1, None)
    await create(configmaps, "cm-3")
    storage.compact(await storage.current_revision())
    with pytest.raises(errors.APIError) as raised:
        await chunk(configmaps, 1, token)
    assert (raised.value.code, raised.value.reason) == (410, "Expired")
    assert raised.value.message.startswith("The provided continue parameter is too old")


@pytest.fixture
async def http(server: APIServer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(server, RequestMetrics(), None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://apiserver") as client:
        yield client


async def test_readyz_verbose_lists_every_check(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz?verbose")
    assert response.status_code == 200
    assert response.text == ("[+]ping ok\n[+]etcd ok\n[+]etcd-readiness ok\n[+]shutdown ok\n"
                             "readyz check passed\n")
    assert (await http.get("/readyz")).text == "ok"
    assert (await http.get("/livez?verbose")).text == "[+]ping ok\n[+]etcd ok\nlivez check passed\n"
    assert (await http.get("/healthz")).text == "ok"


async def test_a_nospace_alarm_fails_readyz_but_not_livez(
        http: httpx.AsyncClient, storage: MemoryStorage) -> None:
    storage.active_alarms = ["NOSPACE"]
    response = await http.get("/readyz")
    assert response.status_code == 500
    assert response.text == ("[+]ping ok\n[+]etcd ok\n[-]etcd-readiness failed: reason withheld\n"
                             "[+]shutdown ok\nreadyz check failed\n")
    reason = await http.get("/readyz/etcd-readiness")
    assert reason.status_code == 500 and "NOSPACE" in reason.text
    assert (await http.get("/livez")).status_code == 200
    excluded = await http.get("/readyz?exclude=etcd-readiness&verbose")
    assert excluded.status_code == 200
    assert "[+]etcd-readiness excluded: ok\n" in excluded.text


async def test_a_stopping_server_is_not_ready(http: httpx.AsyncClient, server: APIServer) -> None:
    server.ready = False
    response = await http.get("/readyz")
    assert response.status_code == 500 and "[-]shutdown failed: reason withheld" in response.text
    assert (await http.get("/readyz/shutdown")).status_code == 500
    assert (await http.get("/readyz/no-such-check")).status_code == 404
