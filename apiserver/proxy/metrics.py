"""metrics.k8s.io/v1beta1 (what `kubectl top` reads) and `nodes/{name}/proxy/stats/summary`.

In Kubernetes, metrics-server scrapes every kubelet's `/stats/summary` and serves
NodeMetrics and PodMetrics through API aggregation. tinykube folds that into the
API server: each metrics request scrapes the relevant kubelets at that moment
(concurrently, with a short timeout; an unreachable kubelet just contributes no
metrics) and converts the summaries:

- NodeMetrics `usage`: node cpu usageNanoCores, memory workingSetBytes;
- PodMetrics `containers[].usage`: the same per container.

CPU is reported in nanocores ("1234n") and memory in KiB ("2048Ki"), as
metrics-server does; `window` is the kubelet's sampling window.

Kubernetes counterpart: sigs.k8s.io/metrics-server/pkg/api (node.go, pod.go),
pkg/storage (converting kubelet summaries), pkg/registry/core/node/rest/proxy.go
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from apiserver import errors, reading
from apiserver.proxy.kubelet_client import NODES, KubeletClient, node_location
from apiserver.server import APIServer
from tinykube.api.resources import PODS, ResourceInfo

log = logging.getLogger(__name__)

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
WINDOW = "10s"
SCRAPE_TIMEOUT_SECONDS = 5.0
# (plural, kind, singular) for discovery: kubectl top only needs them listed.
RESOURCES = (("nodes", "NodeMetrics", "nodemetrics"), ("pods", "PodMetrics", "podmetrics"))


def aggregated_group() -> dict[str, Any]:
    """The group's entry in aggregated discovery (apidiscovery.k8s.io/v2)."""
    return {"metadata": {"name": GROUP, "creationTimestamp": None}, "versions": [{
        "version": VERSION, "freshness": "Current",
        "resources": [{"resource": plural, "singularResource": singular,
                       "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                       "scope": "Cluster" if plural == "nodes" else "Namespaced",
                       "verbs": ["get", "list"]} for plural, kind, singular in RESOURCES]}]}


def legacy_group() -> dict[str, Any]:
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def resource_list() -> dict[str, Any]:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
            "resources": [{"name": plural, "singularName": "", "namespaced": plural == "pods",
                           "kind": kind, "verbs": ["get", "list"]}
                          for plural, kind, _ in RESOURCES]}


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(body), status_code, media_type="application/json")


def cpu_quantity(nano_cores: int) -> str:
    return f"{int(nano_cores)}n"


def memory_quantity(working_set_bytes: int) -> str:
    return f"{int(working_set_bytes) // 1024}Ki"


async def _scrape(kubelets: KubeletClient, node: dict[str, Any]) -> dict[str, Any] | None:
    try:
        location = node_location(node)
        response = await kubelets.http.get(location.url("/stats/summary"),
                                           timeout=SCRAPE_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]
    except (errors.APIError, httpx.HTTPError, ValueError) as err:
        log.info("cannot scrape kubelet node=%s err=%s", node["metadata"]["name"], err)
        return None


async def _list(server: APIServer, info: ResourceInfo, namespace: str | None,
                label_selector: str | None, field_selector: str | None = None) -> list[dict[str, Any]]:
    registry = server.registries[info]
    selection = reading.parse_selection(registry, namespace, label_selector, field_selector)
    items, _, _ = await reading.list_objects(registry, selection, None, None)
    return items


