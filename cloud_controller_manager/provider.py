"""Cloud providers: where a LoadBalancer Service's address comes from.

`LoadBalancerProvider` is the interface a cloud implements (Kubernetes' cloudprovider
LoadBalancer: GetLoadBalancer / EnsureLoadBalancer / EnsureLoadBalancerDeleted); the
service controller calls it and writes what it returns into the Service's status.

`LocalDockerProvider` is the local cloud, in the spirit of kind's cloud provider: a
load balancer is a container on the cluster's Docker network, running
`python -m cloud_controller_manager.lbproxy`, which spreads TCP connections over every
node's NodePort. Its address on that network is the Service's external IP, and the
machine running the cluster reaches it directly. The address stays the Service's for
its life: a container replaced (nodes changed) or re-created (after `tinykube down` and
`up`, the Service's status still holds it) asks Docker for the same one, taken from the
part of the network's subnet Docker does not hand out to other containers. The container carries labels naming
the Service and a hash of its configuration, so a changed Service or node set gets a
new container and a deleted Service loses its own.

The provider speaks the Docker engine API over its unix socket with httpx.

Kubernetes counterpart: staging/src/k8s.io/cloud-provider/cloud.go (LoadBalancer),
sigs.k8s.io/cloud-provider-kind (a container per load balancer)
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
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


def free_load_balancer_ip(network: Obj, preferred: str | None) -> str | None:
    """An address for a load balancer on `network` (a Docker network inspect): `preferred`
    (the Service's current ingress IP) when it is still free, else the lowest free one.

    Addresses come from the part of the network's subnet outside its `IPRange` (the
    range Docker hands out to other containers, such as the nodes), so a load balancer's
    address is never taken by a restarted node. None when the network has no configured
    subnet (Docker then refuses fixed addresses): the engine picks one.
    """
    config = next((c for c in (network.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")), None)
    if config is None:
        return None
    subnet = ipaddress.ip_network(config["Subnet"])
    dynamic = ipaddress.ip_network(config["IPRange"]) if config.get("IPRange") else None
    if dynamic is None or subnet.version != 4:
        return None
    taken = {str(ipaddress.ip_interface(c["IPv4Address"]).ip)
             for c in (network.get("Containers") or {}).values() if c.get("IPv4Address")}
    if config.get("Gateway"):
        taken.add(config["Gateway"])
    candidates = [ip for ip in subnet.hosts() if ip not in dynamic]
    if preferred and any(str(ip) == preferred for ip in candidates) and preferred not in taken:
        return preferred
    return next((str(ip) for ip in candidates if str(ip) not in taken), None)


class LocalDockerProvider:
    def __init__(self, docker_socket: str, network: str, image: str) -> None:
        self.network = network
        self.image = image
        self.client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=docker_socket),
                                        base_url="http://docker", timeout=60.0)
        # Choosing a free address and taking it is one step: two Services never get one.
        self._allocating = asyncio.Lock()

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
        # The address stays with the Service: the one it has (in its status, or the
        # container's being replaced) is asked for again.
        preferred = self._ip(existing) if existing is not None else _ingress_ip(service)
        if existing is not None:
            await self._remove(existing["Id"])
        body: Obj = {
            "Image": self.image, "Cmd": ["python", "-m", "cloud_controller_manager.lbproxy", *proxy_args(backends)],
            "Labels": {SERVICE_LABEL: f"{namespace}/{name}", CONFIG_LABEL: wanted, NETWORK_LABEL: self.network},
            "HostConfig": {"NetworkMode": self.network, "RestartPolicy": {"Name": "unless-stopped"}, "Init": True}}
        async with self._allocating:
            network = await self.client.get(f"/networks/{self.network}")
            network.raise_for_status()
            requested = service.spec.load_balancer_ip if service.spec else None
            address = free_load_balancer_ip(network.json(), requested or preferred)
            if requested and address != requested:
                raise RuntimeError(f"loadBalancerIP {requested} is not available on network {self.network}: "
                                   f"it must be a free address outside the range Docker hands out")
            if address is not None:
                body["NetworkingConfig"] = {"EndpointsConfig": {self.network: {"IPAMConfig": {"IPv4Address": address}}}}
            created = await self.client.post("/containers/create",
                                             params={"name": self.container_name(namespace, name)}, json=body)
            if created.status_code >= 400:
                raise RuntimeError(f"creating the load balancer container: {created.text}")
            # The address is taken when the container starts: still under the lock.
            started = await self.client.post(f"/containers/{created.json()['Id']}/start")
            if started.status_code >= 400:
                await self._remove(created.json()["Id"])
                raise RuntimeError(f"starting the load balancer container: {started.text}")
        inspected = await self.client.get(f"/containers/{created.json()['Id']}/json")
        inspected.raise_for_status()
        networks = inspected.json()["NetworkSettings"]["Networks"]
        address = (networks.get(self.network) or next(iter(networks.values()), {})).get("IPAddress", "")
        log.info("load balancer ready service=%s/%s ip=%s backends=%s", namespace, name, address, proxy_args(backends))
        return [address] if address else []

    def _ip(self, summary: Obj) -> str:
        """The container's address on our network (a list or inspect document)."""
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


def _ingress_ip(service: Service) -> str | None:
    balancer = service.status.load_balancer if service.status else None
    return next((i.ip for i in (balancer.ingress if balancer else None) or [] if i.ip), None)
