"""The HTTP application: routes, authentication, errors as Status, metrics.

One ASGI app per listener. The HTTPS listener authenticates every request with a
bearer token (401 otherwise); the plain HTTP listener, meant for local tests, is
anonymous. Health and version endpoints answer without credentials, as the real
API server lets anonymous users read them.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/config.go
(DefaultBuildHandlerChain), pkg/endpoints/handlers/responsewriters
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apiserver import discovery, errors, handlers, health, proxy
from apiserver.audit.filter import AuditConfig, AuditFilter
from apiserver.auth import ANONYMOUS, INSECURE_SUPERUSER, Authenticator, Credentials
from apiserver.authorization.authorizer import Authorizer
from apiserver.authorization.filter import AuthorizationFilter
from apiserver.authorization.impersonation import ImpersonationFilter
from apiserver.flow import routes as flow_routes
from apiserver.flow.log import CALLER, Caller
from apiserver.inflight import MaxInFlightFilter, MaxInFlightLimit
from apiserver.metrics import RequestMetrics, request_resource, request_verb
from apiserver.openapi_v2 import openapi_v2_response
from apiserver.review_groups import REVIEW_GROUPS
from apiserver.server import APIServer

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
# What anyone may GET without a token: the cluster's CA and address, which a joining
# node checks against the CA hash it was given (kubeadm's RBAC rule for
# system:anonymous on the kube-public/cluster-info ConfigMap).
CLUSTER_INFO_PATH = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
# The generic resource routes: these prefixes, these methods (see ResourceDispatch).
RESOURCE_PREFIXES = ("/api/", "/apis/")
RESOURCE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_public(method: str, path: str) -> bool:
    return path.startswith(PUBLIC_PATHS) or (method == "GET" and path == CLUSTER_INFO_PATH)


def error_response(err: errors.APIError) -> Response:
    return Response(err.body(), err.code, media_type="application/json")


def url_path(scope: Scope) -> str:
    """`Request(scope).url.path` without building the whole URL: the decoded path
    with the characters a URL cannot hold in its path escaped again."""
    return scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


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
                 authenticator: Authenticator | None) -> None:
        self.app = app
        self.metrics = metrics
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        path = url_path(scope)
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
                user = self.authenticator.authenticate(Credentials.from_scope(scope))
                if user is None and not is_public(request.method, path):
                    raise errors.unauthorized()
            request.state.user = user or (ANONYMOUS if self.authenticator is not None
                                          else INSECURE_SUPERUSER)
            # Who wrote, for the flow log (a context variable: this request's task only).
            CALLER.set(Caller(request.state.user.name, request.headers.get("user-agent", ""),
                              scope["method"], path))
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


class ResourceDispatch:
    """The generic resource routes (`/api/...`, `/apis/...`) served without
    FastAPI's routing and endpoint layers, which cost as much CPU per create as
    the create itself.

    A request goes straight to `handlers.handle_resource` when FastAPI would have
    sent it to its catch-all resource route: an HTTP request with one of that
    route's methods, under `/api/` or `/apis/`, that no earlier route under those
    prefixes (discovery, logs, node proxy, metrics.k8s.io) matches. Everything
    else goes on to the FastAPI app, so the answers are the same either way.
    """

    def __init__(self, app: ASGIApp, server: APIServer, earlier: list[BaseRoute]) -> None:
        self.app = app
        self.server = server
        self.earlier = earlier  # filled once every route is installed
        self._earlier_by_method: dict[str, list[BaseRoute]] | None = None

    def _claimed(self, scope: Scope) -> bool:
        """Whether an earlier route takes this request (only those serving its method
        can: a route matching the path alone is only a partial match)."""
        if self._earlier_by_method is None:
            self._earlier_by_method = {
                method: [route for route in self.earlier
                         if method in (getattr(route, "methods", None) or ())]
                for method in RESOURCE_METHODS}
        return any(route.matches(scope)[0] == Match.FULL
                   for route in self._earlier_by_method[scope["method"]])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in RESOURCE_METHODS \
                or not scope["path"].startswith(RESOURCE_PREFIXES) or self._claimed(scope):
            await self.app(scope, receive, send)
            return
        response = await handlers.handle_resource(self.server, Request(scope, receive, send),
                                                  url_path(scope))
        await response(scope, receive, send)


# FastAPI 0.16x asks OpenTelemetry on every request whether a provider is configured;
# tinykube configures none, so the answer is always no. Said once here (older
# FastAPI releases have no such option).
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def create_app(server: APIServer, metrics: RequestMetrics,
               authenticator: Authenticator | None,
               in_flight: MaxInFlightLimit | None = None,
               authorizer: Authorizer | None = None,
               audit: AuditConfig | None = None) -> FastAPI:
    """authenticator None means anonymous access (the plain HTTP port); `in_flight`
    is shared by all the listeners of one process (None: no limit); authorizer
    None (the plain HTTP port) allows every request and serves no impersonation;
    audit None records nothing.

    The chain, outermost first: authentication (RequestChain), audit, impersonation,
    max in flight, authorization, then the routes; as kube-apiserver's
    DefaultBuildHandlerChain."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **_NO_TELEMETRY)
    routes_before_resources: list[BaseRoute] = []
    app.add_middleware(ResourceDispatch, server=server, earlier=routes_before_resources)
    if authorizer is not None:
        app.add_middleware(AuthorizationFilter, authorizer=authorizer, is_public=is_public)
    if in_flight is not None:  # inside the chain: after authentication, as upstream
        app.add_middleware(MaxInFlightFilter, limit=in_flight)
    if authorizer is not None:  # Impersonate-User/-Group: after authentication, as upstream
        app.add_middleware(ImpersonationFilter, authorizer=authorizer)
    if audit is not None:  # after authentication, before max in flight and authorization
        app.add_middleware(AuditFilter, config=audit)
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
    for reviews in REVIEW_GROUPS:  # access reviews, TokenReview, SelfSubjectReview
        reviews.install_routes(app, server)
    flow_routes.install_routes(app, server.flow_log)

    # The routes above that could take a resource path; ResourceDispatch defers to them.
    routes_before_resources.extend(
        route for route in app.router.routes
        if getattr(route, "path", "").startswith(RESOURCE_PREFIXES))

    # What ResourceDispatch serves; kept so that the FastAPI app alone answers the same.
    @app.api_route("/api/{path:path}", methods=list(RESOURCE_METHODS))
    @app.api_route("/apis/{path:path}", methods=list(RESOURCE_METHODS))
    async def resource(request: Request, path: str) -> Response:
        return await handlers.handle_resource(server, request, request.url.path)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def not_found(path: str) -> Response:
        return error_response(errors.route_not_found())

    return app
