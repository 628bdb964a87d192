"""Object builders for controller unit tests; the fake client is `tinykube.testing.fake_client`.

Builders return wire dicts (what a test writes down reads like a manifest); informer
caches hold models, so a test preloads them with `cache_add`, and hands handlers
`parsed(informer, obj)`, the object as the informer would have parsed it.
"""

from __future__ import annotations

from typing import Any

from tinykube.api.meta import KubeObject
from tinykube.client import SharedInformer, SharedInformerFactory
from tinykube.client.informer import model_parser
from tinykube.testing.fake_client import Action, FakeClient

__all__ = ["Action", "FakeClient", "cache_add", "parsed", "pod", "ready_condition", "replica_set",
           "typed_factory"]

Obj = dict[str, Any]


def typed_factory(client: FakeClient) -> SharedInformerFactory:
    """The factory the controller-manager builds: informers that parse into models."""
    return SharedInformerFactory(client, typed=True)  # type: ignore[arg-type]


def parsed(informer: SharedInformer, obj: Obj | KubeObject) -> Any:
    """`obj` as `informer` would hand it to its handlers (its kind's model)."""
    return obj if isinstance(obj, KubeObject) else model_parser(informer.info)(obj)


def cache_add(informer: SharedInformer, *objects: Obj | KubeObject) -> None:
    """Preload `informer`'s cache, parsing wire dicts as the informer does."""
    for obj in objects:
        informer.indexer.add(parsed(informer, obj))


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
