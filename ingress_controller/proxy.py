"""The Ingress controller's HTTP(S) reverse proxy.

One request per client connection (the answer carries `Connection: close`): read
the request head, route it by Host and path through the current `RoutingTable`,
open a connection to one ready endpoint of the chosen Service, send the request on
(with X-Forwarded-For/-Host/-Proto), and relay the answer back byte for byte. An
endpoint that refuses is skipped for the next one; none left is 503, no route 404.

HTTPS terminates here: the certificate is picked per SNI host from the
`kubernetes.io/tls` Secret the Ingress names in `spec.tls`; other hosts get a
self-signed fallback certificate, as ingress-nginx's "fake certificate".

Kubernetes counterpart: what ingress-nginx's nginx does per request
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

from ingress_controller.routes import RoutingTable
from tinykube.api.core import Secret
from tinykube.pki import self_signed

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
REASONS = {404: "Not Found", 400: "Bad Request", 502: "Bad Gateway", 503: "Service Unavailable"}


def plain_response(status: int, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def rewrite_head(head: bytes, client_ip: str, scheme: str) -> tuple[bytes, str, str, int]:
    """(the head to send upstream, Host, path, body length) from the client's head."""
    lines = head.decode("latin-1").split("\r\n")
    method, path, version = lines[0].split(" ", 2)
    headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
    host = next((v.strip() for k, v in headers if k.strip().lower() == "host"), "")
    length = next((int(v.strip()) for k, v in headers if k.strip().lower() == "content-length"), 0)
    dropped = {"connection", "keep-alive", "proxy-connection", "x-forwarded-for", "x-forwarded-host",
               "x-forwarded-proto"}
    kept = [f"{k}:{v}" for k, v in headers if k.strip().lower() not in dropped]
    kept += [f"X-Forwarded-For: {client_ip}", f"X-Forwarded-Host: {host}", f"X-Forwarded-Proto: {scheme}",
             "Connection: close"]
    return ("\r\n".join([f"{method} {path} {version}", *kept]) + "\r\n\r\n").encode("latin-1"), host, path, length


class IngressProxy:
    def __init__(self, table: Callable[[], RoutingTable]) -> None:
        self.table = table
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheme: str) -> None:
        client_ip = (writer.get_extra_info("peername") or ("", 0))[0]
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if len(head) > MAX_HEAD_BYTES:
                raise ValueError("request head too large")
            upstream_head, host, path, length = rewrite_head(head[:-4], client_ip, scheme)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError, IndexError):
            writer.write(plain_response(400, "bad request\n"))
            await self._close(writer)
            return
        self.requests += 1
        backend = self.table().match(host, path)
        if backend is None:
            writer.write(plain_response(404, "default backend - 404\n"))
            await self._close(writer)
            return
        body = await reader.readexactly(length) if length else b""
        for _ in range(max(1, len(backend.endpoints))):
            endpoint = backend.next_endpoint()
            if endpoint is None:
                break
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*endpoint), 5)
            except (OSError, TimeoutError):
                continue
            try:
                up_writer.write(upstream_head + body)
                await up_writer.drain()
                while chunk := await up_reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                up_writer.close()
            await self._close(writer)
            return
        writer.write(plain_response(503, f"no ready endpoint for {backend.service}\n"))
        await self._close(writer)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()


class CertificateStore:
    """SSL contexts per TLS Secret (rebuilt when the Secret changes), and a fallback."""

    def __init__(self, secret: Callable[[str, str], Secret | None], table: Callable[[], RoutingTable]) -> None:
        self.secret = secret
        self.table = table
        self.directory = Path(tempfile.mkdtemp(prefix="ingress-certs-"))
        self._contexts: dict[tuple[str, str, str], ssl.SSLContext] = {}
        self.fallback = self._context_from(*self_signed("tinykube-ingress-fake-certificate"), "fallback")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self._files(*self_signed("tinykube-ingress-fake-certificate"), "listener"))
        context.sni_callback = self._pick
        return context

    def _pick(self, connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        ref = self.table().tls.get((server_name or "").lower())
        secret = self.secret(*ref) if ref else None
        if secret is None:
            connection.context = self.fallback
            return
        meta = secret.metadata
        key = (meta.namespace or "", meta.name or "", meta.resource_version or "")
        if key not in self._contexts:
            data = secret.data or {}
            try:
                self._contexts[key] = self._context_from(base64.b64decode(data["tls.crt"]),
                                                         base64.b64decode(data["tls.key"]), "-".join(key))
            except (KeyError, ValueError, ssl.SSLError) as err:
                log.warning("unusable TLS secret secret=%s/%s err=%s", key[0], key[1], err)
                connection.context = self.fallback
                return
        connection.context = self._contexts[key]

    def _files(self, cert: bytes, key: bytes, name: str) -> tuple[str, str]:
        cert_file, key_file = self.directory / f"{name}.crt", self.directory / f"{name}.key"
        cert_file.write_bytes(cert)
        key_file.write_bytes(key)
        key_file.chmod(0o600)
        return str(cert_file), str(key_file)

    def _context_from(self, cert: bytes, key: bytes, name: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self._files(cert, key, name))
        return context
