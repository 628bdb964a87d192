"""The node half of the kubelet: register the Node, then keep proving it is alive.

- **Registration**: create the Node with labels (`kubernetes.io/hostname`,
  `kubernetes.io/os`, `kubernetes.io/arch`, plus `--node-labels`), taints from
  `--register-with-taints`, and a status with capacity/allocatable (flags, or the
  machine: CPUs, MemTotal, `--max-pods`), addresses, nodeInfo and a Ready
  condition. If the Node exists (a restart), its labels are reconciled and the
  status rewritten.
- **Lease heartbeat**: every `lease_duration / 4` seconds (upstream: 40 s / 4 = 10 s)
  the Lease `kube-node-lease/<node>` gets a fresh renewTime. This is the cheap
  heartbeat the node lifecycle controller watches.
- **Status**: every `status_update_frequency` (10 s) the Node is read and its
  status patched when something changed (e.g. a controller marked it Unknown) or
  `status_report_frequency` (5 min) has passed, with fresh heartbeat times.

Allocatable is capacity minus `--kube-reserved` and `--system-reserved` (eviction
thresholds are not subtracted). The pod CIDR comes from the Node's spec.podCIDR
and is handed to the runtime (CRI UpdateRuntimeConfig) when it appears.

Kubernetes counterpart: pkg/kubelet/kubelet_node_status.go, pkg/kubelet/nodestatus/setters.go,
pkg/kubelet/nodelease/controller.go (component-helpers/apimachinery/lease)
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

import httpx

from kubelet.runtime import RuntimeService
from tinykube.api.meta import format_rfc3339
from tinykube.api.quantity import parse_quantity
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import AlreadyExists, APIStatusError, Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODES: ResourceInfo = INDEX.by_name("nodes")  # type: ignore[assignment]
LEASES: ResourceInfo = INDEX.by_kind("coordination.k8s.io/v1", "Lease")  # type: ignore[assignment]
NODE_LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "v1.32.0+tinykube"


class NodeClient(Protocol):
    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj: ...

    async def create(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> Obj: ...

    async def update(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> Obj: ...

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Obj: ...


def subtract_reserved(capacity: dict[str, str], *reserved: dict[str, str]) -> dict[str, str]:
    """capacity - reserved per resource: cpu in millicores ("1900m"), others in units."""
    allocatable = dict(capacity)
    for name in ("cpu", "memory"):
        left = parse_quantity(capacity.get(name, "0")) - sum(parse_quantity(r.get(name, "0")) for r in reserved)
        left = max(left, Decimal(0))
        allocatable[name] = f"{int(left * 1000)}m" if name == "cpu" else str(int(left))
    return allocatable


def machine_capacity(max_pods: int, root_dir: str = "/") -> dict[str, str]:
    memory_kib = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        disk = os.statvfs(root_dir if os.path.isdir(root_dir) else "/")
        storage = disk.f_blocks * disk.f_frsize
    except OSError:
        storage = 0
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{memory_kib}Ki",
            "ephemeral-storage": str(storage), "pods": str(max_pods)}


@dataclass
class NodeConfig:
    name: str
    node_ip: str
    capacity: dict[str, str]
    allocatable: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Obj] = field(default_factory=list)
    lease_duration_seconds: int = 40
    status_update_frequency_seconds: float = 10.0
    status_report_frequency_seconds: float = 300.0
    kubelet_port: int = 10250  # the kubelet API, published in status.daemonEndpoints


class NodeStatusManager:
    """Registers one Node and keeps its Lease and status fresh.

    - `register_node` retries until the Node exists with our labels and status.
    - `renew_lease` never raises; a failed renewal is retried at the next tick.
    """

    def __init__(self, client: NodeClient, runtime: RuntimeService, config: NodeConfig, *,
                 clock: Clock = REAL_CLOCK, on_pod_cidr: Callable[[str], Any] | None = None) -> None:
        self.client, self.runtime, self.config, self.clock = client, runtime, config, clock
        self.pod_cidr = ""
        self.node_uid = ""
        self._lease: Obj | None = None
        self._last_report = -1e18
        self._on_pod_cidr = on_pod_cidr

    def labels(self) -> dict[str, str]:
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        return {"kubernetes.io/hostname": self.config.name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch, **self.config.labels}

    async def node_status(self, old: Obj | None = None) -> Obj:
        now = self._now()
        previous = {c.get("type"): c for c in (old or {}).get("conditions") or []}

        def condition(type_: str, status: str, reason: str, message: str) -> Obj:
            prior = previous.get(type_) or {}
            since = prior.get("lastTransitionTime") if prior.get("status") == status else None
            return {"type": type_, "status": status, "reason": reason, "message": message,
                    "lastHeartbeatTime": now, "lastTransitionTime": since or now}

        status: Obj = {
            "capacity": self.config.capacity, "allocatable": self.config.allocatable,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                          "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
            "addresses": [{"type": "InternalIP", "address": self.config.node_ip},
                          {"type": "Hostname", "address": self.config.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.config.kubelet_port}},
            "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": platform.release(),
                         "osImage": "tinykube", "containerRuntimeVersion": await self.runtime.version(),
                         "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                         "operatingSystem": "linux", "architecture": self.labels()["kubernetes.io/arch"]},
        }
        images = await self._images()
        if images is not None:
            status["images"] = images
        return status

    async def _images(self) -> list[Obj] | None:
        """The images present on the node (node.status.images), largest first as the
        kubelet reports them; None when the runtime has no image service."""
        list_images = getattr(self.runtime, "list_images", None)
        if list_images is None:
            return None
        try:
            images = await list_images()
        except Exception as err:  # the node still reports Ready; images are informational
            log.info("cannot list images err=%s", err)
            return None
        ordered = sorted(images, key=lambda image: image.size_bytes, reverse=True)[:50]
        return [{"names": [*image.repo_tags, image.id], "sizeBytes": image.size_bytes}
                for image in ordered]

    async def register_node(self) -> Obj:
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.config.name, "labels": self.labels()},
                "spec": {"taints": self.config.taints} if self.config.taints else {},
                "status": await self.node_status()}
        while True:
            try:
                try:
                    node = await self.client.create(NODES, body)
                    log.info("registered node node=%s", self.config.name)
                except AlreadyExists:
                    node = await self.client.patch(NODES, self.config.name, {"metadata": {"labels": self.labels()}},
                                                   patch_type="merge")
                    node = await self.update_node_status(node, force=True)
                    log.info("node already registered, status updated node=%s", self.config.name)
                self._last_report = self.clock.now()
                await self._observe(node)
                return node
            except (APIStatusError, httpx.HTTPError, OSError) as err:
                log.warning("registering node failed node=%s err=%s", self.config.name, err)
                await self.clock.sleep(1.0)

    async def update_node_status(self, node: Obj, force: bool = False) -> Obj:
        """Patch the status if it changed (or `force`); the freshest Node either way."""
        old = node.get("status") or {}
        new = await self.node_status(old)
        if not force and not _node_status_differs(old, new):
            return node
        node = await self.client.patch(NODES, self.config.name, {"status": new}, patch_type="merge",
                                       subresource="status")
        self._last_report = self.clock.now()
        return node

    async def status_loop(self) -> None:
        while True:
            await self.clock.sleep(self.config.status_update_frequency_seconds)
            try:
                node = await self.client.get(NODES, self.config.name)
                due = self.clock.now() - self._last_report >= self.config.status_report_frequency_seconds
                await self._observe(await self.update_node_status(node, force=due))
            except NotFound:
                log.warning("node object deleted, registering again node=%s", self.config.name)
                await self.register_node()
            except Exception as err:  # retried at the next tick
                log.warning("node status update failed node=%s err=%r", self.config.name, err)

    async def wait_for_pod_cidr(self, poll_seconds: float = 0.5, warn_every_seconds: float = 30.0) -> str:
        """Until the Node has a spec.podCIDR (the node IPAM controller gives one within
        moments of registration); the pod network cannot start before."""
        waited = 0.0
        while not self.pod_cidr:
            try:
                await self._observe(await self.client.get(NODES, self.config.name))
            except (APIStatusError, httpx.HTTPError, OSError) as err:
                log.warning("reading the node failed node=%s err=%s", self.config.name, err)
            if self.pod_cidr:
                break
            if waited and waited % warn_every_seconds < poll_seconds:
                log.warning("node has no spec.podCIDR yet after %.0fs: does the controller manager run "
                            "with --allocate-node-cidrs? node=%s", waited, self.config.name)
            await self.clock.sleep(poll_seconds)
            waited += poll_seconds
        return self.pod_cidr

    async def _observe(self, node: Obj) -> None:
        self.node_uid = str((node.get("metadata") or {}).get("uid") or self.node_uid)
        cidr = str((node.get("spec") or {}).get("podCIDR") or "")
        if cidr and cidr != self.pod_cidr:
            self.pod_cidr = cidr
            await self.runtime.update_runtime_config(cidr)
            if self._on_pod_cidr is not None:
                self._on_pod_cidr(cidr)

    # --- lease --------------------------------------------------------------------

    @property
    def lease_renew_interval_seconds(self) -> float:
        return self.config.lease_duration_seconds / 4

    async def lease_loop(self) -> None:
        while True:
            try:
                await self.renew_lease()
            except Exception as err:  # never let one bad answer end the heartbeat
                log.warning("lease renewal failed node=%s err=%r", self.config.name, err)
            await self.clock.sleep(self.lease_renew_interval_seconds)

    async def renew_lease(self) -> bool:
        spec = {"holderIdentity": self.config.name, "leaseDurationSeconds": self.config.lease_duration_seconds,
                "renewTime": self._now(micro=True)}
        try:
            if self._lease is None:
                try:
                    self._lease = await self.client.get(LEASES, self.config.name, NODE_LEASE_NAMESPACE)
                except NotFound:
                    self._lease = await self.client.create(LEASES, self._new_lease(spec), NODE_LEASE_NAMESPACE)
                    return True
            lease = {**self._lease, "spec": {**(self._lease.get("spec") or {}), **spec}}
            self._lease = await self.client.update(LEASES, lease, NODE_LEASE_NAMESPACE)
            return True
        except (Conflict, NotFound) as err:
            self._lease = None  # someone else wrote it: read it again next time
            log.info("lease renewal conflicted, re-reading node=%s err=%s", self.config.name, err.reason)
        except (APIStatusError, httpx.HTTPError, OSError) as err:
            log.warning("lease renewal failed node=%s err=%s", self.config.name, err)
        return False

    def _new_lease(self, spec: Obj) -> Obj:
        meta: Obj = {"name": self.config.name, "namespace": NODE_LEASE_NAMESPACE}
        if self.node_uid:  # deleting the Node garbage-collects its Lease
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.config.name,
                                        "uid": self.node_uid}]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}

    def _now(self, micro: bool = False) -> str:
        return format_rfc3339(datetime.fromtimestamp(self.clock.wall(), tz=timezone.utc), micro=micro)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.lease_loop())
            group.create_task(self.status_loop())


def _node_status_differs(old: Obj, new: Obj) -> bool:
    def summary(status: Obj) -> tuple[object, ...]:
        conditions = sorted((c.get("type"), c.get("status"), c.get("reason")) for c in status.get("conditions") or [])
        return (conditions, status.get("capacity"), status.get("allocatable"), status.get("addresses"),
                status.get("images"))
    return summary(old) != summary(new)
