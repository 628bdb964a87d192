"""Describe Services and Endpoints.

A Service shows its selector, type, cluster IPs, each port (with target and node
port) and the endpoints behind it, read from the Endpoints object of the same name.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (ServiceDescriber,
EndpointsDescriber)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import ENDPOINTS, ResourceInfo
from tinykube.cli.describe.format import PrefixWriter, write_map, write_object_meta
from tinykube.client import APIStatusError, RESTClient

Obj = dict[str, Any]
assert ENDPOINTS is not None


async def describe_service(client: RESTClient, info: ResourceInfo, svc: Obj) -> PrefixWriter:
    w = PrefixWriter()
    spec, status = svc.get("spec") or {}, svc.get("status") or {}
    write_object_meta(w, svc)
    write_map(w, 0, "Selector", spec.get("selector"))
    service_type = spec.get("type", "ClusterIP")
    w.write(0, f"Type:\t{service_type}")
    w.write_optional(0, "IP Family Policy", spec.get("ipFamilyPolicy"))
    w.write_optional(0, "IP Families", spec.get("ipFamilies"))
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}")
    w.write_optional(0, "IPs", spec.get("clusterIPs"))
    w.write_optional(0, "External IPs", spec.get("externalIPs"))
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        ips = ",".join(entry.get("ip") or entry.get("hostname", "") for entry in ingress)
        w.write(0, f"LoadBalancer Ingress:\t{ips}")
    if service_type == "ExternalName":
        w.write(0, f"External Name:\t{spec.get('externalName', '')}")
    endpoints = await _endpoints_for(client, svc)
    for port in spec.get("ports") or []:
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol", "TCP")
        w.write(0, f"Port:\t{name}\t{port.get('port')}/{protocol}")
        target = port.get("targetPort", port.get("port"))
        w.write(0, f"TargetPort:\t{target}/{protocol}")
        if port.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{port['nodePort']}/{protocol}")
        w.write(0, f"Endpoints:\t{_endpoints_text(endpoints, port.get('name') or '')}")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}")
    w.write_optional(0, "External Traffic Policy", spec.get("externalTrafficPolicy"))
    w.write_optional(0, "Internal Traffic Policy", spec.get("internalTrafficPolicy"))
    return w


async def _endpoints_for(client: RESTClient, svc: Obj) -> Obj | None:
    meta = svc.get("metadata") or {}
    try:
        return await client.get(ENDPOINTS, meta.get("name", ""), meta.get("namespace"))
    except APIStatusError:
        return None


def _endpoints_text(endpoints: Obj | None, port_name: str) -> str:
    """`10.0.0.5:8080,10.0.0.6:8080` for the ready addresses serving `port_name`."""
    found: list[str] = []
    for subset in (endpoints or {}).get("subsets") or []:
        for port in subset.get("ports") or []:
            if (port.get("name") or "") != port_name:
                continue
            found.extend(f"{address.get('ip')}:{port.get('port')}"
                         for address in subset.get("addresses") or [])
    if len(found) > 3:
        return ",".join(found[:3]) + f" + {len(found) - 3} more..."
    return ",".join(found) or "<none>"


async def describe_endpoints(client: RESTClient, info: ResourceInfo, ep: Obj) -> PrefixWriter:
    w = PrefixWriter()
    write_object_meta(w, ep)
    w.write(0, "Subsets:")
    for subset in ep.get("subsets") or []:
        ready = ",".join(a.get("ip", "") for a in subset.get("addresses") or [])
        not_ready = ",".join(a.get("ip", "") for a in subset.get("notReadyAddresses") or [])
        w.write(1, f"Addresses:\t{ready or '<none>'}")
        w.write(1, f"NotReadyAddresses:\t{not_ready or '<none>'}")
        ports = subset.get("ports") or []
        if not ports:
            w.write(1, "Ports: <none>")
            continue
        w.write(1, "Ports:")
        w.write_header(2, "Name", "Port", "Protocol")
        for port in ports:
            w.write(2, f"{port.get('name') or '<unset>'}\t{port.get('port')}\t"
                       f"{port.get('protocol', 'TCP')}")
        w.write(0, "")
    return w
