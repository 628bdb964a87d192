"""`pods/{name}/portforward` over WebSocket, in both wire forms clients use.

1. `SPDY/3.1+portforward.k8s.io` (kubectl >= 1.31): an SPDY/3.1 session runs inside
   the WebSocket. For every local connection kubectl opens two streams with headers
   `streamtype=error|data`, `port`, `requestid`; the server answers each
   SYN_STREAM with a SYN_REPLY, relays the data stream's bytes to the pod's port
   and back, ends it with FIN, and writes failures as text on the error stream.
   PINGs are echoed; a RST_STREAM cancels its request; GOAWAY ends the session.
2. `v4.channel.k8s.io` (the Kubernetes Python client, and `tinykube port-forward`):
   `?ports=80,443`, one connection per port per WebSocket; port i uses channel 2i
   for data and 2i+1 for errors, and the server's first message on each channel is
   the port number as two little-endian bytes.

Either way each forwarded connection becomes one WebSocket to the kubelet's
`/portForward/{ns}/{pod}?port=N` (raw bytes; an empty message half-closes).

Kubernetes counterpart: pkg/kubelet/cri/streaming/portforward/{httpstream,websocket}.go,
staging/src/k8s.io/apiserver/pkg/util/proxy/streamtranslator.go (tunneling)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from apiserver import errors
from apiserver.proxy import spdy
from apiserver.proxy.exec import refuse_upgrade, relay_until_closed
from apiserver.proxy.kubelet_client import KubeletClient
from apiserver.proxy.logs import node_of
from apiserver.server import APIServer
from tinykube.api.resources import PODS
from tinykube.client.websocket import WebSocketClient, stop_task

log = logging.getLogger(__name__)

SPDY_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
KUBELET_PROTOCOL = "portforward.tinykube.io"
CHUNK_BYTES = 32 * 1024

Dialer = Callable[[int], Awaitable[WebSocketClient]]


async def pod_port_forward(server: APIServer, kubelets: KubeletClient, websocket: WebSocket,
                           namespace: str, name: str) -> None:
    offered = websocket.scope.get("subprotocols", [])
    subprotocol = SPDY_PROTOCOL if SPDY_PROTOCOL in offered else next(
        (p for p in offered if p in CHANNEL_PROTOCOLS), None)
    try:
        pod = await server.registries[PODS].get(namespace, name)
        phase = (pod.get("status") or {}).get("phase")
        if phase != "Running":
            raise errors.bad_request(f"unable to forward port because pod is not running. "
                                     f"Current status={phase}")
        location = await kubelets.locate(server, node_of(pod))
    except errors.APIError as err:
        await refuse_upgrade(websocket, err)
        return
    await websocket.accept(subprotocol=subprotocol)

    async def dial(port: int) -> WebSocketClient:
        return await kubelets.dial(location, f"/portForward/{namespace}/{name}",
                                   [("port", str(port))], [KUBELET_PROTOCOL])

    uid = pod["metadata"].get("uid", "")
    describe = f"pod {name}, uid {uid}"
    if subprotocol == SPDY_PROTOCOL:
        await SpdyPortForwarder(websocket, dial, describe).run()
    else:
        await forward_channels(websocket, dial, websocket.query_params.get("ports", ""), describe)


async def _pump_from_kubelet(kubelet: WebSocketClient,
                             deliver: Callable[[bytes], Awaitable[None]]) -> str:
    """Kubelet → client until the kubelet closes; returns the failure text, if any."""
    while (data := await kubelet.receive()) is not None:
        for start in range(0, len(data), CHUNK_BYTES):
            await deliver(data[start: start + CHUNK_BYTES])
    return kubelet.close_reason if kubelet.close_code not in (1000, None) else ""


@dataclass
class _Request:
    port: int
    error_stream: int = 0
    data_stream: int = 0
    upstream: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class SpdyPortForwarder:
    """One SPDY session: frames in from the WebSocket, one task per forwarded connection.

    - frames are encoded and sent under one lock (the header compressor is shared
      and frame order matters);
    - client bytes that arrive before the kubelet answers wait in the request's queue.
    """

    def __init__(self, websocket: WebSocket, dial: Dialer, describe: str) -> None:
        self.websocket, self.dial, self.describe = websocket, dial, describe
        self.codec = spdy.SpdyCodec()
        self.requests: dict[str, _Request] = {}
        self.by_stream: dict[int, _Request] = {}
        self._send_lock = asyncio.Lock()

    async def send(self, frame: spdy.Frame) -> None:
        async with self._send_lock:
            await self.websocket.send_bytes(self.codec.encode(frame))

    async def run(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                for frame in self.codec.feed(message.get("bytes") or b""):
                    if not await self.handle(frame):
                        return
        except spdy.SpdyProtocolError as err:
            log.info("port-forward protocol error err=%s", err)
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.send(spdy.ControlFrame(spdy.FrameType.GOAWAY,
                                                  status=1))  # PROTOCOL_ERROR
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for request in self.requests.values():
                if request.task is not None:
                    request.task.cancel()

    async def handle(self, frame: spdy.Frame) -> bool:
        """Act on one frame; False ends the session."""
        if isinstance(frame, spdy.DataFrame):
            request = self.by_stream.get(frame.stream_id)
            if request is not None and frame.stream_id == request.data_stream:
                if frame.data:
                    request.upstream.put_nowait(frame.data)
                if frame.fin:
                    request.upstream.put_nowait(None)
            return True
        kind = frame.type
        if kind is spdy.FrameType.SYN_STREAM:
            await self._open_stream(frame)
        elif kind is spdy.FrameType.PING:
            await self.send(spdy.ControlFrame(spdy.FrameType.PING, ping_id=frame.ping_id))
        elif kind is spdy.FrameType.RST_STREAM:
            request = self.by_stream.get(frame.stream_id)
            if request is not None and request.task is not None:
                request.task.cancel()
        elif kind is spdy.FrameType.GOAWAY:
            return False
        return True

    async def _open_stream(self, frame: spdy.ControlFrame) -> None:
        headers = frame.headers
        await self.send(spdy.ControlFrame(spdy.FrameType.SYN_REPLY, stream_id=frame.stream_id))
        try:
            port = int(headers.get("port", ""))
        except ValueError:
            await self.send(spdy.ControlFrame(spdy.FrameType.RST_STREAM, stream_id=frame.stream_id,
                                              status=spdy.RstStatus.PROTOCOL_ERROR))
            return
        key = headers.get("requestid") or str(frame.stream_id)
        request = self.requests.setdefault(key, _Request(port))
        self.by_stream[frame.stream_id] = request
        if headers.get("streamtype") == "error":
            request.error_stream = frame.stream_id
        elif headers.get("streamtype") == "data":
            request.data_stream = frame.stream_id
        if request.error_stream and request.data_stream and request.task is None:
            request.task = asyncio.create_task(self._forward(key, request))

    async def _forward(self, key: str, request: _Request) -> None:
        failure, kubelet = "", None
        try:
            kubelet = await self.dial(request.port)
            sender = asyncio.create_task(self._client_to_kubelet(request, kubelet))
            try:
                failure = await _pump_from_kubelet(kubelet, lambda chunk: self.send(
                    spdy.DataFrame(request.data_stream, chunk)))
            finally:
                await stop_task(sender)
        except errors.APIError as err:
            failure = err.message
        except (ConnectionError, OSError) as err:
            failure = str(err)
        finally:
            if kubelet is not None:
                await kubelet.close()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):
            if failure:
                text = f"error forwarding port {request.port} to {self.describe}: {failure}"
                await self.send(spdy.DataFrame(request.error_stream, text.encode()))
            await self.send(spdy.DataFrame(request.data_stream, b"", spdy.FLAG_FIN))
            await self.send(spdy.DataFrame(request.error_stream, b"", spdy.FLAG_FIN))
        self.requests.pop(key, None)
        self.by_stream.pop(request.data_stream, None)
        self.by_stream.pop(request.error_stream, None)

    @staticmethod
    async def _client_to_kubelet(request: _Request, kubelet: WebSocketClient) -> None:
        while (chunk := await request.upstream.get()) is not None:
            await kubelet.send(chunk)
        await kubelet.send(b"")  # the client half-closed its side


async def forward_channels(websocket: WebSocket, dial: Dialer, ports_param: str,
                           describe: str) -> None:
    """The channel form: one forwarded connection per requested port."""
    try:
        ports = [int(p) for p in ports_param.split(",") if p.strip()]
        if not ports:
            raise ValueError
    except ValueError:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(1008, "query parameter \"ports\" is required")
        return
    send_lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with send_lock:
            await websocket.send_bytes(bytes([channel]) + data)

    for index, port in enumerate(ports):  # announce every channel's port first
        await send(2 * index, port.to_bytes(2, "little"))
        await send(2 * index + 1, port.to_bytes(2, "little"))
    kubelets: list[WebSocketClient | None] = []
    for index, port in enumerate(ports):
        try:
            kubelets.append(await dial(port))
        except errors.APIError as err:
            kubelets.append(None)
            await send(2 * index + 1, f"error forwarding port {port} to {describe}: "
                                      f"{err.message}".encode())

    async def client_to_kubelets() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes") or b""
            if data and data[0] % 2 == 0 and data[0] // 2 < len(kubelets):
                target = kubelets[data[0] // 2]
                if target is not None:
                    await target.send(data[1:] if len(data) > 1 else b"")

    async def kubelet_to_client(index: int, kubelet: WebSocketClient) -> None:
        failure = await _pump_from_kubelet(kubelet, lambda chunk: send(2 * index, chunk))
        if failure:
            await send(2 * index + 1, f"error forwarding port {ports[index]} to {describe}: "
                                      f"{failure}".encode())

    await relay_until_closed(websocket, client_to_kubelets(), asyncio.gather(
        *(kubelet_to_client(i, k) for i, k in enumerate(kubelets) if k)), kubelets)
