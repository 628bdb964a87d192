"""The compose cluster's Docker network: a fixed subnet, chosen once and kept.

Load balancer addresses must outlive `tinykube down` and `up` (a Service keeps its
external IP for its life), and Docker only honours a fixed container address on a
network whose subnet was given explicitly. So the first `up` picks a /24 that no
other Docker network and no route of this host uses, stores it in
var/<project>/subnet, and every later compose command passes it to
docker-compose.yml (`TINYKUBE_SUBNET`, `TINYKUBE_IP_RANGE`):

    172.30.N.0/24     the network
    172.30.N.0/25     what Docker hands out (node containers, the control plane)
    172.30.N.128/25   load balancers, each asking for its Service's address

Kubernetes counterpart: sigs.k8s.io/kind/pkg/cluster/internal/providers/docker/network.go
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx

Network = ipaddress.IPv4Network


def candidates() -> Iterator[Network]:
    """172.30.0.0/24 … 172.31.255.0/24: private space Docker's default pools do not start in."""
    for second in (30, 31):
        for third in range(256):
            yield ipaddress.IPv4Network(f"172.{second}.{third}.0/24")


def host_routes(path: str = "/proc/net/route") -> list[Network]:
    """The IPv4 destinations of this host's routes (default route left out)."""
    routes = []
    try:
        lines = Path(path).read_text().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or fields[1] == "00000000":
            continue
        destination = socket.inet_ntoa(struct.pack("<I", int(fields[1], 16)))
        mask = socket.inet_ntoa(struct.pack("<I", int(fields[7], 16)))
        routes.append(ipaddress.IPv4Network(f"{destination}/{mask}", strict=False))
    return routes


def docker_subnets(client: httpx.Client, except_network: str) -> list[Network]:
    """Subnets of the engine's networks other than `except_network`."""
    found = client.get("/networks")
    found.raise_for_status()
    subnets = []
    for network in found.json():
        if network.get("Name") == except_network:
            continue
        for config in (network.get("IPAM") or {}).get("Config") or []:
            try:
                parsed = ipaddress.ip_network(config.get("Subnet", ""), strict=False)
            except ValueError:
                continue
            if isinstance(parsed, ipaddress.IPv4Network):
                subnets.append(parsed)
    return subnets


def choose_subnet(saved: Network | None, in_use: Iterable[Network]) -> Network:
    """The saved subnet while nothing else overlaps it, else the first free candidate."""
    used = list(in_use)
    if saved is not None and not any(saved.overlaps(u) for u in used):
        return saved
    for candidate in candidates():
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise RuntimeError("no free /24 in 172.30.0.0/15 for the cluster network")


def compose_environment(subnet: Network) -> dict[str, str]:
    """What docker-compose.yml reads: the subnet and the half Docker may hand out."""
    lower = next(subnet.subnets(new_prefix=subnet.prefixlen + 1))
    return {"TINYKUBE_SUBNET": str(subnet), "TINYKUBE_IP_RANGE": str(lower)}


def load_saved(path: Path) -> Network | None:
    try:
        return ipaddress.IPv4Network(path.read_text().strip())
    except (OSError, ValueError):
        return None
