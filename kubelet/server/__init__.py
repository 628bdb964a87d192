"""The kubelet API: an HTTPS server on port 10250 that the API server calls.

The API server never runs containers; for `kubectl logs`, `exec`, `port-forward`
and `top` it calls the kubelet of the pod's node, found at the Node's InternalIP
and `status.daemonEndpoints.kubeletEndpoint.Port`. Modules:

- `app`: routes (containerLogs, exec, portForward, stats/summary, healthz) and
  bearer-token authentication;
- `containers`: finding a pod's sandbox and containers by runtime labels;
- `streaming`: exec and port-forward over WebSocket;
- `stats`: the stats summary from the runtime and the machine.

Without --tls-cert-file the serving certificate is self-signed (`tinykube.pki`),
`<root-dir>/pki/kubelet.crt` and `kubelet.key`, made once and reused on restart.

`KubeletServer.run()` serves until cancelled (uvicorn with the wsproto backend).

Kubernetes counterpart: pkg/kubelet/server/server.go (ListenAndServeKubeletServer)
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from kubelet.server.app import ServerRuntime, create_app
from tinykube import pki

log = logging.getLogger(__name__)

DEFAULT_PORT = 10250


@dataclass(frozen=True)
class ServerConfig:
    """--address, --port, --tls-cert-file, --tls-private-key-file, --root-dir, and the
    token from --kubelet-api-token-file (None: only --anonymous-auth=true lets in)."""

    node_name: str
    address: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    root_dir: str = "/var/lib/kubelet"
    token: str | None = None
    anonymous_auth: bool = False
    node_ip: str = "127.0.0.1"


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
        app = create_app(self.runtime, self.config.node_name, self.config.token,
                         self.config.anonymous_auth)
        server = uvicorn.Server(uvicorn.Config(
            app, host=self.config.address, port=self.config.port, ssl_certfile=cert,
            ssl_keyfile=key, ws="wsproto", log_level="warning", lifespan="off",
            timeout_graceful_shutdown=1))
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
