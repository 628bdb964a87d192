"""How the API server reaches a node's kubelet.

The address comes from the Node object, as in Kubernetes: the first InternalIP
(else Hostname) in `status.addresses`, and `status.daemonEndpoints.kubeletEndpoint.Port`.
Every call is HTTPS with the bearer token from `--kubelet-client-token-file`; the
kubelet's certificate is checked only when `--kubelet-certificate-authority` is
given (the kubelet's default certificate is self-signed, and Kubernetes skips the
check in that case too).

Kubernetes counterpart: pkg/kubelet/client/kubelet_client.go (NodeConnectionInfoGetter),
pkg/registry/core/pod/strategy.go (LogLocation, ExecLocation, PortForwardLocation)
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from apiserver import errors
from apiserver.server import APIServer
from tinykube.api.resources import NODES
from tinykube.client import TransportError, websocket



@dataclass(frozen=True)
class KubeletLocation:
    node_name: str
    host: str
    port: int

    def url(self, path: str, query: list[tuple[str, str]] | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{path}" + (f"?{urlencode(query)}" if query else "")


def node_location(node: dict[str, Any]) -> KubeletLocation:
    name = node["metadata"]["name"]
    status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in reversed(status.get("addresses") or [])}
    host = addresses.get("InternalIP") or addresses.get("Hostname")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not host or not port:
        raise errors.APIError(503, "ServiceUnavailable",
                              f'node "{name}" does not publish a kubelet address and port')
    return KubeletLocation(name, host, int(port))


class KubeletClient:
    def __init__(self, token: str | None = None, certificate_authority: str = "") -> None:
        self.token = token
        if certificate_authority:
            self.ssl_context = ssl.create_default_context(cafile=certificate_authority)
        else:
            self.ssl_context = ssl.create_default_context()
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_files(cls, token_file: str, certificate_authority: str) -> KubeletClient:
        token = Path(token_file).read_text().strip() if token_file else None
        return cls(token or None, certificate_authority)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def http(self) -> httpx.AsyncClient:
        # Created on first use, inside the server's event loop.
        if self._http is None:
            self._http = httpx.AsyncClient(verify=self.ssl_context, headers=self.headers,
                                           timeout=httpx.Timeout(10.0, read=None))
        return self._http

    async def locate(self, server: APIServer, node_name: str) -> KubeletLocation:
        node = await server.registries[NODES].get(None, node_name)
        return node_location(node)

    async def dial(self, location: KubeletLocation, path: str, query: list[tuple[str, str]],
                   subprotocols: list[str]) -> websocket.WebSocketClient:
        """A WebSocket to the kubelet; a refusal becomes a 502-ish APIError message."""
        try:
            return await websocket.connect(location.url(path, query), subprotocols=subprotocols,
                                           headers=self.headers, ssl_context=self.ssl_context)
        except (TransportError, websocket.HandshakeError) as err:
            raise errors.APIError(502, "InternalError",
                                  f"error dialing backend: {err}") from None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