async def _summaries(server: APIServer, kubelets: KubeletClient,
                     nodes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    results = await asyncio.gather(*(_scrape(kubelets, n) for n in nodes))
    return [(n, s) for n, s in zip(nodes, results, strict=True) if s is not None]


def _node_metrics(node: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    usage = summary.get("node") or {}
    cpu, memory = usage.get("cpu") or {}, usage.get("memory") or {}
    return {"metadata": {"name": node["metadata"]["name"],
                         "labels": node["metadata"].get("labels") or {},
                         "creationTimestamp": cpu.get("time")},
            "timestamp": cpu.get("time"), "window": WINDOW,
            "usage": {"cpu": cpu_quantity(cpu.get("usageNanoCores", 0)),
                      "memory": memory_quantity(memory.get("workingSetBytes", 0))}}


def _pod_metrics(pod: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    meta = pod["metadata"]
    containers = [{"name": c["name"],
                   "usage": {"cpu": cpu_quantity((c.get("cpu") or {}).get("usageNanoCores", 0)),
                             "memory": memory_quantity((c.get("memory") or {}).get("workingSetBytes", 0))}}
                  for c in stats.get("containers") or []]
    return {"metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                         "labels": meta.get("labels") or {},
                         "creationTimestamp": (stats.get("cpu") or {}).get("time")},
            "timestamp": (stats.get("cpu") or {}).get("time"), "window": WINDOW,
            "containers": containers}


async def node_metrics(server: APIServer, kubelets: KubeletClient, request: Request,
                       name: str | None = None) -> Response:
    if name is not None:
        nodes = [await server.registries[NODES].get(None, name)]
    else:
        nodes = await _list(server, NODES, None, request.query_params.get("labelSelector"))
    items = [_node_metrics(n, s) for n, s in await _summaries(server, kubelets, nodes)]
    return _metrics_answer("NodeMetrics", "nodes", items, name)


async def pod_metrics(server: APIServer, kubelets: KubeletClient, request: Request,
                      namespace: str | None, name: str | None = None) -> Response:
    field_selector = f"metadata.name={name}" if name else request.query_params.get("fieldSelector")
    pods = await _list(server, PODS, namespace, request.query_params.get("labelSelector"),
                       field_selector)
    node_names = {(p.get("spec") or {}).get("nodeName") for p in pods} - {None, ""}
    nodes = [n for n in await _list(server, NODES, None, None) if n["metadata"]["name"] in node_names]
    stats: dict[tuple[str, str], dict[str, Any]] = {}
    for _, summary in await _summaries(server, kubelets, nodes):
        for entry in summary.get("pods") or []:
            ref = entry.get("podRef") or {}
            stats[(ref.get("namespace", ""), ref.get("name", ""))] = entry
    items = [_pod_metrics(p, stats[key]) for p in pods
             if (key := (p["metadata"].get("namespace", ""), p["metadata"]["name"])) in stats]
    return _metrics_answer("PodMetrics", "pods", items, name)


def _metrics_answer(kind: str, plural: str, items: list[dict[str, Any]], name: str | None) -> Response:
    """One object when a name was asked for (404 without metrics), else the list."""
    if name is None:
        return _json({"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items})
    if not items:
        raise errors.APIError(404, "NotFound", f'{kind.lower()}.metrics.k8s.io "{name}" not found',
                              {"name": name, "group": GROUP, "kind": plural})
    return _json({"kind": kind, "apiVersion": GROUP_VERSION, **items[0]})


async def node_proxy(server: APIServer, kubelets: KubeletClient, request: Request, name: str,
                     path: str) -> Response:
    """GET nodes/{name}/proxy/{path}: only the read-only stats endpoints are proxied."""
    if not path.startswith("stats/") and path not in ("stats", "healthz"):
        raise errors.APIError(403, "Forbidden", f"tinykube proxies only stats/ and healthz to the "
                                                f"kubelet, not {path!r}")
    location = await kubelets.locate(server, name)
    try:
        response = await kubelets.http.get(location.url(f"/{path}"), timeout=SCRAPE_TIMEOUT_SECONDS)
    except httpx.HTTPError as err:
        raise errors.APIError(503, "ServiceUnavailable", f"error trying to reach service: {err}") \
            from None
    return Response(response.content, response.status_code,
                    media_type=response.headers.get("content-type", "application/json"))
