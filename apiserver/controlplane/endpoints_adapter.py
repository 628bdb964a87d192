"""The Endpoints and the EndpointSlice of the `kubernetes` Service, written together.

`EndpointsAdapter.sync(ips)` makes `default/kubernetes` (Endpoints) and
`default/kubernetes` (EndpointSlice) list exactly `ips` on the API servers' port:

- the Endpoints carry `endpointslice.kubernetes.io/skip-mirror: "true"`, so the
  mirroring controller leaves them alone: the API server writes the slice itself;
- the slice is labelled `kubernetes.io/service-name: kubernetes` (and, as upstream,
  no managed-by label: the EndpointSlice controller only touches slices it manages),
  every endpoint ready; any other slice of the Service is deleted;
- an object is written only when its addresses, ports or labels differ, so N API
  servers agreeing on the set write nothing; a 409 (another API server wrote first)
  is retried on the fresh object.

Kubernetes counterpart: pkg/controlplane/reconcilers/endpointsadapter.go
"""

from __future__ import annotations

import logging
from typing import Any

from apiserver import deletion, errors
from apiserver.registry import Registry, RequestContext
from tinykube.api.discovery import SERVICE_NAME_LABEL, SKIP_MIRROR_LABEL

log = logging.getLogger(__name__)

Obj = dict[str, Any]
FIELD_MANAGER = "kube-apiserver"
RETRIES = 5


def endpoint_port(port: int) -> Obj:
    return {"name": "https", "port": port, "protocol": "TCP"}


def endpoints_body(name: str, namespace: str, ips: list[str], port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": namespace, "labels": {SKIP_MIRROR_LABEL: "true"}},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [endpoint_port(port)]}]
            if ips else []}


def slice_body(name: str, namespace: str, ips: list[str], port: int) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": namespace, "labels": {SERVICE_NAME_LABEL: name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
            "ports": [endpoint_port(port)]}


async def get_or_none(registry: Registry, namespace: str, name: str) -> Obj | None:
    """The stored object (read from etcd, not the cache), None when there is none."""
    try:
        return await registry.get(namespace, name)
    except errors.APIError as err:
        if err.code != 404:
            raise
        return None


def _differs(current: Obj, wanted: Obj, fields: tuple[str, ...]) -> bool:
    if (current["metadata"].get("labels") or {}) != wanted["metadata"]["labels"]:
        return True
    return any((current.get(f) or []) != wanted[f] for f in fields)


class EndpointsAdapter:
    """Reads and writes the Service's Endpoints and EndpointSlice through the registries."""

    def __init__(self, endpoints: Registry, slices: Registry, namespace: str, name: str) -> None:
        self.endpoints = endpoints
        self.slices = slices
        self.namespace = namespace
        self.name = name

    async def sync(self, ips: set[str], port: int) -> None:
        ordered = sorted(ips)
        await self._write(self.endpoints, endpoints_body(self.name, self.namespace, ordered, port),
                          ("subsets",))
        await self._write(self.slices, slice_body(self.name, self.namespace, ordered, port),
                          ("endpoints", "ports"))
        await self._delete_other_slices()

    async def _write(self, registry: Registry, wanted: Obj, fields: tuple[str, ...]) -> None:
        ctx = RequestContext(field_manager=FIELD_MANAGER)
        for _ in range(RETRIES):
            current = await get_or_none(registry, self.namespace, self.name)
            try:
                if current is None:
                    await registry.create(self.namespace, wanted, ctx)
                elif _differs(current, wanted, fields):
                    log.info("resetting endpoints of the master service kind=%s addresses=%s",
                             wanted["kind"], wanted.get("endpoints") or wanted.get("subsets"))
                    body = {**current, **{f: wanted[f] for f in fields},
                            "metadata": {**current["metadata"], "labels": wanted["metadata"]["labels"]}}
                    await registry.update(self.namespace, self.name, body, ctx)
                return
            except errors.APIError as err:
                if err.code != 409:  # AlreadyExists or Conflict: another API server wrote
                    raise
        raise errors.APIError(409, "Conflict", f"{wanted['kind']} {self.name}: too many conflicts")

    async def _delete_other_slices(self) -> None:
        for obj in self.slices.cache.snapshot():
            meta = obj["metadata"]
            if meta.get("namespace") != self.namespace or meta["name"] == self.name or \
                    (meta.get("labels") or {}).get(SERVICE_NAME_LABEL) != self.name:
                continue
            try:
                await deletion.delete(self.slices, self.namespace, meta["name"], {},
                                      RequestContext(field_manager=FIELD_MANAGER))
            except errors.APIError as err:
                if err.code != 404:
                    raise
