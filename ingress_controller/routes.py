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

Obj = dict[str, Any]
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


def ingress_class_of(ingress: Obj) -> str | None:
    return ((ingress.get("spec") or {}).get("ingressClassName")
            or ((ingress.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/ingress.class"))


def ours(ingress: Obj, class_name: str, is_default: bool) -> bool:
    """An Ingress is this controller's if it names our class, or names none and we are default."""
    named = ingress_class_of(ingress)
    return named == class_name or (named is None and is_default)


def build_table(ingresses: Iterable[Obj], services: Iterable[Obj], endpoints: Iterable[Obj],
                class_name: str, is_default: bool) -> RoutingTable:
    services_by_key = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services}
    endpoints_by_key = {(e["metadata"]["namespace"], e["metadata"]["name"]): e for e in endpoints}
    table = RoutingTable()

    def backend_key(namespace: str, backend: Obj) -> str | None:
        service_ref = backend.get("service") or {}
        name = service_ref.get("name")
        port = service_ref.get("port") or {}
        if not name:
            return None
        key = f"{namespace}/{name}:{port.get('number') or port.get('name')}"
        if key not in table.backends:
            table.backends[key] = Backend(key, ready_endpoints(services_by_key.get((namespace, name)),
                                                               endpoints_by_key.get((namespace, name)), port))
        return key

    for ingress in sorted(ingresses, key=lambda i: (i["metadata"].get("creationTimestamp") or "",
                                                    i["metadata"]["namespace"], i["metadata"]["name"])):
        if not ours(ingress, class_name, is_default) or ingress["metadata"].get("deletionTimestamp"):
            continue
        namespace, spec = ingress["metadata"]["namespace"], ingress.get("spec") or {}
        label = f"{namespace}/{ingress['metadata']['name']}"
        if spec.get("defaultBackend"):
            key = backend_key(namespace, spec["defaultBackend"])
            if key:
                table.defaults.append(key)
        for rule in spec.get("rules") or []:
            for path in ((rule.get("http") or {}).get("paths") or []):
                key = backend_key(namespace, path.get("backend") or {})
                if key is None:
                    continue
                path_type = "Exact" if path.get("pathType") == "Exact" else "Prefix"
                table.routes.append(Route((rule.get("host") or "").lower(), path.get("path") or "/", path_type,
                                          key, label))
        for tls in spec.get("tls") or []:
            for host in tls.get("hosts") or []:
                if tls.get("secretName"):
                    table.tls.setdefault(host.lower(), (namespace, tls["secretName"]))
    return table


def ready_endpoints(service: Obj | None, endpoints: Obj | None, port: Obj) -> list[tuple[str, int]]:
    """The ready `ip:targetPort`s behind one Service port (by number or name)."""
    if service is None or endpoints is None:
        return []
    service_port = next((p for p in (service.get("spec") or {}).get("ports") or []
                         if (port.get("number") and p.get("port") == port["number"])
                         or (port.get("name") and p.get("name") == port["name"])), None)
    if service_port is None:
        return []
    found = []
    for subset in endpoints.get("subsets") or []:
        number = next((p["port"] for p in subset.get("ports") or []
                       if (p.get("name") or "") == (service_port.get("name") or "")), None)
        if number is None:
            continue
        found += [(a["ip"], int(number)) for a in subset.get("addresses") or []]
    return sorted(found)
