"""Describe a Node: roles, taints, conditions, addresses, capacity, and its pods.

The pods on the node come from a field-selected list (`spec.nodeName=<node>`),
with their resource requests and limits, as kubectl shows them.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/describe/describe.go (NodeDescriber)
"""

from __future__ import annotations

from typing import Any

from tinykube.api.resources import PODS, ResourceInfo
from tinykube.cli.describe.format import (
    PrefixWriter,
    age_since,
    format_time,
    write_object_meta,
)
from tinykube.client import APIStatusError, RESTClient

Obj = dict[str, Any]
assert PODS is not None
ROLE_PREFIX = "node-role.kubernetes.io/"


async def describe_node(client: RESTClient, info: ResourceInfo, node: Obj) -> PrefixWriter:
    w = PrefixWriter()
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    labels = meta.get("labels") or {}
    roles = sorted(key[len(ROLE_PREFIX):] for key in labels if key.startswith(ROLE_PREFIX))
    head = PrefixWriter()
    write_object_meta(head, node, namespaced=False)
    w.lines.append(head.lines[0])
    w.write(0, f"Roles:\t{','.join(roles) or '<none>'}")
    w.lines.extend(head.lines[1:])
    w.write(0, f"CreationTimestamp:\t{format_time(meta.get('creationTimestamp'))}")
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
              for t in spec.get("taints") or []]
    w.write(0, f"Taints:\t{taints[0] if taints else '<none>'}")
    for taint in taints[1:]:
        w.write(0, f"\t{taint}")
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}")
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:")
        w.write_header(1, "Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason",
                       "Message")
        for cond in conditions:
            w.write(1, f"{cond.get('type', '')} \t{cond.get('status', '')} \t"
                       f"{format_time(cond.get('lastHeartbeatTime'))} \t"
                       f"{format_time(cond.get('lastTransitionTime'))} \t"
                       f"{cond.get('reason', '')} \t{cond.get('message', '')}")
    addresses = status.get("addresses") or []
    w.write(0, "Addresses:" if addresses else "Addresses:\t<none>")
    for address in addresses:
        w.write(1, f"{address.get('type')}:\t{address.get('address')}")
    for key, title in (("capacity", "Capacity"), ("allocatable", "Allocatable")):
        if status.get(key):
            w.write(0, f"{title}:")
            for resource, quantity in sorted(status[key].items()):
                w.write(1, f"{resource}:\t{quantity}")
    info_block = status.get("nodeInfo") or {}
    if info_block:
        w.write(0, "System Info:")
        for key in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                    "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                    "operatingSystem", "architecture"):
            if key in info_block:
                label = {"machineID": "Machine ID", "systemUUID": "System UUID",
                         "bootID": "Boot ID"}.get(key) or _title(key)
                w.write(1, f"{label}:\t{info_block[key]}")
    w.write_optional(0, "PodCIDR", spec.get("podCIDR"))
    await _write_node_pods(client, w, meta.get("name", ""))
    return w


async def _write_node_pods(client: RESTClient, w: PrefixWriter, node_name: str) -> None:
    try:
        pods, _ = await client.list(PODS, None, field_selector=f"spec.nodeName={node_name}")
    except APIStatusError:
        return
    pods = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)")
    if not pods:
        return
    w.write_header(1, "Namespace", "Name", "CPU Requests", "CPU Limits", "Memory Requests",
                   "Memory Limits", "Age")
    for pod in pods:
        totals: dict[str, list[str]] = {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    value = (resources.get(kind) or {}).get(resource)
                    if value:
                        totals.setdefault(f"{resource}-{kind}", []).append(str(value))
        cells = ["+".join(totals.get(key, [])) or "0 (0%)" for key in
                 ("cpu-requests", "cpu-limits", "memory-requests", "memory-limits")]
        meta = pod["metadata"]
        w.write(1, f"{meta.get('namespace')}\t{meta.get('name')}\t" + "\t".join(cells)
                + f"\t{age_since(meta.get('creationTimestamp'))}")


def _title(camel: str) -> str:
    words, current = [], ""
    for char in camel:
        if char.isupper() and current:
            words.append(current)
            current = ""
        current += char
    words.append(current)
    return " ".join(word[0].upper() + word[1:] for word in words)

