"""The API server's proxies to the kubelets: logs, exec, port-forward, stats, metrics.

These are the only requests the API server does not answer from etcd. Each one
finds the pod's node, reaches that node's kubelet API (`kubelet_client`), and
relays: `logs` (chunked text), `exec` (WebSocket frames), `portforward` (SPDY
inside a WebSocket, see `spdy`), `metrics` (metrics.k8s.io built from the
kubelets' stats summaries, plus `nodes/{name}/proxy/stats/...`).

`install_routes` adds the routes to an app before its generic resource routes.
WebSocket requests bypass the HTTP middleware, so they are authenticated here
with the same token authenticator (a bad token closes the handshake: HTTP 403).

Kubernetes counterpart: pkg/registry/core/pod/rest/{log,subresources}.go,
pkg/registry/core/node/rest/proxy.go, sigs.k8s.io/metrics-server
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from apiserver.auth import Authenticator, Credentials
from apiserver.proxy import exec as exec_proxy
from apiserver.proxy import logs, metrics, portforward
from apiserver.proxy.kubelet_client import KubeletClient
from apiserver.server import APIServer

_POD = "/api/v1/namespaces/{namespace}/pods/{name}"
_METRICS = f"/apis/{metrics.GROUP_VERSION}"


def install_routes(app: FastAPI, server: APIServer, authenticator: Authenticator | None) -> None:
    kubelets = KubeletClient.from_config(server.config)

    async def authenticated(websocket: WebSocket) -> bool:
        if authenticator is None or authenticator.authenticate(
                Credentials.from_scope(websocket.scope)) is not None:
            return True
        await websocket.close(1008)  # before accept: the handshake is refused (403)
        return False

    @app.websocket(f"{_POD}/exec")
    async def pod_exec(websocket: WebSocket, namespace: str, name: str) -> None:
        if await authenticated(websocket):
            await exec_proxy.pod_exec(server, kubelets, websocket, namespace, name)

    @app.websocket(f"{_POD}/portforward")
    async def pod_port_forward(websocket: WebSocket, namespace: str, name: str) -> None:
        if await authenticated(websocket):
            await portforward.pod_port_forward(server, kubelets, websocket, namespace, name)

    @app.get(f"{_POD}/log")
    async def pod_log(request: Request, namespace: str, name: str) -> Response:
        return await logs.pod_log(server, kubelets, request, namespace, name)

    @app.get("/api/v1/nodes/{name}/proxy/{path:path}")
    async def node_proxy(request: Request, name: str, path: str) -> Response:
        return await metrics.node_proxy(server, kubelets, request, name, path)

    @app.get(f"{_METRICS}/nodes")
    async def node_metrics_list(request: Request) -> Response:
        return await metrics.node_metrics(server, kubelets, request)

    @app.get(f"{_METRICS}/nodes/{{name}}")
    async def node_metrics(request: Request, name: str) -> Response:
        return await metrics.node_metrics(server, kubelets, request, name)

    @app.get(f"{_METRICS}/pods")
    async def all_pod_metrics(request: Request) -> Response:
        return await metrics.pod_metrics(server, kubelets, request, None)

    @app.get(f"{_METRICS}/namespaces/{{namespace}}/pods")
    async def pod_metrics_list(request: Request, namespace: str) -> Response:
        return await metrics.pod_metrics(server, kubelets, request, namespace)

    @app.get(f"{_METRICS}/namespaces/{{namespace}}/pods/{{name}}")
    async def pod_metrics(request: Request, namespace: str, name: str) -> Response:
        return await metrics.pod_metrics(server, kubelets, request, namespace, name)

    app.state.kubelet_client = kubelets

