"""Cloud providers: where a LoadBalancer Service's address comes from.

`LoadBalancerProvider` is the interface a cloud implements (Kubernetes' cloudprovider
LoadBalancer: GetLoadBalancer / EnsureLoadBalancer / EnsureLoadBalancerDeleted); the
service controller calls it and writes what it returns into the Service's status.

`LocalDockerProvider` is the local cloud, in the spirit of kind's cloud provider: a
load balancer is a container on the cluster's Docker network, running
`python -m cloud_controller_manager.lbproxy`, which spreads TCP connections over every
node's NodePort. Its address on that network is the Service's external IP, and the
machine running the cluster reaches it directly. The container carries labels naming
the Service and a hash of its configuration, so a changed Service or node set gets a
new container and a deleted Service loses its own.

The provider speaks the Docker engine API over its unix socket with httpx.

Kubernetes counterpart: staging/src/k8s.io/cloud-provider/cloud.go (LoadBalancer),
sigs.k8s.io/cloud-provider-kind (a container per load balancer)
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tinykube.api.core import Service

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SERVICE_LABEL = "io.tinykube.load-balancer"  # "<namespace>/<name>"
CONFIG_LABEL = "io.tinykube.load-balancer-config"
NETWORK_LABEL = "io.tinykube.network"  # `tinykube down` removes the load balancers on its network


@dataclass(frozen=True)
class Backend:
    """Where the load balancer sends one service port: every node's NodePort."""

    port: int  # the service port the load balancer listens on
    protocol: str
    node_port: int
    node_ips: tuple[str, ...]


class LoadBalancerProvider(Protocol):
    async def ensure(self, service: Service, backends: list[Backend]) -> list[str]:
        """Make (or update) the load balancer; returns its ingress IPs."""
        ...

    async def delete(self, namespace: str, name: str) -> None:
        """Remove the load balancer of that Service, if any."""
        ...

    async def list(self) -> set[str]:
        """The "<namespace>/<name>" of every load balancer that exists."""
        ...


def config_hash(backends: list[Backend]) -> str:
    text = json.dumps([[b.port, b.protocol, b.node_port, list(b.node_ips)] for b in backends], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def proxy_args(backends: list[Backend]) -> list[str]:
    """`--listen PORT=IP:NODEPORT,IP:NODEPORT` per TCP port (lbproxy's command line)."""
    return [arg for b in backends if b.protocol == "TCP"
            for arg in ("--listen", f"{b.port}=" + ",".join(f"{ip}:{b.node_port}" for ip in b.node_ips))]


class LocalDockerProvider:
    def __init__(self, docker_socket: str, network: str, image: str) -> None:
        self.network = network
        self.image = image
        self.client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=docker_socket),
                                        base_url="http://docker", timeout=60.0)

    async def aclose(self) -> None:
        await self.client.aclose()

    def container_name(self, namespace: str, name: str) -> str:
        return f"{self.network}-lb-{namespace}-{name}"[:128]

    async def _find(self, namespace: str, name: str) -> Obj | None:
        filters = json.dumps({"label": [f"{SERVICE_LABEL}={namespace}/{name}", f"{NETWORK_LABEL}={self.network}"]})
        found = await self.client.get("/containers/json", params={"all": "1", "filters": filters})
        found.raise_for_status()
        return found.json()[0] if found.json() else None

    async def ensure(self, service: Service, backends: list[Backend]) -> list[str]:
        namespace, name = service.metadata.namespace or "", service.metadata.name or ""
        wanted = config_hash(backends)
        existing = await self._find(namespace, name)
        if existing is not None and existing["Labels"].get(CONFIG_LABEL) == wanted and existing["State"] == "running":
            return [self._ip(existing)]
        if existing is not None:
            await self._remove(existing["Id"])
        body = {"Image": self.image, "Cmd": ["python", "-m", "cloud_controller_manager.lbproxy", *proxy_args(backends)],
                "Labels": {SERVICE_LABEL: f"{namespace}/{name}", CONFIG_LABEL: wanted, NETWORK_LABEL: self.network},
                "HostConfig": {"NetworkMode": self.network, "RestartPolicy": {"Name": "unless-stopped"},
                               "Init": True}}
        created = await self.client.post("/containers/create", params={"name": self.container_name(namespace, name)},
                                         json=body)
        if created.status_code >= 400:
            raise RuntimeError(f"creating the load balancer container: {created.text}")
        started = await self.client.post(f"/containers/{created.json()['Id']}/start")
        if started.status_code >= 400:
            raise RuntimeError(f"starting the load balancer container: {started.text}")
        inspected = await self.client.get(f"/containers/{created.json()['Id']}/json")
        inspected.raise_for_status()
        networks = inspected.json()["NetworkSettings"]["Networks"]
        address = (networks.get(self.network) or next(iter(networks.values()), {})).get("IPAddress", "")
        log.info("load balancer ready service=%s/%s ip=%s backends=%s", namespace, name, address, proxy_args(backends))
        return [address] if address else []

    def _ip(self, summary: Obj) -> str:
        networks = (summary.get("NetworkSettings") or {}).get("Networks") or {}
        return str((networks.get(self.network) or next(iter(networks.values()), {})).get("IPAddress", ""))

    async def delete(self, namespace: str, name: str) -> None:
        existing = await self._find(namespace, name)
        if existing is not None:
            await self._remove(existing["Id"])
            log.info("load balancer removed service=%s/%s", namespace, name)

    async def _remove(self, container_id: str) -> None:
        removed = await self.client.delete(f"/containers/{container_id}", params={"force": "1"})
        if removed.status_code not in (204, 404):
            raise RuntimeError(f"removing the load balancer container: {removed.text}")

    async def list(self) -> set[str]:
        filters = json.dumps({"label": [SERVICE_LABEL, f"{NETWORK_LABEL}={self.network}"]})
        found = await self.client.get("/containers/json", params={"all": "1", "filters": filters})
        found.raise_for_status()
        return {c["Labels"][SERVICE_LABEL] for c in found.json()}
