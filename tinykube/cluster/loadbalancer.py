"""`python -m tinykube.cluster.loadbalancer`: a TCP load balancer for the API servers.

An HA compose cluster puts this in front of its API servers, under the service
name `apiserver`, so kubelets, controller managers, schedulers and the host's
kubeconfig keep one address while control-plane nodes come and go. It passes TLS
through untouched (tokens, client certificates and the serving certificate are the
API servers'), like the haproxy of kubeadm's HA guide in TCP mode:

- every `--health-check-interval` each backend's `/readyz` is asked over HTTPS (the
  certificate is not checked: only readiness is); `--fall` failures in a row (not
  reachable, or not 200) mark a backend down, one success marks it up again; a
  backend that accepts the connection but answers slowly is left as it is;
- a new connection goes to the next up backend in turn; a backend that refuses it
  is skipped for the next one, so a client only sees an error when none answers;
- when a backend goes down every connection through it is closed at once: a killed
  machine sends no FIN or RST, and without this a client (a watch) would wait on a
  dead peer for minutes instead of reconnecting through a live one.

    python -m tinykube.cluster.loadbalancer --listen 0.0.0.0:6443 \
        --backend cp-1:6443 --backend cp-2:6443 --backend cp-3:6443

Kubernetes counterpart: none in-tree; kubeadm's docs/ha-considerations.md (haproxy, keepalived)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tinykube.component import component_parser, duration, run_until_signalled

log = logging.getLogger("loadbalancer")

CONNECT_TIMEOUT_SECONDS = 2.0
BUFFER_BYTES = 64 * 1024


@dataclass(eq=False)
class Backend:
    host: str
    port: int
    up: bool = True  # optimistic until the first checks say otherwise
    failures: int = 0
    connections: set[asyncio.StreamWriter] = field(default_factory=set)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


HealthCheck = Callable[[Backend], Awaitable[bool | None]]


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"want HOST:PORT, got {text!r}")
    return host or "0.0.0.0", int(port)


def readyz_check(path: str = "/readyz", connect_timeout_seconds: float = 1.0,
                 answer_timeout_seconds: float = 5.0) -> HealthCheck:
    """GET `path` over HTTPS: True on 200; False when the backend cannot be reached
    (no such host, refused, no TCP answer in time) or answers anything else; None
    (no verdict) when it accepted the connection but is slow to answer: a busy API
    server is not a dead one, and cutting its connections would only add load."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    async def check(backend: Backend) -> bool | None:
        try:
            async with asyncio.timeout(connect_timeout_seconds):
                reader, writer = await asyncio.open_connection(backend.host, backend.port)
        except (OSError, TimeoutError):
            return False
        try:
            async with asyncio.timeout(answer_timeout_seconds):
                await writer.start_tls(context)
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {backend.host}\r\n"
                             "Connection: close\r\n\r\n".encode())
                await writer.drain()
                status = await reader.readline()
            return status.split(b" ")[1:2] == [b"200"]
        except TimeoutError:
            return None
        except (OSError, ssl.SSLError):
            return False
        finally:
            writer.transport.abort()

    return check


class LoadBalancer:
    """- only up backends get new connections, in turn; down ones are tried last;
    - a backend's connections are closed when it goes down;
    - `check_once` is one round of health checks (the loop calls it each interval)."""

    def __init__(self, backends: list[Backend], check: HealthCheck, fall: int = 3) -> None:
        self.backends = backends
        self.check = check
        self.fall = fall
        self._turn = itertools.count()
        self._handlers: set[asyncio.Task[None]] = set()

    def candidates(self) -> list[Backend]:
        start = next(self._turn) % len(self.backends)
        ordered = self.backends[start:] + self.backends[:start]
        return [b for b in ordered if b.up] + [b for b in ordered if not b.up]

    async def check_once(self) -> None:
        results = await asyncio.gather(*(self.check(b) for b in self.backends))
        for backend, ok in zip(self.backends, results):
            if ok is None:  # slow: no verdict either way
                continue
            if ok:
                if not backend.up:
                    log.info("backend up backend=%s", backend)
                backend.up, backend.failures = True, 0
                continue
            backend.failures += 1
            if backend.up and backend.failures >= self.fall:
                backend.up = False
                log.warning("backend down backend=%s closing=%d", backend, len(backend.connections))
                for writer in list(backend.connections):
                    writer.transport.abort()

    async def health_loop(self, interval_seconds: float) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(interval_seconds)

    async def close(self) -> None:
        """End every proxied connection and wait for their handlers."""
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._proxy(client_reader, client_writer)
        finally:
            self._handlers.discard(task)
            client_writer.close()

    async def _proxy(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        for backend in self.candidates():
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                    reader, writer = await asyncio.open_connection(backend.host, backend.port)
            except (OSError, TimeoutError):
                log.debug("connect failed backend=%s", backend)
                continue
            backend.connections.add(writer)
            try:
                await _splice(client_reader, client_writer, reader, writer)
            finally:
                backend.connections.discard(writer)
            return
        log.warning("no backend answered")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(BUFFER_BYTES):
            writer.write(data)
            await writer.drain()


async def _splice(a_reader: asyncio.StreamReader, a_writer: asyncio.StreamWriter,
                  b_reader: asyncio.StreamReader, b_writer: asyncio.StreamWriter) -> None:
    """Copy both ways until one direction ends, then close both sides (HTTP clients
    do not half-close; a backend aborted by the health check ends it here too)."""
    pipes = [asyncio.create_task(_pipe(a_reader, b_writer)), asyncio.create_task(_pipe(b_reader, a_writer))]
    try:
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pipe in pipes:
            pipe.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        a_writer.close()
        b_writer.close()


async def run(args: argparse.Namespace, stopping: asyncio.Event) -> int:
    balancer = LoadBalancer([Backend(host, port) for host, port in args.backend],
                            readyz_check(args.health_check_path, args.health_check_connect_timeout,
                                         args.health_check_timeout), args.fall)
    host, port = args.listen
    server = await asyncio.start_server(balancer.handle, host, port)
    health = asyncio.create_task(balancer.health_loop(args.health_check_interval))
    log.info("listening address=%s:%d backends=%s", host, port, ",".join(map(str, balancer.backends)))
    try:
        async with server:
            await server.serve_forever()
        return 1
    finally:
        health.cancel()
        await asyncio.gather(health, return_exceptions=True)
        await balancer.close()


def main(argv: list[str] | None = None) -> None:
    parser = component_parser("python -m tinykube.cluster.loadbalancer", __doc__)
    parser.add_argument("--listen", type=parse_address, default=("0.0.0.0", 6443))
    parser.add_argument("--backend", type=parse_address, action="append", required=True)
    parser.add_argument("--health-check-path", default="/readyz")
    parser.add_argument("--health-check-interval", type=duration, default=1.0)
    parser.add_argument("--health-check-connect-timeout", type=duration, default=1.0,
                        help="no TCP connection within this long: a failed check")
    parser.add_argument("--health-check-timeout", type=duration, default=5.0,
                        help="connected but no answer within this long: no verdict")
    parser.add_argument("--fall", type=int, default=3, help="failed checks in a row that mark a backend down")
    args = parser.parse_args(argv)
    sys.exit(run_until_signalled(lambda stopping: run(args, stopping), verbosity=args.v))


if __name__ == "__main__":
    main()
