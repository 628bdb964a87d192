"""Object builders for controller unit tests; the fake client is `tinykube.testing.fake_client`."""

from __future__ import annotations

from typing import Any

from tinykube.testing.fake_client import Action, FakeClient

__all__ = ["Action", "FakeClient", "pod", "ready_condition", "replica_set"]

Obj = dict[str, Any]


# --- object builders ------------------------------------------------------------------------


def ready_condition(since: str = "2026-01-01T00:00:00Z") -> Obj:
    return {"type": "Ready", "status": "True", "lastTransitionTime": since}


def pod(name: str, labels: dict[str, str], *, owner: Obj | None = None, node: str | None = "node-1",
        phase: str = "Running", ready: bool = True, ready_since: str = "2026-01-01T00:00:00Z",
        created: str = "2026-01-01T00:00:00Z", restarts: int = 0, namespace: str = "default",
        deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels,
                 "resourceVersion": "1", "creationTimestamp": created}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec: Obj = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    status: Obj = {"phase": phase, "containerStatuses": [
        {"name": "c", "ready": ready, "restartCount": restarts, "image": "nginx", "imageID": ""}]}
    if ready:
        status["conditions"] = [ready_condition(ready_since)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def replica_set(name: str, replicas: int, labels: dict[str, str], *, generation: int = 1,
                namespace: str = "default", owner: Obj | None = None, annotations: dict[str, str] | None = None,
                status: Obj | None = None, created: str = "2026-01-01T00:00:00Z",
                template_labels: dict[str, str] | None = None, image: str = "nginx") -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "uid": f"uid-{name}", "resourceVersion": "1",
                 "generation": generation, "labels": dict(labels), "creationTimestamp": created}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(template_labels or labels)},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}},
            "status": status or {"replicas": 0, "observedGeneration": generation}}
