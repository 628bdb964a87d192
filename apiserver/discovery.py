"""Discovery: /version, /api, /apis, per-group documents and OpenAPI v3.

kubectl learns everything it knows about the server here. It asks for the
aggregated form (`apidiscovery.k8s.io/v2`, or v2beta1 for kubectl <= 1.29) and
only accepts it when the response's Content-Type echoes that exact media type;
otherwise it falls back to the legacy documents (`APIVersions`, `APIGroupList`,
`APIResourceList`), which are served too.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/endpoints/discovery/
(aggregated/handler.go, legacy.go, version.go)
"""

from __future__ import annotations

import json
import platform
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from apiserver import errors
from apiserver.flow import routes as flow
from apiserver.review_groups import REVIEW_GROUPS
from apiserver.proxy import metrics
from apiserver.openapi import document_hash, openapi_v3_document, openapi_v3_root
from tinykube.api.resources import INDEX, ResourceInfo

KUBERNETES_MINOR = "32"
GIT_VERSION = f"v1.{KUBERNETES_MINOR}.0+tinykube"

_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
# Groups served by their own routes rather than registries: (group, version) -> module
# with aggregated_group(), legacy_group() and resource_list().
_OWN_ROUTES: dict[str, Any] = {metrics.GROUP: metrics, flow.GROUP: flow}
_OWN_VERSIONS = {(metrics.GROUP, metrics.VERSION), (flow.GROUP, flow.VERSION)}
# The create-only review groups (apiserver/reviews.py).
for _reviews in REVIEW_GROUPS:
    _OWN_ROUTES[_reviews.group] = _reviews
    _OWN_VERSIONS.add((_reviews.group, _reviews.version))


def version_info() -> dict[str, Any]:
    return {
        "major": "1", "minor": KUBERNETES_MINOR, "gitVersion": GIT_VERSION,
        "gitCommit": "tinykube", "gitTreeState": "clean", "buildDate": "2026-11-26T00:00:00Z",
        "goVersion": f"python{platform.python_version()}", "compiler": "cpython",
        "platform": f"{platform.system().lower()}/{platform.machine()}",
    }


def _aggregated_version(request: Request) -> str | None:
    """Which aggregated discovery version the client accepts, in its order."""
    for part in request.headers.get("accept", "").split(","):
        if "g=apidiscovery.k8s.io" in part and "as=APIGroupDiscoveryList" in part:
            for version in ("v2", "v2beta1"):
                if f"v={version}" in part.replace(" ", "").split(";"):
                    return version
    return None


def _resource_entry(info: ResourceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": info.plural,
        "responseKind": {"group": info.group, "version": info.version, "kind": info.kind},
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    subs = []
    for sub in info.subresources:
        kind, group, version, verbs = _subresource_kind(info, sub)
        subs.append({"subresource": sub, "responseKind": {"group": group, "version": version,
                                                          "kind": kind}, "verbs": verbs})
    if subs:
        entry["subresources"] = subs
    return entry


def _subresource_kind(info: ResourceInfo, sub: str) -> tuple[str, str, str, list[str]]:
    if sub == "scale":
        return "Scale", "autoscaling", "v1", ["get", "patch", "update"]
    if sub == "binding":
        return "Binding", "", "v1", ["create"]
    if sub == "eviction":
        return "Eviction", "policy", "v1", ["create"]
    if sub == "token":
        return "TokenRequest", "authentication.k8s.io", "v1", ["create"]
    if sub in ("log", "exec", "portforward"):
        return {"log": "Pod", "exec": "PodExecOptions", "portforward": "PodPortForwardOptions"}[sub], \
            "", "v1", ["get"] if sub == "log" else ["create", "get"]
    return info.kind, info.group, info.version, ["get", "patch", "update"]


def _group_discovery(group: str) -> dict[str, Any]:
    if group in _OWN_ROUTES:  # the kubelet proxy, the flow log: not registries
        return _OWN_ROUTES[group].aggregated_group()  # type: ignore[no-any-return]
    versions = []
    for g, version in INDEX.group_versions():
        if g != group:
            continue
        versions.append({
            "version": version,
            "resources": [_resource_entry(i) for i in INDEX.resources
                          if i.group == group and i.version == version],
            "freshness": "Current",
        })
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


def _aggregated_response(version: str, groups: list[str]) -> Response:
    body = {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": [_group_discovery(g) for g in groups]}
    return Response(json.dumps(body), media_type=None,
                    headers={"Content-Type": _AGGREGATED.format(version=version)})


def _json(body: Any) -> Response:
    return Response(json.dumps(body), media_type="application/json")


def api_root(request: Request) -> Response:
    """GET /api: the core group."""
    aggregated = _aggregated_version(request)
    if aggregated:
        return _aggregated_response(aggregated, [""])
    return _json({"kind": "APIVersions", "versions": ["v1"],
                  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                  "serverAddress": request.url.netloc}]})


