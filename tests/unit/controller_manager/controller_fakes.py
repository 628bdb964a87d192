"""Test doubles for controller unit tests (the sample-controller pattern).

`FakeClient` records every write as an `Action` and answers like an API server
would (names from generateName, uids, resourceVersions), so a test can preload
informer caches, call one sync, and assert on the recorded actions. Events go to
`client.events`, not `client.actions`.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from tinykube.api.resources import ResourceInfo
from tinykube.client import NotFound

Obj = dict[str, Any]


@dataclass
class Action:
    verb: str
    resource: str
    namespace: str | None
    name: str
    body: Any = None
    subresource: str | None = None


class FakeClient:
    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.events: list[Obj] = []
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.fail: dict[tuple[str, str], Exception] = {}  # (verb, resource) → error to raise
        self._counter = itertools.count(1)

    def seed(self, resource: str, obj: Obj) -> None:
        meta = obj["metadata"]
        self.objects[(resource, meta.get("namespace", ""), meta["name"])] = copy.deepcopy(obj)

    def _check(self, verb: str, info: ResourceInfo) -> None:
        error = self.fail.get((verb, info.plural))
        if error is not None:
            raise error

    def writes(self, resource: str | None = None, verb: str | None = None) -> list[Action]:
        return [a for a in self.actions if (resource is None or a.resource == resource)
                and (verb is None or a.verb == verb)]

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        found = self.objects.get((info.plural, namespace or "", name))
        if found is None:
            raise NotFound(404, "NotFound", f'{info.plural} "{name}" not found')
        return copy.deepcopy(found)

    async def create(self, info: ResourceInfo, body: Any, namespace: str | None = None, **_: Any) -> Obj:
        data = copy.deepcopy(body if isinstance(body, dict) else body.to_dict())
        if info.plural == "events":
            self.events.append(data)
            return data
        self._check("create", info)
        n = next(self._counter)
        meta = data.setdefault("metadata", {})
        if not meta.get("name"):
            meta["name"] = f"{meta.get('generateName', 'x-')}{n:05d}"
        meta.update(uid=f"uid-{meta['name']}", resourceVersion=str(100 + n),
                    creationTimestamp="2026-01-01T00:00:00Z", namespace=namespace or meta.get("namespace"))
        self.actions.append(Action("create", info.plural, namespace, meta["name"], data))
        return data

    async def _put(self, verb: str, info: ResourceInfo, body: Any, subresource: str | None) -> Obj:
        data = copy.deepcopy(body if isinstance(body, dict) else body.to_dict())
        self._check(verb, info)
        meta = data["metadata"]
        meta["resourceVersion"] = str(int(meta.get("resourceVersion") or 0) + 1000)
        self.actions.append(Action(verb, info.plural, meta.get("namespace"), meta["name"], data, subresource))
        return data

    async def update(self, info: ResourceInfo, body: Any, namespace: str | None = None, **_: Any) -> Obj:
        return await self._put("update", info, body, None)

    async def update_status(self, info: ResourceInfo, body: Any, namespace: str | None = None, **_: Any) -> Obj:
        return await self._put("update_status", info, body, "status")

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = None,
                    namespace: str | None = None, **_: Any) -> Obj:
        if info.plural == "events":
            return {}
        self._check("patch", info)
        self.actions.append(Action("patch", info.plural, namespace, name, body))
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "999"}}

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, **_: Any) -> Obj:
        self._check("delete", info)
        self.actions.append(Action("delete", info.plural, namespace, name))
        return {}

    async def list(self, *args: Any, **kwargs: Any) -> tuple[list[Obj], str]:
        return [], "1"

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("unit tests never start informers")


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
