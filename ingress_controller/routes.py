"""The routing table of the Ingress controller, computed from Ingresses, Services and
Endpoints (a pure function, rebuilt whole on every change and swapped in at once, so
a request in flight keeps the route it started with).

Matching, as networking.k8s.io/v1 says:

- a rule's `host` matches the request's Host exactly, or as a wildcard
  (`*.example.com` matches one label: `a.example.com`, not `example.com`); a rule
  without a host matches every host;
- among the paths of the matching rules the longest match wins; `Exact` beats
  `Prefix` at equal length; `Prefix` matches whole path elements (`/api` matches
  `/api` and `/api/x`, not `/apix`); `ImplementationSpecific` is treated as Prefix;
- nothing matches: the Ingress's `defaultBackend`, else 404.

A backend is a Service port; the controller sends to that Service's ready endpoints
directly (not through the ClusterIP), round robin.

Kubernetes counterpart: the Ingress spec (k8s.io/api/networking/v1 types.go);
ingress-nginx's internal/ingress/controller/controller.go (getBackendServers)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tinykube.api.core import Endpoints, Service
from tinykube.api.other import Ingress, IngressBackend, IngressSpec, ServiceBackendPort

CONTROLLER_NAME = "tinykube.io/ingress-controller"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


@dataclass
class Backend:
    """A Service port and its ready endpoints (`ip:port`), handed out round robin."""

    service: str  # "<namespace>/<name>:<port>"
    endpoints: list[tuple[str, int]]
    _turn: Any = field(default=None, repr=False, compare=False)

    def next_endpoint(self) -> tuple[str, int] | None:
        if not self.endpoints:
            return None
        if self._turn is None:
            self._turn = itertools.cycle(range(len(self.endpoints)))
        return self.endpoints[next(self._turn) % len(self.endpoints)]


@dataclass(frozen=True)
class Route:
    host: str  # "" = any host
    path: str
    path_type: str  # Exact | Prefix
    backend_key: str
    ingress: str  # "<namespace>/<name>", for logs


@dataclass
class RoutingTable:
    routes: list[Route] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)  # default backends, first one wins
    backends: dict[str, Backend] = field(default_factory=dict)
    tls: dict[str, tuple[str, str]] = field(default_factory=dict)  # host -> (namespace, secret)

    def match(self, host: str, path: str) -> Backend | None:
        host = host.split(":")[0].lower()
        best: tuple[int, int, Route] | None = None
        for route in self.routes:
            if not host_matches(route.host, host) or not path_matches(route, path):
                continue
            rank = (len(route.path), 1 if route.path_type == "Exact" else 0)
            if best is None or rank > best[:2]:
                best = (*rank, route)
        key = best[2].backend_key if best else (self.defaults[0] if self.defaults else None)
        return self.backends.get(key) if key else None


def host_matches(rule_host: str, host: str) -> bool:
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        suffix = rule_host[1:]
        return host.endswith(suffix) and "." not in host[: -len(suffix)] and len(host) > len(suffix)
    return rule_host == host


def path_matches(route: Route, path: str) -> bool:
    path = path.split("?")[0] or "/"
    if route.path_type == "Exact":
        return path == route.path
    prefix = route.path.rstrip("/")
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def ingress_class_of(ingress: Ingress) -> str | None:
    return ((ingress.spec.ingress_class_name if ingress.spec else None)
            or (ingress.metadata.annotations or {}).get("kubernetes.io/ingress.class"))


def ours(ingress: Ingress, class_name: str, is_default: bool) -> bool:
    """An Ingress is this controller's if it names our class, or names none and we are default."""
    named = ingress_class_of(ingress)
    return named == class_name or (named is None and is_default)


def build_table(ingresses: Iterable[Ingress], services: Iterable[Service], endpoints: Iterable[Endpoints],
                class_name: str, is_default: bool) -> RoutingTable:
    services_by_key = {(s.metadata.namespace, s.metadata.name): s for s in services}
    endpoints_by_key = {(e.metadata.namespace, e.metadata.name): e for e in endpoints}
    table = RoutingTable()

    def backend_key(namespace: str, backend: IngressBackend) -> str | None:
        if backend.service is None or not backend.service.name:
            return None
        name, port = backend.service.name, backend.service.port or ServiceBackendPort()
        key = f"{namespace}/{name}:{port.number or port.name}"
        if key not in table.backends:
            table.backends[key] = Backend(key, ready_endpoints(services_by_key.get((namespace, name)),
                                                               endpoints_by_key.get((namespace, name)), port))
        return key

    for ingress in sorted(ingresses, key=lambda i: (i.metadata.creation_timestamp or "", i.metadata.namespace or "",
                                                    i.metadata.name or "")):
        if not ours(ingress, class_name, is_default) or ingress.metadata.deletion_timestamp:
            continue
        namespace, spec = ingress.metadata.namespace or "", ingress.spec or IngressSpec()
        label = f"{namespace}/{ingress.metadata.name}"
        if spec.default_backend:
            key = backend_key(namespace, spec.default_backend)
            if key:
                table.defaults.append(key)
        for rule in spec.rules or []:
            for path in rule.http.paths if rule.http else []:
                key = backend_key(namespace, path.backend)
                if key is None:
                    continue
                path_type = "Exact" if path.path_type == "Exact" else "Prefix"
                table.routes.append(Route((rule.host or "").lower(), path.path or "/", path_type, key, label))
        for tls in spec.tls or []:
            for host in tls.hosts or []:
                if tls.secret_name:
                    table.tls.setdefault(host.lower(), (namespace, tls.secret_name))
    return table


def ready_endpoints(service: Service | None, endpoints: Endpoints | None,
                    port: ServiceBackendPort) -> list[tuple[str, int]]:
    """The ready `ip:targetPort`s behind one Service port (by number or name)."""
    if service is None or endpoints is None:
        return []
    service_port = next((p for p in (service.spec.ports if service.spec else None) or []
                         if (port.number and p.port == port.number) or (port.name and p.name == port.name)), None)
    if service_port is None:
        return []
    found = []
    for subset in endpoints.subsets or []:
        number = next((p.port for p in subset.ports or [] if (p.name or "") == (service_port.name or "")), None)
        if number is None:
            continue
        found += [(a.ip, number) for a in subset.addresses or []]
    return sorted(found)
