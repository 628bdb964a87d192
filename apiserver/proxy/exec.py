"""`pods/{name}/exec` over WebSocket, relayed frame for frame to the kubelet.

kubectl (>= 1.30) upgrades `GET .../exec?command=..&container=..&stdin&stdout&stderr&tty`
to a WebSocket offering `v5.channel.k8s.io`; v4 clients (the Python client) offer
`v4.channel.k8s.io`. The server must echo the chosen subprotocol or kubectl treats the
upgrade as failed. Each binary message carries a channel byte (0 stdin, 1 stdout,
2 stderr, 3 status, 4 resize, 255 close); the kubelet speaks the very same
protocol, so after picking the container the API server dials the kubelet with the
same subprotocol and copies messages both ways until either side closes.

Everything that can fail (no such pod or container, a completed pod, an
unreachable kubelet) is checked before the upgrade and refused as plain HTTP with a
Status body (404, 400, ...), as kube-apiserver does: clients raise on it (the
official client's ApiException, kubectl's `Error from server (NotFound)`). Once
upgraded, the kubelet's own Status on channel 3 ends the command.

Kubernetes counterpart: pkg/registry/core/pod/rest/subresources.go (ExecREST),
staging/src/k8s.io/apiserver/pkg/util/proxy/streamtunnel.go,
staging/src/k8s.io/apimachinery/pkg/util/httpstream/wsstream/conn.go
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from apiserver import errors
from apiserver.proxy.kubelet_client import KubeletClient
from apiserver.proxy.logs import choose_container, node_of
from apiserver.server import APIServer
from tinykube.api.resources import PODS
from tinykube.client.websocket import WebSocketClient, stop_task

log = logging.getLogger(__name__)

EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


async def refuse_upgrade(websocket: WebSocket, err: errors.APIError) -> None:
    """Answer the upgrade request with the error's Status instead of 101."""
    log.info("stream refused path=%s err=%s", websocket.url.path, err.message)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_denial_response(
            Response(err.body(), err.code, media_type="application/json"))


async def pod_exec(server: APIServer, kubelets: KubeletClient, websocket: WebSocket,
                   namespace: str, name: str) -> None:
    offered = websocket.scope.get("subprotocols", [])
    subprotocol = next((p for p in offered if p in EXEC_PROTOCOLS), None)
    query = websocket.query_params
    try:
        pod = await server.registries[PODS].get(namespace, name)
        container = choose_container(pod, query.get("container"))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise errors.bad_request(f"cannot exec into a container in a completed pod; "
                                     f"current phase is {phase}")
        location = await kubelets.locate(server, node_of(pod))
        params = [("command", c) for c in query.getlist("command")] + [
            (k, query[k]) for k in ("stdin", "stdout", "stderr", "tty") if k in query]
        kubelet = await kubelets.dial(location, f"/exec/{namespace}/{name}/{container}", params,
                                      [subprotocol] if subprotocol else list(EXEC_PROTOCOLS))
    except errors.APIError as err:
        await refuse_upgrade(websocket, err)
        return
    try:
        await websocket.accept(subprotocol=subprotocol)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):  # the client left meanwhile
        await kubelet.close()
        return
    log.info("exec pod=%s/%s container=%s node=%s", namespace, name, container, location.node_name)
    await relay(websocket, kubelet)


async def relay(websocket: WebSocket, kubelet: WebSocketClient) -> None:
    """Copy messages both ways; when either side closes, close the other."""

    async def client_to_kubelet() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None and message.get("text") is not None:
                data = message["text"].encode()
            if data:
                await kubelet.send(data)

    async def kubelet_to_client() -> None:
        while (data := await kubelet.receive()) is not None:
            await websocket.send_bytes(data)

    await relay_until_closed(websocket, client_to_kubelet(), kubelet_to_client(), [kubelet])


async def relay_until_closed(websocket: WebSocket, upstream: Coroutine[Any, Any, None],
                             downstream: Awaitable[Any], kubelets: list[WebSocketClient | None]) -> None:
    """Run `upstream` (client -> kubelet) beside `downstream` (kubelet -> client).

    - `downstream` ending is the end: the client's WebSocket is closed normally;
    - the client going away ends it too; either way the kubelet connections close.
    """
    task = asyncio.create_task(upstream)
    try:
        await downstream
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(1000)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        await stop_task(task)
        for kubelet in kubelets:
            if kubelet is not None:
                await kubelet.close()