def apis_root(request: Request) -> Response:
    """GET /apis: every named group."""
    groups = []
    for group, _ in INDEX.group_versions():
        if group and group not in groups:
            groups.append(group)
    groups.extend(_OWN_ROUTES)
    aggregated = _aggregated_version(request)
    if aggregated:
        return _aggregated_response(aggregated, groups)
    return _json({"kind": "APIGroupList", "apiVersion": "v1",
                  "groups": [_legacy_group(g) for g in groups]})


def _legacy_group(group: str) -> dict[str, Any]:
    if group in _OWN_ROUTES:
        return _OWN_ROUTES[group].legacy_group()  # type: ignore[no-any-return]
    versions = [{"groupVersion": f"{group}/{v}", "version": v}
                for g, v in INDEX.group_versions() if g == group]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def group_document(group: str) -> Response:
    if group not in _OWN_ROUTES and not any(g == group for g, _ in INDEX.group_versions()):
        raise errors.route_not_found()
    return _json({"kind": "APIGroup", "apiVersion": "v1", **_legacy_group(group)})


def resource_list(group: str, version: str) -> Response:
    """GET /api/v1 or /apis/{group}/{version}: the legacy APIResourceList."""
    if (group, version) in _OWN_VERSIONS:
        return _json(_OWN_ROUTES[group].resource_list())
    infos = [i for i in INDEX.resources if i.group == group and i.version == version]
    if not infos:
        raise errors.route_not_found()
    resources = []
    for info in infos:
        resources.append({
            "name": info.plural, "singularName": info.singular, "namespaced": info.namespaced,
            "kind": info.kind, "verbs": list(info.verbs),
            **({"shortNames": list(info.short_names)} if info.short_names else {}),
            **({"categories": list(info.categories)} if info.categories else {}),
        })
        for sub in info.subresources:
            kind, g, v, verbs = _subresource_kind(info, sub)
            resources.append({"name": f"{info.plural}/{sub}", "singularName": "",
                              "namespaced": info.namespaced, "kind": kind, "verbs": verbs,
                              **({"group": g, "version": v} if (g, v) != (group, version) else {})})
    return _json({"kind": "APIResourceList", "apiVersion": "v1",
                  "groupVersion": infos[0].group_version, "resources": resources})


def openapi_root() -> Response:
    return _json(openapi_v3_root())


def openapi_document(path: str) -> Response:
    """GET /openapi/v3/api/v1 or /openapi/v3/apis/{group}/{version}."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        raise errors.route_not_found()
    document = openapi_v3_document(group, version)
    if document is None:
        raise errors.route_not_found()
    # The URL carries the content hash, so clients may cache it for good.
    return Response(json.dumps(document), media_type="application/json", headers={
        "Cache-Control": "public, immutable", "ETag": f'"{document_hash(group, version)}"',
        "Expires": "Thu, 31 Dec 2099 23:59:59 GMT"})
