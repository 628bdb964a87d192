"""The kubelet API: an HTTPS server on port 10250 that the API server calls.

The API server never runs containers; for `kubectl logs`, `exec`, `port-forward`
and `top` it calls the kubelet of the pod's node, found at the Node's InternalIP
and `status.daemonEndpoints.kubeletEndpoint.Port`. Modules:

- `app`: routes (containerLogs, exec, portForward, stats/summary, healthz) behind
  the authentication and authorization filter;
- `auth`: client certificates (`--client-ca-file`), webhook token review and
  SubjectAccessReview, the static token of the hollow-node tests;
- `containers`: finding a pod's sandbox and containers by runtime labels;
- `streaming`: exec and port-forward over WebSocket;
- `stats`: the stats summary from the runtime and the machine.

Without --tls-cert-file the serving certificate is self-signed (`tinykube.pki`),
`<root-dir>/pki/kubelet.crt` and `kubelet.key`, made once and reused on restart
(with `--rotate-server-certificates` the kubelet passes the cluster-signed one from
kubelet/certificate/serving.py as the cert file). With `--client-ca-file` the listener
asks for a client certificate and verifies it against that CA.

`KubeletServer.run()` serves until cancelled (uvicorn with the wsproto backend).

Kubernetes counterpart: pkg/kubelet/server/server.go (ListenAndServeKubeletServer)
"""

from __future__ import annotations

import asyncio
import logging
import time
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from kubelet.server.app import ServerRuntime, create_app
from kubelet.server.auth import KubeletAuth
from tinykube import pki
from tinykube.tlspeer import TLSScopeHttpProtocol, TLSScopeWSProtocol

log = logging.getLogger(__name__)

DEFAULT_PORT = 10250


@dataclass(frozen=True)
class ServerConfig:
    """--address, --port, --tls-cert-file, --tls-private-key-file, --root-dir,
    --client-ca-file, and who may call (`auth`, from the authentication flags)."""

    node_name: str
    address: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    root_dir: str = "/var/lib/kubelet"
    auth: KubeletAuth = field(default_factory=KubeletAuth)
    node_ip: str = "127.0.0.1"
    client_ca_file: str = ""


def read_token_file(path: str) -> str:
    token = Path(path).read_text().strip()
    if not token:
        raise ValueError(f"{path}: the token file is empty")
    return token


class KubeletServer:
    def __init__(self, runtime: ServerRuntime, config: ServerConfig) -> None:
        self.runtime, self.config = runtime, config
        self._server: uvicorn.Server | None = None

    @property
    def started(self) -> bool:
        """True once the listener is bound and accepting."""
        return self._server is not None and self._server.started

    def stop(self) -> None:
        """Ask the server to finish: open connections close, then run() returns."""
        if self._server is not None:
            self._server.should_exit = True

    def _certificate(self) -> tuple[str, str]:
        if self.config.tls_cert_file:
            return self.config.tls_cert_file, self.config.tls_private_key_file
        # Like upstream (certutil.GenerateSelfSignedCertKey): names the node's hostname and IP.
        directory, hostname = Path(self.config.root_dir) / "pki", self.config.node_name
        cert, key = pki.ensure_self_signed_files(
            directory / "kubelet.crt", directory / "kubelet.key", f"{hostname}@{int(time.time())}",
            [hostname, "localhost", *{self.config.node_ip, "127.0.0.1"}])
        return str(cert), str(key)

    async def run(self) -> None:
        """Serve until cancelled. A port that cannot be bound is logged, not fatal:
        the node keeps running its pods, only the kubelet API is missing."""
        cert, key = self._certificate()
        app = create_app(self.runtime, self.config.node_name, self.config.auth)
        client_ca = self.config.client_ca_file
        server = uvicorn.Server(uvicorn.Config(
            app, host=self.config.address, port=self.config.port, ssl_certfile=cert,
            ssl_keyfile=key, http=TLSScopeHttpProtocol, ws=TLSScopeWSProtocol, log_level="warning",
            lifespan="off", timeout_graceful_shutdown=1, ssl_ca_certs=client_ca or None,
            ssl_cert_reqs=ssl.CERT_OPTIONAL if client_ca else ssl.CERT_NONE))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._server = server
        log.info("kubelet API serving address=%s port=%d", self.config.address, self.config.port)
        try:
            await server.serve()
        except asyncio.CancelledError:
            server.should_exit = True
            raise
        except (OSError, SystemExit) as err:
            log.error("kubelet API stopped port=%d err=%s", self.config.port, err)
