"""Builders for scheduler unit tests: pods and nodes written wire-shaped (as in a
manifest) and parsed once into the models the typed informers hand the scheduler,
and NodeInfos."""

from __future__ import annotations

from typing import Any

from scheduler.types import NodeInfo, PodInfo
from tinykube.api.core import Node, Pod

Obj = dict[str, Any]


def make_pod(name: str = "p", **fields: Any) -> Pod:
    return Pod.from_dict(pod_dict(name, **fields))


def pod_dict(name: str = "p", *, cpu: str | None = None, memory: str | None = None, uid: str | None = None,
             host_port: int | None = None, node_selector: dict[str, str] | None = None,
             affinity: Obj | None = None, tolerations: list[Obj] | None = None,
             owner_uid: str | None = None, node_name: str | None = None, priority: int | None = None,
             namespace: str = "ns", scheduler_name: str = "default-scheduler") -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: Obj = {"name": "app", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port}]
    spec: Obj = {"containers": [container], "schedulerName": scheduler_name}
    for field, value in (("nodeSelector", node_selector), ("affinity", affinity),
                         ("tolerations", tolerations), ("nodeName", node_name), ("priority", priority)):
        if value is not None:
            spec[field] = value
    meta: Obj = {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}", "resourceVersion": "1"}
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                    "uid": owner_uid, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Pending"}}


def make_node(name: str = "n1", **fields: Any) -> Node:
    return Node.from_dict(node_dict(name, **fields))


def node_dict(name: str = "n1", *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
              labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
              unschedulable: bool = False) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": spec, "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def node_info(node: Node, *pods: Pod) -> NodeInfo:
    info = NodeInfo(node.metadata.name or "")
    info.set_node(node)
    for pod in pods:
        info.add_pod(PodInfo(pod))
    return info
