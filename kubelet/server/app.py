"""The kubelet API's routes and its authentication.

    GET /healthz                                        (no credentials needed)
    GET /containerLogs/{ns}/{pod}/{container}?follow&tailLines&previous&timestamps&sinceSeconds
    GET /stats/summary
    WS  /exec/{ns}/{pod}/{container}?command=..&stdin&stdout&stderr&tty
    WS  /portForward/{ns}/{pod}?port=N

Every other request needs `Authorization: Bearer <token>` with the token of
`--kubelet-api-token-file` (the API server presents it from its
`--kubelet-client-token-file`); without a token file only `--anonymous-auth=true`
lets requests in. Errors are v1 Status bodies, so the API server can pass them on.

Kubernetes counterpart: pkg/kubelet/server/server.go, pkg/kubelet/server/auth.go
"""

from __future__ import annotations

import hmac
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

from kubelet.runtime import RuntimeServiceError
from kubelet.server.containers import NotOnThisNode, find_container
from kubelet.server.stats import StatsRuntime, SummaryProvider
from kubelet.server.streaming import StreamRuntime, serve_exec, serve_port_forward

log = logging.getLogger(__name__)

_REASONS = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 500: "InternalError"}


class ServerRuntime(StreamRuntime, StatsRuntime, Protocol):
    def container_logs(self, container_id: str, *, follow: bool, tail_lines: int | None,
                       since_seconds: int | None, timestamps: bool) -> AsyncIterator[bytes]: ...


def status_response(code: int, message: str) -> Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": _REASONS.get(code, "InternalError"), "code": code}
    return Response(json.dumps(body), code, media_type="application/json")


class BearerTokenAuth:
    """401 for any request but /healthz without the expected bearer token (HTTP and WS)."""

    def __init__(self, app: ASGIApp, token: str | None, anonymous: bool) -> None:
        self.app, self.token, self.anonymous = app, token, anonymous

    def allowed(self, scope: Scope) -> bool:
        if scope.get("path") == "/healthz" or (self.anonymous and not self.token):
            return True
        headers = dict(scope.get("headers") or [])
        presented = headers.get(b"authorization", b"").decode(errors="replace")
        if not self.token or not presented.lower().startswith("bearer "):
            return False
        return hmac.compare_digest(presented[7:].strip().encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.allowed(scope):
            log.info("unauthorized kubelet API request path=%s", scope.get("path"))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await status_response(401, "Unauthorized")(scope, receive, send)
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


def create_app(runtime: ServerRuntime, node_name: str, token: str | None,
               anonymous: bool = False, summary: SummaryProvider | None = None) -> ASGIApp:
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
    return BearerTokenAuth(app, token, anonymous)


async def _guarded(stream: AsyncIterator[bytes], container_id: str) -> AsyncIterator[bytes]:
    """A log stream that ends (rather than breaking the response) if the runtime fails."""
    try:
        async for chunk in stream:
            yield chunk
    except RuntimeServiceError as err:
        log.info("log stream ended container=%s err=%s", container_id, err)

