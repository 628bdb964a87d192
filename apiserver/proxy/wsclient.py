"""A small asyncio WebSocket client (wsproto over asyncio streams), for the kubelet.

The API server dials the kubelet's `/exec` and `/portForward` endpoints with it.
Binary messages only; fragmented messages are reassembled; pings are answered.

- `connect()` returns once the server accepted the upgrade (101) with one of the
  offered subprotocols, and raises `HandshakeError` (with the status) otherwise;
- `receive()` returns one whole message, or None once the connection is closed
  (`close_code`/`close_reason` then tell why);
- `send()` and `close()` may be called from several tasks.

Kubernetes counterpart: staging/src/k8s.io/client-go/transport/websocket/roundtripper.go
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping,
                            RejectConnection, RejectData, Request, TextMessage)
from wsproto.utilities import LocalProtocolError


class HandshakeError(Exception):
    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"websocket upgrade rejected: {status_code} {body[:200]!r}")
        self.status_code, self.body = status_code, body


class WebSocketClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 connection: WSConnection, subprotocol: str | None) -> None:
        self._reader, self._writer, self._ws = reader, writer, connection
        self.subprotocol = subprotocol
        self.close_code: int | None = None
        self.close_reason = ""
        self._pending: list[bytes] = []
        self._partial = bytearray()
        self._send_lock = asyncio.Lock()

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
            chunk = await self._reader.read(65536)
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
                    try:
                        self._writer.write(self._ws.send(event.response()))
                    except LocalProtocolError:
                        pass
                await _shutdown(self._writer)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        async with self._send_lock:
            if self.close_code is None:
                self.close_code = code
                try:
                    self._writer.write(self._ws.send(CloseConnection(code=code, reason=reason)))
                    await self._writer.drain()
                except (LocalProtocolError, ConnectionError):
                    pass
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
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        host, port, ssl=(ssl_context or ssl.create_default_context()) if secure else None,
        server_hostname=host if secure else None), timeout_seconds)
    ws = WSConnection(ConnectionType.CLIENT)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    writer.write(ws.send(Request(host=parts.netloc, target=target, subprotocols=subprotocols,
                                 extra_headers=extra)))
    await writer.drain()
    status, body = 0, bytearray()
    while True:
        chunk = await asyncio.wait_for(reader.read(65536), timeout_seconds)
        ws.receive_data(chunk or None)
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                client = WebSocketClient(reader, writer, ws, event.subprotocol)
                return client
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
