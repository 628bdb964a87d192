"""One fake API client for unit tests of controllers and components (sample-controller's
`fake.Clientset` plus its recorded actions).

`FakeClient` has the `RESTClient` surface components use and answers as an API server
would (names from generateName, uids, increasing resourceVersions, NotFound,
AlreadyExists), keeping what it was given in `objects`. Every write is recorded as an
`Action`; Events go to `events`, not `actions`. A test preloads informer caches (or
`seed`s the store), calls one sync, and asserts on `writes(...)`.

- `fail[(verb, plural)] = error` makes every such call raise `error` until removed.
- `FakeClient(pod_grace_period_seconds=30)`: deleting a pod bound to a node only marks
  it (deletionTimestamp, deletionGracePeriodSeconds), as the server does while its
  kubelet stops it; a delete with grace period 0 removes it. Off by default.
- Bodies may be dicts or `KubeModel`s; stored and recorded bodies are wire dicts. A
  delete's body is its DeleteOptions (gracePeriodSeconds, propagationPolicy,
  preconditions), None when it had none.
- `watch` is not faked: unit tests drive informers' handlers directly.

Kubernetes counterpart: staging/src/k8s.io/client-go/kubernetes/fake, .../testing/fixture.go
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any, TypeVar

from tinykube.api.meta import KubeModel
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.errors import AlreadyExists, NotFound

Obj = dict[str, Any]
M = TypeVar("M", bound=KubeModel)


@dataclass
class Action:
    verb: str
    resource: str
    namespace: str | None
    name: str
    body: Any = None
    subresource: str | None = None


def _wire(body: Any) -> Obj:
    return copy.deepcopy(body if isinstance(body, dict) else body.to_dict())


class FakeClient:
    """Guarantees: no network; every write recorded in order; reads return copies."""

    def __init__(self, *, pod_grace_period_seconds: int | None = None) -> None:
        self.pod_grace_period_seconds = pod_grace_period_seconds
        self.actions: list[Action] = []
        self.events: list[Obj] = []
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.fail: dict[tuple[str, str], Exception] = {}  # (verb, plural) → error to raise
        self._counter = itertools.count(1)

    # --- test set-up and assertions --------------------------------------------------

    def seed(self, resource: str, obj: Obj | KubeModel) -> None:
        data = _wire(obj)
        meta = data["metadata"]
        self.objects[(resource, meta.get("namespace") or "", meta["name"])] = data

    def writes(self, resource: str | None = None, verb: str | None = None) -> list[Action]:
        return [a for a in self.actions if (resource is None or a.resource == resource)
                and (verb is None or a.verb == verb)]

    def _check(self, verb: str, info: ResourceInfo) -> None:
        error = self.fail.get((verb, info.plural))
        if error is not None:
            raise error

    def _key(self, info: ResourceInfo, namespace: str | None, name: str) -> tuple[str, str, str]:
        return info.plural, (namespace or "") if info.namespaced else "", name

    def _next_version(self) -> int:
        return 100 + next(self._counter)

    # --- reads ---------------------------------------------------------------------------

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        self._check("get", info)
        found = self.objects.get(self._key(info, namespace, name))
        if found is None:
            raise NotFound(404, "NotFound", f'{info.plural} "{name}" not found')
        return copy.deepcopy(found)

    async def list(self, info: ResourceInfo, namespace: str | None = None, **_: Any) -> tuple[list[Obj], str]:
        self._check("list", info)
        items = [copy.deepcopy(obj) for (plural, ns, _name), obj in sorted(self.objects.items())
                 if plural == info.plural and (not namespace or ns == namespace)]
        return items, str(self._next_version())

    async def get_object(self, model: type[M], name: str, namespace: str | None = None) -> M:
        info = _info_of_model(model)
        return model.from_dict(await self.get(info, name, namespace))

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("unit tests drive informer handlers directly")

    # --- writes --------------------------------------------------------------------------

    async def create(self, info: ResourceInfo, body: Any, namespace: str | None = None, **_: Any) -> Obj:
        data = _wire(body)
        if info.plural == "events":
            self.events.append(data)
            return data
        self._check("create", info)
        meta = data.setdefault("metadata", {})
        version = self._next_version()
        if not meta.get("name"):
            meta["name"] = f"{meta.get('generateName', 'x-')}{version:05d}"
        namespace = namespace or meta.get("namespace")
        key = self._key(info, namespace, meta["name"])
        if key in self.objects:
            raise AlreadyExists(409, "AlreadyExists", f'{info.plural} "{meta["name"]}" already exists')
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.update(resourceVersion=str(version), creationTimestamp="2026-01-01T00:00:00Z")
        if info.namespaced:
            meta["namespace"] = namespace
        self.objects[key] = copy.deepcopy(data)
        self.actions.append(Action("create", info.plural, namespace, meta["name"], data))
        return data

    async def _put(self, verb: str, info: ResourceInfo, body: Any, subresource: str | None) -> Obj:
        data = _wire(body)
        self._check(verb, info)
        meta = data["metadata"]
        meta["resourceVersion"] = str(int(meta.get("resourceVersion") or 0) + 1000)
        self.objects[self._key(info, meta.get("namespace"), meta["name"])] = copy.deepcopy(data)
        self.actions.append(Action(verb, info.plural, meta.get("namespace"), meta["name"], data, subresource))
        return data

    async def update(self, info: ResourceInfo, body: Any, namespace: str | None = None, **_: Any) -> Obj:
        return await self._put("update", info, body, None)

    async def update_status(self, info: ResourceInfo, body: Any, namespace: str | None = None, **_: Any) -> Obj:
        return await self._put("update_status", info, body, "status")

    async def create_object(self, obj: M, **_: Any) -> M:
        info = _info_of_model(type(obj))
        return type(obj).from_dict(await self.create(info, obj, obj.metadata.namespace))  # type: ignore[attr-defined]

    async def update_object(self, obj: M, **_: Any) -> M:
        return type(obj).from_dict(await self.update(_info_of_model(type(obj)), obj))

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = None,
                    namespace: str | None = None, subresource: str | None = None, **_: Any) -> Obj:
        if info.plural == "events":
            return {}
        self._check("patch", info)
        self.actions.append(Action("patch", info.plural, namespace, name, body, subresource))
        stored = self.objects.get(self._key(info, namespace, name))
        result = copy.deepcopy(stored) if stored is not None else {"metadata": {"name": name, "namespace": namespace}}
        result["metadata"]["resourceVersion"] = str(self._next_version())
        return result

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None, propagation_policy: str | None = None,
                     preconditions: dict[str, str] | None = None, **_: Any) -> Obj:
        self._check("delete", info)
        options = {key: value for key, value in (("gracePeriodSeconds", grace_period_seconds),
                                                  ("propagationPolicy", propagation_policy),
                                                  ("preconditions", preconditions)) if value is not None}
        self.actions.append(Action("delete", info.plural, namespace, name, options or None))
        key = self._key(info, namespace, name)
        stored = self.objects.get(key)
        if (stored is not None and info.plural == "pods" and self.pod_grace_period_seconds is not None
                and (stored.get("spec") or {}).get("nodeName") and grace_period_seconds != 0):
            stored["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z",
                                      deletionGracePeriodSeconds=self.pod_grace_period_seconds)
            return copy.deepcopy(stored)
        removed = self.objects.pop(key, None)
        return removed or {}

    async def get_subresource(self, info: ResourceInfo, name: str, subresource: str,
                              namespace: str | None = None, **_: Any) -> Obj:
        return await self.get(info, name, namespace)

    async def put_subresource(self, info: ResourceInfo, name: str, subresource: str | None, body: Any,
                              namespace: str | None = None, **_: Any) -> Obj:
        self._check("update_" + (subresource or ""), info)
        data = _wire(body)
        self.actions.append(Action("update", info.plural, namespace, name, data, subresource))
        return data

    async def create_subresource(self, info: ResourceInfo, name: str, subresource: str, body: Any,
                                 namespace: str | None = None, **_: Any) -> Obj:
        self._check("create_" + subresource, info)
        data = _wire(body)
        self.actions.append(Action("create", info.plural, namespace, name, data, subresource))
        return data


def _info_of_model(model: type[KubeModel]) -> ResourceInfo:
    api_version = model.model_fields["api_version"].default
    kind = model.model_fields["kind"].default
    info = INDEX.by_kind(api_version, kind)
    if info is None:
        raise KeyError(f"no resource for {api_version}/{kind}")
    return info
