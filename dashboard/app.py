"""The dashboard's HTTP app: the page, its JSON reads, its actions and its streams.

    GET  /                         the single page (static/index.html, app.js, style.css)
    GET  /healthz                  200 once every cache has synced (readiness probe)
    GET  /api/overview|workloads|events        the current view model (JSON)
    GET  /api/stream               SSE: overview, workloads, events as they change
    GET  /api/flow?namespace=&everything=true  SSE: the flow view's lanes and arrows
    GET  /api/logs/{namespace}/{pod}?container=  SSE: the pod's log, followed
    GET  /api/yaml?resource=&namespace=&name=  the object as YAML
    POST /api/apply?namespace=&force=true      server-side apply of a YAML body
    POST /api/scale    {"resource", "namespace", "name", "replicas"}
    POST /api/restart  {"resource", "namespace", "name"}

Reads come from the Hub's caches; writes and the log and flow streams go to the
API server with the dashboard's client. An API refusal is answered with the API
server's status code and message (`{"message": ...}`), a request the dashboard
itself refuses with 400.

Kubernetes counterpart: none in Kubernetes (kubernetes/dashboard's API module
plays this part there)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dashboard import actions, streams
from dashboard.flow_diagram import FlowLayout
from dashboard.hub import EVENTS_TOPIC, OVERVIEW, WORKLOADS, Hub
from tinykube.client import RESTClient
from tinykube.client.errors import APIStatusError, ClientError

STATIC_DIR = Path(__file__).resolve().parent / "static"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
Endpoint = Callable[[Request], Awaitable[Response]]


def _answer_errors(endpoint: Endpoint) -> Endpoint:
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except actions.ActionError as err:
            return JSONResponse({"message": str(err)}, status_code=400)
        except APIStatusError as err:
            return JSONResponse({"message": err.message or str(err), "reason": err.reason},
                                status_code=err.code)
        except ClientError as err:
            return JSONResponse({"message": str(err)}, status_code=503)
    return wrapped


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise actions.ActionError("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise actions.ActionError("the request body must be a JSON object")
    return body


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise actions.ActionError(f"{name} is required")
    return value


def create_app(hub: Hub, client: RESTClient) -> Starlette:
    def view_of(topic: str) -> Endpoint:
        async def endpoint(_: Request) -> Response:
            return JSONResponse(hub.view(topic))
        return endpoint

    async def index(_: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    async def healthz(_: Request) -> Response:
        synced = hub.has_synced()
        return PlainTextResponse("ok" if synced else "caches not synced", 200 if synced else 503)

    async def stream(_: Request) -> Response:
        return StreamingResponse(streams.page_updates(hub), media_type="text/event-stream",
                                 headers=SSE_HEADERS)

    async def flow(request: Request) -> Response:
        layout = FlowLayout(namespace=request.query_params.get("namespace", ""),
                            everything=request.query_params.get("everything") == "true")
        return StreamingResponse(streams.flow_updates(client, layout),
                                 media_type="text/event-stream", headers=SSE_HEADERS)

    async def logs(request: Request) -> Response:
        params = request.path_params
        return StreamingResponse(
            streams.log_lines(client, params["namespace"], params["pod"],
                              request.query_params.get("container")),
            media_type="text/event-stream", headers=SSE_HEADERS)

    @_answer_errors
    async def object_yaml(request: Request) -> Response:
        query = request.query_params
        text = await actions.object_yaml(client, query.get("resource", ""),
                                         query.get("namespace", ""), query.get("name", ""))
        return PlainTextResponse(text, media_type="application/yaml")

    @_answer_errors
    async def apply(request: Request) -> Response:
        query = request.query_params
        applied = await actions.apply_yaml(client, (await request.body()).decode(errors="replace"),
                                           query.get("namespace") or "default",
                                           force=query.get("force") == "true")
        return JSONResponse({"applied": applied})

    @_answer_errors
    async def scale(request: Request) -> Response:
        body = await _json_body(request)
        replicas = body.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise actions.ActionError("replicas must be a whole number")
        await actions.scale(client, _field(body, "resource"), _field(body, "namespace"),
                            _field(body, "name"), replicas)
        return JSONResponse({"message": f"{body['name']} scaled to {replicas}"})

    @_answer_errors
    async def restart(request: Request) -> Response:
        body = await _json_body(request)
        await actions.rollout_restart(client, _field(body, "resource"), _field(body, "namespace"),
                                      _field(body, "name"))
        return JSONResponse({"message": f"{body['name']} restarted"})

    return Starlette(routes=[
        Route("/", index),
        Route("/healthz", healthz),
        Route("/api/overview", view_of(OVERVIEW)),
        Route("/api/workloads", view_of(WORKLOADS)),
        Route("/api/events", view_of(EVENTS_TOPIC)),
        Route("/api/stream", stream),
        Route("/api/flow", flow),
        Route("/api/logs/{namespace}/{pod}", logs),
        Route("/api/yaml", object_yaml),
        Route("/api/apply", apply, methods=["POST"]),
        Route("/api/scale", scale, methods=["POST"]),
        Route("/api/restart", restart, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ])
