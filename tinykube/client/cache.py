"""The informer's local cache: objects by `namespace/name`, plus secondary indexes.

An `Indexer` holds the latest state of every object an informer has seen. Index
functions map an object to the values it is filed under (its namespace, its node,
the UIDs of its owners), so a controller can ask "the pods on node-1" or "the pods
owned by this ReplicaSet" without scanning everything.

Objects may be wire dicts or `KubeObject` models (an informer with a `transform`);
every helper here reads both. Objects handed out are the cache's own: treat them as
read-only and copy before mutating (`copy.deepcopy` for dicts, `deep_copy` for
models), or the cache silently diverges from the server.

Not thread-safe: it lives on one asyncio event loop, like everything in tinykube.

Kubernetes counterpart: staging/src/k8s.io/client-go/tools/cache/thread_safe_store.go,
staging/src/k8s.io/client-go/tools/cache/index.go
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tinykube.api.meta import KubeObject

IndexFunc = Callable[[Any], list[str]]

NAMESPACE_INDEX = "namespace"
NODE_NAME_INDEX = "spec.nodeName"
OWNER_UID_INDEX = "ownerUID"


def _metadata_field(obj: Any, wire: str, attr: str) -> Any:
    if isinstance(obj, KubeObject):
        return getattr(obj.metadata, attr)
    return (obj.get("metadata") or {}).get(wire)


def meta_namespace_key(obj: Any) -> str:
    """"namespace/name", or "name" for cluster-scoped objects (MetaNamespaceKeyFunc)."""
    namespace = _metadata_field(obj, "namespace", "namespace")
    name = _metadata_field(obj, "name", "name") or ""
    return f"{namespace}/{name}" if namespace else str(name)


def resource_version_of(obj: Any) -> str:
    return str(_metadata_field(obj, "resourceVersion", "resource_version") or "")


def index_by_namespace(obj: Any) -> list[str]:
    namespace = _metadata_field(obj, "namespace", "namespace")
    return [str(namespace)] if namespace else []


def index_by_node_name(obj: Any) -> list[str]:
    """Pods by `spec.nodeName`; unscheduled pods (and other kinds) are not indexed."""
    if isinstance(obj, KubeObject):
        node = getattr(getattr(obj, "spec", None), "node_name", None)
    else:
        node = (obj.get("spec") or {}).get("nodeName")
    return [str(node)] if node else []


def index_by_owner_uid(obj: Any) -> list[str]:
    if isinstance(obj, KubeObject):
        return [ref.uid for ref in obj.metadata.owner_references or ()]
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [str(ref["uid"]) for ref in refs if ref.get("uid")]


DEFAULT_INDEXERS: dict[str, IndexFunc] = {
    NAMESPACE_INDEX: index_by_namespace,
    NODE_NAME_INDEX: index_by_node_name,
    OWNER_UID_INDEX: index_by_owner_uid,
}


class Indexer:
    """A key → object map kept consistent with its indexes.

    - `add`/`update`/`delete`/`replace` refile the object in every index.
    - `by_index(name, value)` returns the objects whose index function yielded `value`.
    - Returned objects are shared, not copies: never mutate them.
    """

    def __init__(self, indexers: dict[str, IndexFunc] | None = None,
                 key_func: Callable[[Any], str] = meta_namespace_key) -> None:
        self._indexers = dict(DEFAULT_INDEXERS if indexers is None else indexers)
        self._key_func = key_func
        self._items: dict[str, Any] = {}
        # index name → indexed value → keys filed under it
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def key_of(self, obj: Any) -> str:
        return self._key_func(obj)

    def add(self, obj: Any) -> None:
        key = self._key_func(obj)
        old = self._items.get(key)
        self._items[key] = obj
        self._refile(key, old, obj)

    update = add

    def delete(self, obj: Any) -> None:
        self.delete_key(self._key_func(obj))

    def delete_key(self, key: str) -> Any | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._refile(key, old, None)
        return old

    def replace(self, objects: Iterable[Any]) -> None:
        """Swap the whole contents (after a relist) and rebuild the indexes."""
        self._items = {self._key_func(obj): obj for obj in objects}
        self._indices = {name: {} for name in self._indexers}
        for key, obj in self._items.items():
            self._refile(key, None, obj)

    def get(self, key: str) -> Any | None:
        return self._items.get(key)

    def get_by_object(self, obj: Any) -> Any | None:
        return self._items.get(self._key_func(obj))

    def list(self) -> list[Any]:
        return list(self._items.values())

    def list_keys(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        for name, func in indexers.items():
            if name in self._indexers:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = func
            self._indices[name] = {}
            for key, obj in self._items.items():
                for value in func(obj):
                    self._indices[name].setdefault(value, set()).add(key)

    def by_index(self, index_name: str, value: str) -> list[Any]:
        """Objects filed under `value` in `index_name` (e.g. pods on one node)."""
        return [self._items[key] for key in sorted(self.index_keys(index_name, value))]

    def index_keys(self, index_name: str, value: str) -> set[str]:
        if index_name not in self._indices:
            raise KeyError(f"no index named {index_name!r}")
        return set(self._indices[index_name].get(value, ()))

    def _refile(self, key: str, old: Any | None, new: Any | None) -> None:
        for name, func in self._indexers.items():
            index = self._indices[name]
            for value in func(old) if old is not None else ():
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in func(new) if new is not None else ():
                index.setdefault(value, set()).add(key)


Store = Indexer
"""client-go's plain Store is an Indexer without indexes; here they are one class."""
