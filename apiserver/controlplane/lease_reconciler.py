"""The lease endpoint reconciler: the `kubernetes` Service lists the live API servers.

Every API server holds a Lease `kube-system/apiserver-endpoint-<its address>`
(holderIdentity: the address, leaseDurationSeconds: the TTL) and renews it on each
`reconcile_endpoints()`. An address counts as live while its Lease's
`renewTime + leaseDurationSeconds` is in the future; the reconciler then makes the
Endpoints and EndpointSlice `default/kubernetes` list exactly the live addresses
(always including its own), and deletes the Leases that expired, guarded by their
resourceVersion so a renewal that lands meanwhile is never lost. A killed API server
stops renewing, and the next survivor to reconcile after its TTL removes it.

`remove_endpoints()` (on a graceful stop) deletes the own Lease and writes the set
without the own address, so a planned shutdown is seen at once.

Kubernetes counterpart: pkg/controlplane/reconcilers/lease.go (upstream keeps the
leases as TTL keys under /masterleases/ in etcd; here they are Lease objects, so
`kubectl get leases -n kube-system` shows them and expiry is judged by renewTime)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from apiserver import deletion, errors
from apiserver.controlplane.endpoints_adapter import FIELD_MANAGER, EndpointsAdapter
from apiserver.registry import Clock, Registry, RequestContext
from tinykube.api.meta import format_rfc3339, parse_rfc3339

log = logging.getLogger(__name__)

Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-system"
LEASE_PREFIX = "apiserver-endpoint-"
LEASE_LABEL = "apiserver.tinykube.io/endpoint-lease"


def lease_name(ip: str) -> str:
    return f"{LEASE_PREFIX}{ip}"


def lease_expiry(lease: Obj) -> datetime | None:
    spec = lease.get("spec") or {}
    renewed = spec.get("renewTime")
    if not renewed or spec.get("leaseDurationSeconds") is None:
        return None
    return parse_rfc3339(renewed) + timedelta(seconds=int(spec["leaseDurationSeconds"]))


class LeaseEndpointReconciler:
    """- each call renews this server's Lease before it reads the others;
    - the written set is the unexpired Leases' holders plus this server's address;
    - an expired Lease is deleted only at the resourceVersion it was judged at."""

    def __init__(self, leases: Registry, adapter: EndpointsAdapter, ttl_seconds: int,
                 clock: Clock) -> None:
        self.leases = leases
        self.adapter = adapter
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    async def reconcile_endpoints(self, ip: str, port: int) -> None:
        await self._renew_lease(ip)
        live = {ip} | await self._live_addresses(exclude=None)
        await self.adapter.sync(live, port)

    async def remove_endpoints(self, ip: str, port: int) -> None:
        try:
            await deletion.delete(self.leases, LEASE_NAMESPACE, lease_name(ip), {},
                                  RequestContext(field_manager=FIELD_MANAGER))
        except errors.APIError as err:
            if err.code != 404:
                raise
        await self.adapter.sync(await self._live_addresses(exclude=ip), port)

    async def _renew_lease(self, ip: str) -> None:
        now = format_rfc3339(self.clock(), micro=True)
        spec = {"holderIdentity": ip, "leaseDurationSeconds": self.ttl_seconds, "renewTime": now}
        ctx = RequestContext(field_manager=FIELD_MANAGER)
        name = lease_name(ip)
        try:
            await self.leases.guaranteed_update(
                LEASE_NAMESPACE, name, lambda current: {**current, "spec": {**current.get("spec", {}),
                                                                           **spec}}, ctx)
            return
        except errors.APIError as err:
            if err.code != 404:
                raise
        try:
            await self.leases.create(LEASE_NAMESPACE, {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "labels": {LEASE_LABEL: "true"}},
                "spec": {**spec, "acquireTime": now}}, ctx)
        except errors.APIError as err:
            if err.code != 409:  # the same address on two servers: both renew one Lease
                raise

    async def _live_addresses(self, exclude: str | None) -> set[str]:
        """Holders of unexpired Leases, read from etcd (not the cache: a Lease another
        server renewed a moment ago must count); expired Leases are deleted."""
        stored, _ = await self.leases.storage.list(self.leases.key(LEASE_NAMESPACE, LEASE_PREFIX))
        now = self.clock()
        live: set[str] = set()
        for lease in stored:
            holder = (lease.get("spec") or {}).get("holderIdentity") or ""
            expiry = lease_expiry(lease)
            if expiry is not None and expiry > now:
                if holder and holder != exclude:
                    live.add(holder)
                continue
            meta = lease["metadata"]
            log.info("master lease expired address=%s", holder)
            try:
                await deletion.delete(self.leases, LEASE_NAMESPACE, meta["name"],
                                      {"preconditions": {"resourceVersion": meta["resourceVersion"]}},
                                      RequestContext(field_manager=FIELD_MANAGER))
            except errors.APIError as err:
                if err.code not in (404, 409):  # gone already, or renewed meanwhile
                    raise
        return live
