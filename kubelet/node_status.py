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
  status written (PUT nodes/<name>/status) when something changed (e.g. a
  controller marked it Unknown) or `status_report_frequency` (5 min) has passed,
  with fresh heartbeat times; a conflict re-reads the Node and tries again, up to
  `NODE_STATUS_UPDATE_RETRY` times.

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
from typing import Any, Protocol, TypeVar

from kubelet.runtime import RuntimeService
from tinykube.api.core import (
    ContainerImage,
    DaemonEndpoint,
    Node,
    NodeAddress,
    NodeCondition,
    NodeDaemonEndpoints,
    NodeSpec,
    NodeStatus,
    NodeSystemInfo,
    Taint,
)
from tinykube.api.meta import KubeObject, ObjectMeta, OwnerReference, format_rfc3339
from tinykube.api.other import Lease, LeaseSpec
from tinykube.api.quantity import parse_quantity
from tinykube.api.registry import deep_copy
from tinykube.api.resources import NODES, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import AlreadyExists, ClientError, Conflict, NotFound

log = logging.getLogger(__name__)

NODE_LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "v1.32.0+tinykube"
NODE_STATUS_UPDATE_RETRY = 5
M = TypeVar("M", bound=KubeObject)


class NodeClient(Protocol):
    async def get_object(self, model: type[M], name: str, namespace: str | None = None) -> M: ...

    async def create_object(self, obj: M) -> M: ...

    async def update_object(self, obj: M) -> M: ...

    async def update_status(self, info: ResourceInfo, body: Any, namespace: str | None = None) -> Any: ...

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Any: ...


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
    taints: list[Taint] = field(default_factory=list)
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
        self._lease: Lease | None = None
        self._last_report = -1e18
        self._on_pod_cidr = on_pod_cidr

    def labels(self) -> dict[str, str]:
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        return {"kubernetes.io/hostname": self.config.name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch, **self.config.labels}

    async def node_status(self, old: NodeStatus | None = None) -> NodeStatus:
        """The status this kubelet reports: a copy of `old` with the kubelet's fields set."""
        now = self._now()
        previous = {c.type: c for c in (old.conditions if old else None) or []}

        def condition(type_: str, status: str, reason: str, message: str) -> NodeCondition:
            prior = previous.get(type_)
            since = prior.last_transition_time if prior is not None and prior.status == status else None
            return NodeCondition(type=type_, status=status, reason=reason, message=message,
                                 last_heartbeat_time=now, last_transition_time=since or now)

        status = deep_copy(old) if old is not None else NodeStatus()
        status.capacity, status.allocatable = dict(self.config.capacity), dict(self.config.allocatable)
        status.conditions = [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
        status.addresses = [NodeAddress(type="InternalIP", address=self.config.node_ip),
                            NodeAddress(type="Hostname", address=self.config.name)]
        status.daemon_endpoints = NodeDaemonEndpoints(kubelet_endpoint=DaemonEndpoint(port=self.config.kubelet_port))
        status.node_info = NodeSystemInfo(
            kernel_version=platform.release(), os_image="tinykube",
            container_runtime_version=await self.runtime.version(), kubelet_version=KUBELET_VERSION,
            kube_proxy_version=KUBELET_VERSION, operating_system="linux",
            architecture=self.labels()["kubernetes.io/arch"])
        images = await self._images()
        if images is not None:
            status.images = images
        return status

    async def _images(self) -> list[ContainerImage] | None:
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
        return [ContainerImage(names=[*image.repo_tags, image.id], size_bytes=image.size_bytes)
                for image in ordered]

    async def register_node(self) -> Node:
        node = Node(metadata=ObjectMeta(name=self.config.name, labels=self.labels()),
                    spec=NodeSpec(taints=list(self.config.taints)) if self.config.taints else NodeSpec(),
                    status=await self.node_status())
        while True:
            try:
                try:
                    registered = await self.client.create_object(node)
                    log.info("registered node node=%s", self.config.name)
                except AlreadyExists:
                    await self.client.patch(NODES, self.config.name, {"metadata": {"labels": self.labels()}},
                                            patch_type="merge")
                    registered = await self.update_node_status(force=True)
                    log.info("node already registered, status updated node=%s", self.config.name)
                self._last_report = self.clock.now()
                await self._observe(registered)
                return registered
            except (ClientError, OSError) as err:
                log.warning("registering node failed node=%s err=%s", self.config.name, err)
                await self.clock.sleep(1.0)

    async def update_node_status(self, force: bool = False) -> Node:
        """Read the Node and write its status if it changed (or `force`); the freshest Node."""
        for attempt in range(1, NODE_STATUS_UPDATE_RETRY + 1):
            node = await self.client.get_object(Node, self.config.name)
            new = await self.node_status(node.status)
            if not force and not _node_status_differs(node.status or NodeStatus(), new):
                return node
            updated = deep_copy(node)
            updated.status = new
            try:
                result = await self.client.update_status(NODES, updated)
            except Conflict:
                log.info("node status update conflicted node=%s attempt=%d", self.config.name, attempt)
                continue
            self._last_report = self.clock.now()
            return Node.from_dict(result) if isinstance(result, dict) else result
        raise Conflict(409, "Conflict", f"node {self.config.name}: status kept changing under us")

    async def status_loop(self) -> None:
        while True:
            await self.clock.sleep(self.config.status_update_frequency_seconds)
            try:
                due = self.clock.now() - self._last_report >= self.config.status_report_frequency_seconds
                await self._observe(await self.update_node_status(force=due))
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
                await self._observe(await self.client.get_object(Node, self.config.name))
            except (ClientError, OSError) as err:
                log.warning("reading the node failed node=%s err=%s", self.config.name, err)
            if self.pod_cidr:
                break
            if waited and waited % warn_every_seconds < poll_seconds:
                log.warning("node has no spec.podCIDR yet after %.0fs: does the controller manager run "
                            "with --allocate-node-cidrs? node=%s", waited, self.config.name)
            await self.clock.sleep(poll_seconds)
            waited += poll_seconds
        return self.pod_cidr

    async def _observe(self, node: Node) -> None:
        self.node_uid = node.metadata.uid or self.node_uid
        cidr = (node.spec.pod_cidr if node.spec else None) or ""
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
        spec = LeaseSpec(holder_identity=self.config.name, lease_duration_seconds=self.config.lease_duration_seconds,
                         renew_time=self._now(micro=True))
        try:
            if self._lease is None:
                try:
                    self._lease = await self.client.get_object(Lease, self.config.name, NODE_LEASE_NAMESPACE)
                except NotFound:
                    self._lease = await self.client.create_object(self._new_lease(spec))
                    return True
            lease = deep_copy(self._lease)
            lease.spec = (lease.spec or LeaseSpec()).model_copy(update=spec.model_dump(exclude_none=True))
            self._lease = await self.client.update_object(lease)
            return True
        except (Conflict, NotFound) as err:
            self._lease = None  # someone else wrote it: read it again next time
            log.info("lease renewal conflicted, re-reading node=%s err=%s", self.config.name, err.reason)
        except (ClientError, OSError) as err:
            log.warning("lease renewal failed node=%s err=%s", self.config.name, err)
        return False

    def _new_lease(self, spec: LeaseSpec) -> Lease:
        meta = ObjectMeta(name=self.config.name, namespace=NODE_LEASE_NAMESPACE)
        if self.node_uid:  # deleting the Node garbage-collects its Lease
            meta.owner_references = [OwnerReference(api_version="v1", kind="Node", name=self.config.name,
                                                    uid=self.node_uid)]
        return Lease(metadata=meta, spec=spec)

    def _now(self, micro: bool = False) -> str:
        return format_rfc3339(datetime.fromtimestamp(self.clock.wall(), tz=timezone.utc), micro=micro)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.lease_loop())
            group.create_task(self.status_loop())


def _node_status_differs(old: NodeStatus, new: NodeStatus) -> bool:
    def summary(status: NodeStatus) -> tuple[object, ...]:
        conditions = sorted((c.type, c.status, c.reason) for c in status.conditions or [])
        images = [image.to_dict() for image in status.images] if status.images is not None else None
        return (conditions, status.capacity, status.allocatable,
                [a.to_dict() for a in status.addresses or []], images)
    return summary(old) != summary(new)
