"""The max-in-flight filter: which requests count, and the 429 it answers."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.types import Message, Receive, Scope, Send

from apiserver.auth import ANONYMOUS, UserInfo
from apiserver.inflight import MaxInFlightFilter, MaxInFlightLimit, is_long_running


@pytest.mark.parametrize("path, query, expected", [
    ("/api/v1/namespaces/a/pods", b"watch=true", True),
    ("/api/v1/pods", b"watch=1&labelSelector=x", True),
    ("/api/v1/watch/namespaces/a/pods", b"", True),
    ("/api/v1/namespaces/a/pods/web/log", b"", True),
    ("/api/v1/namespaces/a/pods/web/log", b"follow=true", True),
    ("/api/v1/nodes/n1/proxy/metrics", b"", True),
    ("/api/v1/namespaces/a/pods/web/exec", b"command=ls", True),
    ("/api/v1/namespaces/a/pods", b"watch=false", False),
    ("/api/v1/namespaces/a/pods/web", b"", False),
    ("/api/v1/namespaces/a/pods/web/status", b"", False),
    ("/apis/apps/v1/namespaces/a/deployments/web/scale", b"", False),
    ("/apis/apps/v1/namespaces/a/deployments", b"", False),
    ("/api/v1/namespaces/log", b"", False),
    ("/version", b"", False),
])
def test_long_running_requests(path: str, query: bytes, expected: bool) -> None:
    assert is_long_running(path, query) is expected


class Gate:
    """An app whose requests stay in flight until released."""

    def __init__(self) -> None:
        self.entered = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def scope_for(method: str, path: str = "/api/v1/namespaces/a/configmaps",
              user: UserInfo = ANONYMOUS, query: bytes = b"") -> Scope:
    return {"type": "http", "method": method, "path": path, "query_string": query,
            "state": {"user": user}}


async def call(app: MaxInFlightFilter, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_over_the_bound_is_429_with_retry_after_and_a_status() -> None:
    gate = Gate()
    limit = MaxInFlightLimit(max_requests_inflight=1, max_mutating_requests_inflight=1)
    app = MaxInFlightFilter(gate, limit)
    held = asyncio.create_task(call(app, scope_for("POST")))
    while gate.entered < 1:
        await asyncio.sleep(0)
    refused = await call(app, scope_for("PUT"))
    assert refused[0]["status"] == 429
    assert (b"retry-after", b"1") in refused[0]["headers"]
    body = json.loads(refused[1]["body"])
    assert (body["reason"], body["message"], body["details"]) == (
        "TooManyRequests", "Too many requests, please try again later.", {"retryAfterSeconds": 1})
    assert limit.dropped == {"mutating": 1}
    # The other kind, health checks, long-running requests and system:masters pass.
    gate.release.set()
    for scope in (scope_for("GET"), scope_for("GET", "/readyz"),
                  scope_for("POST", user=UserInfo("admin", "", ("system:masters",))),
                  scope_for("GET", query=b"watch=true")):
        assert (await call(app, scope))[0]["status"] == 200
    await held
    assert limit.in_flight == {"mutating": 0, "readOnly": 0}


async def test_lease_requests_pass_over_the_bound() -> None:
    """Node heartbeats and leader election: their own priority levels upstream."""
    gate = Gate()
    limit = MaxInFlightLimit(max_requests_inflight=1, max_mutating_requests_inflight=1)
    app = MaxInFlightFilter(gate, limit)
    held = asyncio.create_task(call(app, scope_for("PUT")))
    while gate.entered < 1:
        await asyncio.sleep(0)
    lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1"
    renewals = [asyncio.create_task(call(app, scope_for(method, lease))) for method in ("PUT", "GET")]
    while gate.entered < 3:
        await asyncio.sleep(0)
    assert (await call(app, scope_for("POST", "/api/v1/namespaces/leases/configmaps")))[0]["status"] == 429
    gate.release.set()
    assert [r[0]["status"] for r in await asyncio.gather(held, *renewals)] == [200, 200, 200]
    assert limit.dropped == {"mutating": 1}


async def test_zero_means_no_limit() -> None:
    gate = Gate()
    app = MaxInFlightFilter(gate, MaxInFlightLimit(0, 0))
    calls = [asyncio.create_task(call(app, scope_for("POST"))) for _ in range(50)]
    while gate.entered < 50:  # all fifty in flight at once
        await asyncio.sleep(0)
    gate.release.set()
    results = await asyncio.gather(*calls)
    assert all(r[0]["status"] == 200 for r in results)
