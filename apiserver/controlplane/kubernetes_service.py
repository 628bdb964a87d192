"""The `kubernetes` Service in `default`, and the loop that keeps its endpoints.

Every API server runs `KubernetesServiceController`: at start and every
`reconcile_interval_seconds` it makes sure the Service exists (ClusterIP: the first
address of `--service-cluster-ip-range`, port 443 `https` to the secure port,
labels `component: apiserver`, `provider: kubernetes`, no selector; an edited port
or type is put back), then asks its endpoint reconciler to publish this server's
`--advertise-address`. With `--endpoint-reconciler-type=none` the Service is kept
but its endpoints are left to whoever writes them. A graceful stop removes this
server from the endpoints before the process exits.

Pods reach the API servers at `https://kubernetes.default.svc` (10.96.0.1:443)
through kube-proxy, like any Service.

Kubernetes counterpart: pkg/controlplane/controller/kubernetesservice/controller.go,
staging/src/k8s.io/apiserver/pkg/server/options/server_run_options.go (advertise address)
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

from apiserver import errors
from apiserver.allocator import first_service_ip
from apiserver.controlplane.endpoints_adapter import FIELD_MANAGER, EndpointsAdapter, get_or_none
from apiserver.controlplane.lease_reconciler import LeaseEndpointReconciler
from apiserver.registry import Clock, Registry, RequestContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SERVICE_NAMESPACE = "default"
SERVICE_NAME = "kubernetes"
SERVICE_PORT = 443
RECONCILER_TYPES = ("lease", "none")  # upstream also has the deprecated master-count
DEFAULT_LEASE_TTL_SECONDS = 15  # reconcilers.DefaultEndpointReconcilerTTL
DEFAULT_RECONCILE_INTERVAL_SECONDS = 5.0  # upstream: 10 s; a third of the TTL here


@dataclass(frozen=True)
class KubernetesServiceConfig:
    service_ip: str  # first_service_ip(--service-cluster-ip-range)
    secure_port: int  # the endpoints' port
    advertise_address: str  # this server's address in the endpoints
    reconciler_type: str = "lease"
    lease_ttl_seconds: int = DEFAULT_LEASE_TTL_SECONDS
    reconcile_interval_seconds: float = DEFAULT_RECONCILE_INTERVAL_SECONDS


def default_advertise_address(bind_address: str) -> str:
    """The bind address when it is a specific non-loopback one, else the address of
    the interface the host's default route leaves from (no packet is sent), else the
    address the host name resolves to."""
    bind = ipaddress.ip_address(bind_address)
    if not bind.is_unspecified and not bind.is_loopback:
        return bind_address
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def desired_service(config: KubernetesServiceConfig) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": SERVICE_NAME, "namespace": SERVICE_NAMESPACE,
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": config.service_ip, "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": SERVICE_PORT, "protocol": "TCP",
                                "targetPort": config.secure_port}]}}


def service_needs_update(current: Obj, wanted: Obj) -> bool:
    spec, want = current.get("spec") or {}, wanted["spec"]
    ports = [{k: p.get(k) for k in ("name", "port", "protocol", "targetPort")}
             for p in spec.get("ports") or []]
    return spec.get("type") != want["type"] or ports != want["ports"]


class KubernetesServiceController:
    """- the Service is created if absent, its ports and type put back if edited;
    - endpoints are reconciled once before `start` returns, then every interval;
    - an error in one round is logged and the next round tries again."""

    def __init__(self, services: Registry, endpoints: Registry, slices: Registry, leases: Registry,
                 config: KubernetesServiceConfig, clock: Clock) -> None:
        self.services = services
        self.config = config
        self.reconciler: LeaseEndpointReconciler | None = None
        if config.reconciler_type == "lease":
            adapter = EndpointsAdapter(endpoints, slices, SERVICE_NAMESPACE, SERVICE_NAME)
            self.reconciler = LeaseEndpointReconciler(leases, adapter, config.lease_ttl_seconds, clock)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._sync_once()
        self._task = asyncio.create_task(self._run(), name="kubernetes service")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.reconciler is not None:
            try:
                await self.reconciler.remove_endpoints(self.config.advertise_address,
                                                       self.config.secure_port)
            except Exception:  # etcd gone: the Lease expires on its own
                log.exception("could not remove this server from the kubernetes endpoints")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.reconcile_interval_seconds)
            await self._sync_once()

    async def _sync_once(self) -> None:
        try:
            await self.update_service()
            if self.reconciler is not None:
                await self.reconciler.reconcile_endpoints(self.config.advertise_address,
                                                          self.config.secure_port)
        except Exception:  # a storage hiccup: the next round tries again
            log.exception("kubernetes service reconcile failed")

    async def update_service(self) -> None:
        """CreateOrUpdateMasterServiceIfNeeded."""
        wanted = desired_service(self.config)
        ctx = RequestContext(field_manager=FIELD_MANAGER)
        current = await get_or_none(self.services, SERVICE_NAMESPACE, SERVICE_NAME)
        try:
            if current is None:
                await self.services.create(SERVICE_NAMESPACE, wanted, ctx)
                log.info("created the kubernetes service cluster_ip=%s", self.config.service_ip)
            elif service_needs_update(current, wanted):
                await self.services.guaranteed_update(
                    SERVICE_NAMESPACE, SERVICE_NAME,
                    lambda obj: {**obj, "spec": {**obj["spec"], "type": wanted["spec"]["type"],
                                                 "ports": wanted["spec"]["ports"]}}, ctx)
                log.info("put back the kubernetes service's ports")
        except errors.APIError as err:
            if err.code != 409:  # another API server created it first
                raise
