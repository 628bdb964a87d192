"""ResourceDispatch answers exactly as FastAPI's routes would.

The same requests go to the application as served (with the dispatch) and to the
same application without it (FastAPI routing alone); status, headers and body
must be identical, including for the paths an earlier route owns (discovery,
logs, metrics.k8s.io) and the methods the resource route does not serve.

Kubernetes counterpart: none (a tinykube shortcut around its web framework)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from apiserver.app import ResourceDispatch, create_app
from apiserver.metrics import RequestMetrics
from apiserver.server import APIServer
from apiserver.storage.memory import MemoryStorage

FIXED_NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

# (method, path, JSON body): each is sent to both apps in this order, so the writes
# of one app happen in the other too (each app has its own storage).
REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/api/v1/namespaces/default/configmaps",
     {"metadata": {"name": "one"}, "data": {"a": "b"}}),
    ("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "one"}}),
    ("POST", "/api/v1/namespaces/missing/configmaps", {"metadata": {"name": "x"}}),
    ("GET", "/api/v1/namespaces/default/configmaps/one", None),
    ("GET", "/api/v1/namespaces/default/configmaps/none", None),
    ("PUT", "/api/v1/namespaces/default/configmaps/one",
     {"metadata": {"name": "one"}, "data": {"a": "c"}}),
    ("PATCH", "/api/v1/namespaces/default/configmaps/one", None),
    ("DELETE", "/api/v1/namespaces/default/configmaps/one", None),
    ("GET", "/api/v1/namespaces/default/configmaps", None),
    ("GET", "/api/v1", None),  # discovery: an earlier route
    ("POST", "/api/v1", {}),  # the path of a GET-only route: the resource route's
    ("GET", "/apis/apps", None),
    ("GET", "/apis/apps/v1", None),
    ("GET", "/apis/apps/v1/deployments", None),
    ("GET", "/apis/metrics.k8s.io/v1beta1/nodes", None),
    ("GET", "/api/v1/namespaces/default/pods/p/log", None),  # logs: an earlier route
    ("GET", "/api/v1/nosuch", None),
    ("GET", "/api/v1/namespaces/default/configmaps/a%3Fb", None),
    ("HEAD", "/api/v1/namespaces/default/configmaps", None),  # not a resource method
    ("OPTIONS", "/api/v1/namespaces", None),
    ("GET", "/api/", None),
]


async def started_server() -> APIServer:
    server = APIServer(MemoryStorage(), clock=lambda: FIXED_NOW)
    await server.start()
    return server


def without_dispatch(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not ResourceDispatch]
    return app


@pytest.fixture
async def apps() -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    served, plain = await started_server(), await started_server()
    yield (create_app(served, RequestMetrics(), None),
           without_dispatch(create_app(plain, RequestMetrics(), None)))
    await served.stop()
    await plain.stop()


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    body: Any = response.content
    if response.headers.get("content-type") == "application/json" and body:
        body = response.json()
    if isinstance(body, dict):
        meta = body.get("metadata") or {}
        for generated in ("uid", "resourceVersion"):  # differ between two servers
            meta.pop(generated, None)
        for item in body.get("items") or []:
            for generated in ("uid", "resourceVersion"):
                item["metadata"].pop(generated, None)
    headers = sorted((k, v) for k, v in response.headers.items() if k != "content-length")
    return response.status_code, headers, body


async def test_answers_match_fastapi_routing(apps: tuple[FastAPI, FastAPI]) -> None:
    served, plain = apps
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served),
                                 base_url="http://test") as a, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=plain),
                              base_url="http://test") as b:
        for method, path, body in REQUESTS:
            answers = [comparable(await client.request(method, path, json=body))
                       for client in (a, b)]
            assert answers[0] == answers[1], (method, path)
