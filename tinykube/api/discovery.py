"""discovery.k8s.io/v1: EndpointSlice, the scalable successor of Endpoints.

One Service's endpoints are split over slices of at most `--max-endpoints-per-slice`
endpoints (100 by default), each slice holding endpoints that serve the same ports.
A slice names its Service in the `kubernetes.io/service-name` label and its writer in
`endpointslice.kubernetes.io/managed-by`. Each endpoint carries conditions instead of
the ready/not-ready split of Endpoints: `ready` (serving and not terminating),
`serving` (passing readiness, even while terminating) and `terminating`.

Kubernetes counterpart: staging/src/k8s.io/api/discovery/v1/types.go
"""

from __future__ import annotations

from tinykube.api.core import ObjectReference
from tinykube.api.meta import KubeModel, KubeObject

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
# The label the mirroring controller honours to leave an Endpoints alone.
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
ADDRESS_TYPES = ("IPv4", "IPv6", "FQDN")


class EndpointConditions(KubeModel):
    """None means unknown; consumers read an unknown `ready` as ready."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class Endpoint(KubeModel):
    addresses: list[str]
    conditions: EndpointConditions | None = None
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    node_name: str | None = None
    zone: str | None = None


class EndpointPort(KubeModel):
    """A port every endpoint of the slice serves; `port` None means all ports."""

    name: str | None = None
    protocol: str | None = None
    port: int | None = None
    app_protocol: str | None = None


class EndpointSlice(KubeObject):
    api_version: str = "discovery.k8s.io/v1"
    kind: str = "EndpointSlice"
    address_type: str = "IPv4"
    endpoints: list[Endpoint] | None = None
    ports: list[EndpointPort] | None = None


def endpoint_is_ready(endpoint: Endpoint) -> bool:
    """An unknown ready condition counts as ready, as kube-proxy reads it."""
    ready = endpoint.conditions.ready if endpoint.conditions else None
    return ready is None or ready


def endpoint_is_serving_terminating(endpoint: Endpoint) -> bool:
    """Still passing readiness while shutting down: a last resort for kube-proxy."""
    conditions = endpoint.conditions or EndpointConditions()
    return bool(conditions.serving) and bool(conditions.terminating)
