"""Exec and port-forward over WebSocket: the kubelet's streaming endpoints.

**Exec** (`/exec/{ns}/{pod}/{container}?command=..&stdin=1&stdout=1&stderr=1&tty=1`)
speaks the same channel protocol as the API server's `pods/exec`
(`v5.channel.k8s.io`, or v4 without the close channel), so the API server relays
frames verbatim. Every binary message starts with a channel byte:

    0 stdin (in)   1 stdout (out)   2 stderr (out)   3 status (out, a v1 Status)
    4 resize (in, {"Width": w, "Height": h})   255 close (in, v5: [255, 0] = stdin EOF)

The last message is on channel 3: `{"status": "Success"}`, or `Failure` with
reason `NonZeroExitCode` and a cause `ExitCode` carrying the code; an exec that
cannot start gets a plain `Failure` with the message. Then the socket closes.

**Port-forward** (`/portForward/{ns}/{pod}?port=N`) is tinykube's own framing
between API server and kubelet: one WebSocket per forwarded connection, raw bytes
in both directions. An empty message from the API server means its client will
send nothing more (half-close); the kubelet closes the socket when the pod side
is done, with code 1011 and the reason when the port could not be reached.

Kubernetes counterpart: pkg/kubelet/cri/streaming/remotecommand/websocket.go,
pkg/kubelet/cri/streaming/portforward/websocket.go,
staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from kubelet.runtime import RuntimeServiceError, StreamSession
from kubelet.server.containers import ContainerLister, NotOnThisNode, find_container, find_sandbox

log = logging.getLogger(__name__)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
PORT_FORWARD_PROTOCOL = "portforward.tinykube.io"


class StreamRuntime(ContainerLister, Protocol):
    async def exec(self, container_id: str, command: list[str], *, tty: bool,
                   stdin: bool) -> StreamSession: ...

    async def port_forward(self, pod_sandbox_id: str, port: int) -> StreamSession: ...


def exit_status(exit_code: int | None) -> dict[str, Any]:
    """The v1 Status kubectl reads on channel 3 (remotecommand's error stream)."""
    if not exit_code:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: exit status {exit_code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}


def failure_status(message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
            "code": 500}


def _flag(websocket: WebSocket, name: str) -> bool:
    return websocket.query_params.get(name, "").lower() in ("1", "true")


def _choose(offered: list[str], supported: tuple[str, ...]) -> str | None:
    return next((p for p in offered if p in supported), None)


async def serve_exec(websocket: WebSocket, runtime: StreamRuntime, namespace: str, pod: str,
                     container: str) -> None:
    subprotocol = _choose(websocket.scope.get("subprotocols", []), EXEC_PROTOCOLS)
    await websocket.accept(subprotocol=subprotocol)
    command = websocket.query_params.getlist("command")
    tty, stdin = _flag(websocket, "tty"), _flag(websocket, "stdin")
    try:
        if not command:
            raise NotOnThisNode("you must specify at least one command for the container", 400)
        target = await find_container(runtime, namespace, pod, container)
        session = await runtime.exec(target.id, command, tty=tty, stdin=stdin)
    except (NotOnThisNode, RuntimeServiceError) as err:
        await _finish(websocket, failure_status(str(err)))
        return
    log.info("exec pod=%s/%s container=%s command=%s tty=%s", namespace, pod, container, command, tty)
    reader = asyncio.create_task(_client_to_process(websocket, session, subprotocol))
    try:
        async for channel, data in session.read():
            await websocket.send_bytes(bytes([channel]) + data)
        await _finish(websocket, exit_status(await session.exit_code()))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away; the process gets EOF/hangup through close()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await session.close()


async def _client_to_process(websocket: WebSocket, session: StreamSession,
                             subprotocol: str | None) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            await session.close()  # ends session.read(), so the sender stops too
            return
        data = message.get("bytes") or (message.get("text") or "").encode()
        if not data:
            continue
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            await session.write(payload)
        elif channel == RESIZE:
            try:
                size = json.loads(payload)
                await session.resize(int(size["Width"]), int(size["Height"]))
            except (ValueError, KeyError, TypeError):
                log.debug("bad resize message %r", payload)
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            await session.close_stdin()


async def _finish(websocket: WebSocket, status: dict[str, Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
        await websocket.close(1000)


async def serve_port_forward(websocket: WebSocket, runtime: StreamRuntime, namespace: str,
                             pod: str) -> None:
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=PORT_FORWARD_PROTOCOL if PORT_FORWARD_PROTOCOL in offered
                           else None)
    try:
        port = int(websocket.query_params.get("port", ""))
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        await websocket.close(1008, "a port between 1 and 65535 is required")
        return
    try:
        sandbox = await find_sandbox(runtime, namespace, pod)
        session = await runtime.port_forward(sandbox.id, port)
    except (NotOnThisNode, RuntimeServiceError, OSError) as err:
        log.info("port-forward failed pod=%s/%s port=%d err=%s", namespace, pod, port, err)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(1011, str(err)[:120])
        return
    log.info("port-forward pod=%s/%s port=%d", namespace, pod, port)

    async def upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await session.close()
                return
            data = message.get("bytes") or b""
            if not data:
                await session.close_stdin()  # the client half-closed
                continue
            await session.write(data)

    reader = asyncio.create_task(upstream())
    try:
        async for _, data in session.read():
            await websocket.send_bytes(data)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(1000)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await session.close()
