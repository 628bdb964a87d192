"""The kubelet API's routes and its authentication.

    GET /healthz                                        (no credentials needed)
    GET /containerLogs/{ns}/{pod}/{container}?follow&tailLines&previous&timestamps&sinceSeconds
    GET /stats/summary
    WS  /exec/{ns}/{pod}/{container}?command=..&stdin&stdout&stderr&tty
    WS  /portForward/{ns}/{pod}?port=N

Every other request is authenticated and authorized by `KubeletAuth`
(kubelet/server/auth.py): 401 for an unknown caller, 403 for one not allowed.
Errors are v1 Status bodies, so the API server can pass them on.

Kubernetes counterpart: pkg/kubelet/server/server.go, pkg/kubelet/server/auth.go
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from tinykube.authn import Credentials
from kubelet.runtime import RuntimeServiceError
from kubelet.server.auth import KubeletAuth, request_attributes
from kubelet.server.containers import NotOnThisNode, find_container
from kubelet.server.stats import StatsRuntime, SummaryProvider
from kubelet.server.streaming import StreamRuntime, serve_exec, serve_port_forward

log = logging.getLogger(__name__)

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 500: "InternalError"}


class ServerRuntime(StreamRuntime, StatsRuntime, Protocol):
    def container_logs(self, container_id: str, *, follow: bool, tail_lines: int | None,
                       since_seconds: int | None, timestamps: bool) -> AsyncIterator[bytes]: ...


def status_response(code: int, message: str) -> Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": _REASONS.get(code, "InternalError"), "code": code}
    return Response(json.dumps(body), code, media_type="application/json")


class AuthFilter:
    """401/403 for any request but /healthz that `auth` does not let in (HTTP and WS)."""

    def __init__(self, app: ASGIApp, auth: KubeletAuth, node_name: str) -> None:
        self.app, self.auth, self.node_name = app, auth, node_name

    async def refusal(self, scope: Scope) -> tuple[int, str] | None:
        path = scope.get("path") or ""
        if path == "/healthz":
            return None
        user = await self.auth.authenticate(Credentials.from_scope(scope))
        if user is None:
            return 401, "Unauthorized"
        attributes = request_attributes(scope.get("method") or "GET", path, self.node_name)
        if not await self.auth.authorize(user, attributes):
            return 403, (f"Forbidden (user={user.name}, verb={attributes.verb}, resource=nodes, "
                         f"subresource={attributes.subresource})")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refused = await self.refusal(scope)
            if refused is not None:
                log.info("kubelet API request refused path=%s code=%d", scope.get("path"), refused[0])
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await status_response(*refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except ValueError:
        raise NotOnThisNode(f"{name}: invalid integer {value!r}", 400) from None


def create_app(runtime: ServerRuntime, node_name: str, auth: KubeletAuth,
               summary: SummaryProvider | None = None) -> ASGIApp:
    provider = summary or SummaryProvider(runtime, node_name)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def container_logs(request: Request) -> Response:
        params, query = request.path_params, request.query_params
        flag = {name: query.get(name, "").lower() in ("1", "true")
                for name in ("follow", "previous", "timestamps")}
        try:
            tail_lines, since_seconds = _int_param(request, "tailLines"), _int_param(request, "sinceSeconds")
            container = await find_container(runtime, params["namespace"], params["pod"],
                                             params["container"], previous=flag["previous"])
        except NotOnThisNode as err:
            return status_response(err.code, str(err))
        stream = runtime.container_logs(container.id, follow=flag["follow"] and not flag["previous"],
                                        tail_lines=tail_lines, since_seconds=since_seconds,
                                        timestamps=flag["timestamps"])
        return StreamingResponse(_guarded(stream, container.id), media_type="text/plain")

    async def stats_summary(request: Request) -> Response:
        return Response(json.dumps(await provider.summary()), media_type="application/json")

    async def exec_endpoint(websocket: WebSocket) -> None:
        p = websocket.path_params
        await serve_exec(websocket, runtime, p["namespace"], p["pod"], p["container"])

    async def port_forward_endpoint(websocket: WebSocket) -> None:
        p = websocket.path_params
        await serve_port_forward(websocket, runtime, p["namespace"], p["pod"])

    app = Starlette(routes=[
        Route("/healthz", healthz),
        Route("/containerLogs/{namespace}/{pod}/{container}", container_logs),
        Route("/stats/summary", stats_summary),
        Route("/stats/summary/", stats_summary),
        WebSocketRoute("/exec/{namespace}/{pod}/{container}", exec_endpoint),
        WebSocketRoute("/portForward/{namespace}/{pod}", port_forward_endpoint),
    ])
    return AuthFilter(app, auth, node_name)


async def _guarded(stream: AsyncIterator[bytes], container_id: str) -> AsyncIterator[bytes]:
    """A log stream that ends (rather than breaking the response) if the runtime fails."""
    try:
        async for chunk in stream:
            yield chunk
    except RuntimeServiceError as err:
        log.info("log stream ended container=%s err=%s", container_id, err)

