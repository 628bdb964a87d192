"""The HTTP application: routes, authentication, errors as Status, metrics.

One ASGI app per listener. The HTTPS listener authenticates every request with a
bearer token (401 otherwise); the plain HTTP listener, meant for local tests, is
anonymous. Health and version endpoints answer without credentials, as the real
API server lets anonymous users read them.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/config.go
(DefaultBuildHandlerChain), pkg/endpoints/handlers/responsewriters
"""

from __future__ import annotations

import logging
import time
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apiserver import discovery, errors, handlers, health, proxy
from apiserver.auth import ANONYMOUS, TokenAuthenticator
from apiserver.inflight import MaxInFlightFilter, MaxInFlightLimit
from apiserver.metrics import RequestMetrics, request_resource, request_verb
from apiserver.openapi_v2 import openapi_v2_response
from apiserver.server import APIServer

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
# What anyone may GET without a token: the cluster's CA and address, which a joining
# node checks against the CA hash it was given (kubeadm's RBAC rule for
# system:anonymous on the kube-public/cluster-info ConfigMap).
CLUSTER_INFO_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"


def is_public(method: str, path: str) -> bool:
    return path.startswith(PUBLIC_PATHS) or (method == "GET" and path == CLUSTER_INFO_PATH)


def error_response(err: errors.APIError) -> Response:
    return Response(err.body(), err.code, media_type="application/json")


class RequestChain:
    """Authentication, errors as Status, and request metrics, around every request.

    - a request without a valid token (when an authenticator is set) is 401 before
      any handler runs; `request.state.user` names the caller otherwise;
    - an APIError, or any other exception, before the response starts becomes a
      Status response; the server never crashes on one request;
    - metrics are observed when the response starts (a watch counts once).

    Plain ASGI rather than Starlette's BaseHTTPMiddleware: that one relays every
    chunk of a streaming response through a memory stream and an extra task, which
    made it the largest cost of watch fan-out.
    """

    def __init__(self, app: ASGIApp, metrics: RequestMetrics,
                 authenticator: TokenAuthenticator | None) -> None:
        self.app = app
        self.metrics = metrics
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        path = request.url.path
        response_started = False

        async def send_observed(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start" and not response_started:
                response_started = True
                if path.startswith(("/api/", "/apis/")):
                    self.metrics.observe(
                        request_verb(request.method, path,
                                     request.query_params.get("watch") in ("true", "1")),
                        request_resource(path), message["status"], time.perf_counter() - started)
            await send(message)

        try:
            user = None
            if self.authenticator is not None:
                user = self.authenticator.authenticate(request.headers.get("authorization"))
                if user is None and not is_public(request.method, path):
                    raise errors.unauthorized()
            request.state.user = user or ANONYMOUS
            await self.app(scope, receive, send_observed)
        except errors.APIError as err:
            if response_started:
                raise
            await error_response(err)(scope, receive, send_observed)
        except Exception:  # never crash the server on one request
            log.exception("request failed method=%s path=%s", request.method, path)
            if response_started:
                raise
            await error_response(errors.internal("see the API server log"))(
                scope, receive, send_observed)


def create_app(server: APIServer, metrics: RequestMetrics,
               authenticator: TokenAuthenticator | None,
               in_flight: MaxInFlightLimit | None = None) -> FastAPI:
    """authenticator None means anonymous access (the plain HTTP port); `in_flight`
    is shared by all the listeners of one process (None: no limit)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if in_flight is not None:  # inside the chain: after authentication, as upstream
        app.add_middleware(MaxInFlightFilter, limit=in_flight)
    app.add_middleware(RequestChain, metrics=metrics, authenticator=authenticator)

    @app.get("/version")
    @app.get("/version/")
    async def version() -> Response:
        return handlers.json_response(discovery.version_info())

    health.install_routes(app, server)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/api")
    @app.get("/api/")
    async def api_root(request: Request) -> Response:
        return discovery.api_root(request)

    @app.get("/apis")
    @app.get("/apis/")
    async def apis_root(request: Request) -> Response:
        return discovery.apis_root(request)

    @app.get("/api/v1")
    @app.get("/api/v1/")
    async def core_resources() -> Response:
        return discovery.resource_list("", "v1")

    @app.get("/apis/{group}")
    @app.get("/apis/{group}/")
    async def group_document(group: str) -> Response:
        return discovery.group_document(group)

    @app.get("/apis/{group}/{version}")
    @app.get("/apis/{group}/{version}/")
    async def group_resources(group: str, version: str) -> Response:
        return discovery.resource_list(group, version)

    @app.get("/openapi/v2")
    async def openapi_v2(request: Request) -> Response:
        return await openapi_v2_response(request.headers.get("accept", ""))

    @app.get("/openapi/v3")
    async def openapi_root() -> Response:
        return discovery.openapi_root()

    @app.get("/openapi/v3/{path:path}")
    async def openapi_document(path: str) -> Response:
        return discovery.openapi_document(path)

    # logs, exec, port-forward, node proxy, metrics.k8s.io: before the generic routes
    proxy.install_routes(app, server, authenticator)

    @app.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.api_route("/apis/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def resource(request: Request, path: str) -> Response:
        return await handlers.handle_resource(server, request, request.url.path)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def not_found(path: str) -> Response:
        return error_response(errors.route_not_found())

    return app
