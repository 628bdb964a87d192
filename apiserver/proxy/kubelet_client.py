"""How the API server reaches a node's kubelet.

The address comes from the Node object, as in Kubernetes: the first InternalIP
(else Hostname) in `status.addresses`, and `status.daemonEndpoints.kubeletEndpoint.Port`.
Every call is HTTPS. The API server proves who it is with the client certificate of
`--kubelet-client-certificate`/`--kubelet-client-key` (kubeadm's
`apiserver-kubelet-client`, CN `kube-apiserver-kubelet-client`, O `system:masters`);
the hollow-node tests use the older bearer token of `--kubelet-client-token-file`.
The kubelet's serving certificate is verified against `--kubelet-certificate-authority`,
for the address dialled (an IP SAN for an InternalIP), when that flag is given; without
it the certificate is not checked (a kubelet's self-signed default, as Kubernetes).

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
from apiserver.server import APIServer, ServerConfig
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
    def __init__(self, token: str | None = None, certificate_authority: str = "",
                 client_certificate: tuple[str, str] | None = None) -> None:
        self.token = token
        if certificate_authority:
            self.ssl_context = ssl.create_default_context(cafile=certificate_authority)
        else:
            self.ssl_context = ssl.create_default_context()
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE
        if client_certificate is not None:
            self.ssl_context.load_cert_chain(*client_certificate)
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_config(cls, config: ServerConfig) -> KubeletClient:
        token_file = config.kubelet_client_token_file
        token = Path(token_file).read_text().strip() if token_file else None
        certificate = (config.kubelet_client_certificate, config.kubelet_client_key) \
            if config.kubelet_client_certificate else None
        return cls(token or None, config.kubelet_certificate_authority, certificate)

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
