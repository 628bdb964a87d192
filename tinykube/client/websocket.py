"""The one WebSocket client (wsproto over asyncio streams): the CLI and the API server.

`tinykube exec` and `tinykube port-forward` dial the API server's `pods/{name}/exec`
and `pods/{name}/portforward` with `connect_to_server`; the API server dials the
kubelet's `/exec` and `/portForward` endpoints with `connect`. Both speak the
channel protocols of Kubernetes on top: binary messages, one whole message at a time.

- `connect()` returns once the server accepted the upgrade (101) with one of the
  offered subprotocols; a refusal raises `HandshakeError` (with the status and
  body), no answer at all (refused, unreachable, timed out) the client's
  `TransportError`;
- `receive()` returns one whole message (fragments reassembled, pings answered),
  or None once the connection is closed (`close_code`/`close_reason` tell why:
  1006 when the peer vanished without a close frame);
- `send()` and `close()` may be called from several tasks; `send()` after the
  close raises ConnectionError.

Kubernetes counterpart: staging/src/k8s.io/client-go/transport/websocket/roundtripper.go,
staging/src/k8s.io/client-go/tools/remotecommand/websocket.go
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping,
                            RejectConnection, RejectData, Request, TextMessage)
from wsproto.utilities import LocalProtocolError

from tinykube.client.config import ClientConfig
from tinykube.client.errors import TransportError

READ_BYTES = 65536


class HandshakeError(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"websocket upgrade rejected: {status_code} {body[:200]!r}")
        self.status_code, self.body = status_code, body


class WebSocketClient:
    """One client connection: whole binary messages in and out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 connection: WSConnection, subprotocol: str | None) -> None:
        self._reader, self._writer, self._ws = reader, writer, connection
        self.subprotocol = subprotocol
        self.close_code: int | None = None
        self.close_reason = ""
        self._pending: list[bytes] = []
        self._partial = bytearray()
        self._send_lock = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    async def send(self, data: bytes) -> None:
        async with self._send_lock:
            if self.close_code is not None:
                raise ConnectionError("websocket is closed")
            self._writer.write(self._ws.send(Message(data=data)))
            await self._writer.drain()

    async def receive(self) -> bytes | None:
        await self._handle_events()  # events left over from the handshake's read
        while not self._pending:
            if self.close_code is not None:
                return None
            chunk = await self._reader.read(READ_BYTES)
            self._ws.receive_data(chunk or None)
            if not chunk and self.close_code is None:
                self.close_code, self.close_reason = 1006, "connection lost"
            await self._handle_events()
        return self._pending.pop(0)

    async def _handle_events(self) -> None:
        for event in self._ws.events():
            if isinstance(event, (BytesMessage, TextMessage)):
                data = event.data if isinstance(event.data, bytes) else event.data.encode()
                self._partial += data
                if event.message_finished:
                    self._pending.append(bytes(self._partial))
                    self._partial.clear()
            elif isinstance(event, Ping):
                async with self._send_lock:
                    self._writer.write(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.close_code, self.close_reason = event.code, event.reason or ""
                async with self._send_lock:
                    with contextlib.suppress(LocalProtocolError):
                        self._writer.write(self._ws.send(event.response()))
                await _shutdown(self._writer)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        async with self._send_lock:
            if self.close_code is None:
                self.close_code = code
                with contextlib.suppress(LocalProtocolError, ConnectionError):
                    self._writer.write(self._ws.send(CloseConnection(code=code, reason=reason)))
                    await self._writer.drain()
        await _shutdown(self._writer)


async def _shutdown(writer: asyncio.StreamWriter) -> None:
    """Close and wait (TLS needs a few loop turns to close its socket)."""
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 2)


async def connect(url: str, *, subprotocols: list[str], headers: dict[str, str] | None = None,
                  ssl_context: ssl.SSLContext | None = None,
                  timeout_seconds: float = 10.0) -> WebSocketClient:
    """Dial ws(s)://host:port/path?query (https:// and http:// are accepted too)."""
    parts = urlsplit(url)
    secure = parts.scheme in ("wss", "https")
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            host, port, ssl=(ssl_context or ssl.create_default_context()) if secure else None,
            server_hostname=host if secure else None), timeout_seconds)
    except (OSError, TimeoutError) as err:
        raise TransportError(str(err) or type(err).__name__) from err
    ws = WSConnection(ConnectionType.CLIENT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    writer.write(ws.send(Request(host=parts.netloc, target=target, subprotocols=subprotocols,
                                 extra_headers=extra)))
    try:
        return await asyncio.wait_for(_handshake(reader, writer, ws), timeout_seconds)
    except (OSError, TimeoutError) as err:
        await _shutdown(writer)
        raise TransportError(str(err) or type(err).__name__) from err


async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     ws: WSConnection) -> WebSocketClient:
    await writer.drain()
    status, body = 0, bytearray()
    while True:
        chunk = await reader.read(READ_BYTES)
        ws.receive_data(chunk or None)
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                return WebSocketClient(reader, writer, ws, event.subprotocol)
            if isinstance(event, RejectConnection):
                status = event.status_code
                if not event.has_body:
                    await _shutdown(writer)
                    raise HandshakeError(status, b"")
            elif isinstance(event, RejectData):
                body += event.data
                if event.body_finished:
                    await _shutdown(writer)
                    raise HandshakeError(status, bytes(body))
        if not chunk:
            await _shutdown(writer)
            raise HandshakeError(status or 502, bytes(body) or b"connection closed during handshake")


async def connect_to_server(config: ClientConfig, path: str, query: list[tuple[str, str]],
                            subprotocols: list[str]) -> WebSocketClient:
    """A WebSocket to an API server path, with the kubeconfig's TLS and credentials."""
    headers = {"User-Agent": config.user_agent}
    token = config.bearer_token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    context = config.ssl_context()
    url = f"{config.server.rstrip('/')}{path}?{urlencode(query)}"
    return await connect(url, subprotocols=subprotocols, headers=headers,
                         ssl_context=context if isinstance(context, ssl.SSLContext) else None,
                         timeout_seconds=config.timeout_seconds)


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel a pump task and wait until it has stopped, whatever it ended with."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
