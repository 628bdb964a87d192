"""Slow and surplus clients: read deadlines and a connection cap per listener.

uvicorn holds a connection for as long as its client wants: a client that sends
half a request line, or headers and then a trickle of body, keeps a socket and a
file descriptor forever, and enough of them exhaust the process. The protocol
class built by `guarded_protocol` is uvicorn's own (httptools) with three bounds
added, the ones Go's `http.Server` gives kube-apiserver:

- **header deadline**: a request's line and headers must arrive within
  `read_header_timeout_seconds` of the connection opening or of the request's
  first byte (Go's `ReadHeaderTimeout`, which kube-apiserver sets to 32 s);
  otherwise the connection is closed without an answer;
- **body deadline**: the body must be complete within `read_body_timeout_seconds`
  after the headers, otherwise the connection is closed (the handler sees the
  client disconnect). WebSocket upgrades (exec, port-forward) and idle
  keep-alive connections are not affected;
- **abort**: every request's scope carries `ABORT_EXTENSION`, a callable that drops
  the connection at once, discarding unsent bytes (a plain close waits for a client
  that may never read them); the watch server uses it to cut off a stuck watcher;
- **client certificate**: every scope carries the TLS extension with the verified
  client certificate, if any (`tinykube.tlspeer`);
- **connection cap**: a listener holding `max_connections` connections answers the
  next one at once with 503 and closes it, so a flood cannot exhaust file
  descriptors (Go has no cap; kube-apiserver relies on these timeouts and a raised
  open-files limit, which `raise_open_files_limit` also does).

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/secure_serving.go
(http.Server ReadHeaderTimeout), Go net/http server.go
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import socket
import struct

from tinykube.tlspeer import TLSScopeHttpProtocol

log = logging.getLogger(__name__)

ABORT_EXTENSION = "tinykube.connection.abort"


def _service_unavailable() -> bytes:
    body = json.dumps({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server has too many open connections, please try again later",
        "reason": "ServiceUnavailable", "code": 503}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


class GuardedHttpProtocol(TLSScopeHttpProtocol):
    """uvicorn's HTTP/1.1 protocol with header and body deadlines and a connection cap.

    - at most one deadline timer is armed per connection; it is cancelled as soon as
      the part it guards (headers, then body) is complete;
    - a connection over the cap never reaches the application.
    """

    read_header_timeout_seconds: float = 32.0
    read_body_timeout_seconds: float = 60.0
    max_connections: int = 0  # 0: no cap

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.max_connections and len(self.connections) > self.max_connections:
            log.warning("connection refused: too many open connections max_connections=%d",
                        self.max_connections)
            transport.write(_service_unavailable())
            transport.close()
            return
        self._arm(self.read_header_timeout_seconds, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()  # the scope, with the TLS extension
        self.scope["extensions"][ABORT_EXTENSION] = self._abort  # type: ignore[typeddict-item]
        self._arm(self.read_header_timeout_seconds, "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.parser.should_upgrade():
            self._disarm()
        else:
            self._arm(self.read_body_timeout_seconds, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        if seconds > 0:
            self._deadline = self.loop.call_later(seconds, self._expire, part)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _abort(self) -> None:
        if not self.transport.is_closing():
            log.info("aborting a connection client=%s", self.client)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:  # linger 0: reset now, drop what the kernel still holds
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _expire(self, part: str) -> None:
        self._deadline = None
        log.info("closing a slow client part=%s client=%s", part, self.client)
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(read_header_timeout_seconds: float, read_body_timeout_seconds: float,
                     max_connections: int) -> type[GuardedHttpProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with these bounds."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {
        "read_header_timeout_seconds": read_header_timeout_seconds,
        "read_body_timeout_seconds": read_body_timeout_seconds,
        "max_connections": max_connections})


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard one, as the Go runtime does at
    start-up for every Go program (kube-apiserver included); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as err:
            log.warning("cannot raise the open files limit soft=%d hard=%d err=%s", soft, hard, err)
    return soft
