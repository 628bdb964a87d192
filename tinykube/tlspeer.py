"""The verified TLS client certificate of a connection, in its ASGI scope.

A server whose SSL context asks for client certificates (`CERT_OPTIONAL` with a
client CA: the API server's `--client-ca-file`, the kubelet's `--client-ca-file`)
has OpenSSL verify the certificate during the handshake; a certificate that does
not chain to the CA fails the handshake, none at all is allowed. uvicorn does not
pass the result to the application, so these protocol classes put it where the
ASGI TLS extension says: `scope["extensions"]["tls"]["client_certificate"]`, DER
bytes (absent without a certificate). Authenticators read it through
`apiserver.auth.Credentials.from_scope`.

Kubernetes counterpart: Go's crypto/tls (Request.TLS.PeerCertificates),
staging/src/k8s.io/apiserver/pkg/server/options/serving.go (ClientAuth: VerifyClientCertIfGiven)
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import events

TLS_EXTENSION = "tls"


def peer_certificate(transport: asyncio.BaseTransport | None) -> bytes | None:
    """The DER client certificate the handshake verified, or None."""
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    return ssl_object.getpeercert(binary_form=True) or None


def tls_extension(transport: asyncio.BaseTransport | None) -> dict[str, Any]:
    certificate = peer_certificate(transport)
    return {"client_certificate": certificate} if certificate else {}


class TLSScopeHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol; every request's scope carries the TLS extension."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions = self.scope.setdefault("extensions", {})  # type: ignore[typeddict-item]
        extensions[TLS_EXTENSION] = tls_extension(self.transport)


class TLSScopeWSProtocol(WSProtocol):
    """uvicorn's wsproto WebSocket protocol; the connection's scope carries the TLS extension."""

    def handle_connect(self, event: events.Request) -> None:
        super().handle_connect(event)
        # The application task was only scheduled: it sees the scope as completed here.
        self.scope["extensions"][TLS_EXTENSION] = tls_extension(self.transport)  # type: ignore[index]
