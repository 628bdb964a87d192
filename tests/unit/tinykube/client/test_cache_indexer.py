"""The informer cache: keys, and indexes that follow updates and deletes."""

from __future__ import annotations

from typing import Any

import pytest

from tinykube.api import parse_object
from tinykube.client.cache import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    OWNER_UID_INDEX,
    Indexer,
    meta_namespace_key,
)


def pod(name: str, namespace: str = "ns", node: str | None = None, owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "resourceVersion": "1"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                    "uid": owner, "controller": True}]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def names(objects: list[Any]) -> list[str]:
    return [meta_namespace_key(o) for o in objects]


@pytest.mark.parametrize(
    ("obj", "key"),
    [
        (pod("web", "team-a"), "team-a/web"),
        ({"kind": "Node", "metadata": {"name": "node-1"}}, "node-1"),
        (parse_object(pod("web", "team-a")), "team-a/web"),
    ],
)
def test_meta_namespace_key(obj: Any, key: str) -> None:
    assert meta_namespace_key(obj) == key


@pytest.mark.parametrize("typed", [False, True])
def test_indexes_by_namespace_node_and_owner(typed: bool) -> None:
    convert = parse_object if typed else (lambda o: o)
    indexer = Indexer()
    for obj in (pod("a", "ns1", "node-1", "rs-1"), pod("b", "ns1", "node-2", "rs-1"),
                pod("c", "ns2", "node-1"), pod("d", "ns2")):
        indexer.add(convert(obj))
    assert names(indexer.by_index(NAMESPACE_INDEX, "ns1")) == ["ns1/a", "ns1/b"]
    assert names(indexer.by_index(NODE_NAME_INDEX, "node-1")) == ["ns1/a", "ns2/c"]
    assert names(indexer.by_index(OWNER_UID_INDEX, "rs-1")) == ["ns1/a", "ns1/b"]
    assert indexer.by_index(NODE_NAME_INDEX, "node-3") == []
    assert names([indexer.get("ns2/d")]) == ["ns2/d"]


def test_update_refiles_and_delete_unfiles() -> None:
    indexer = Indexer()
    indexer.add(pod("a", node="node-1"))
    indexer.update(pod("a", node="node-2"))
    assert indexer.by_index(NODE_NAME_INDEX, "node-1") == []
    assert names(indexer.by_index(NODE_NAME_INDEX, "node-2")) == ["ns/a"]
    indexer.delete(pod("a"))
    assert indexer.by_index(NODE_NAME_INDEX, "node-2") == []
    assert indexer.get("ns/a") is None and len(indexer) == 0


def test_replace_swaps_contents_and_rebuilds_indexes() -> None:
    indexer = Indexer()
    indexer.add(pod("old", node="node-1"))
    indexer.replace([pod("new", node="node-1")])
    assert indexer.list_keys() == ["ns/new"]
    assert names(indexer.by_index(NODE_NAME_INDEX, "node-1")) == ["ns/new"]


def test_custom_indexers_and_unknown_index() -> None:
    indexer = Indexer(indexers={})
    indexer.add(pod("a", owner="u"))
    indexer.add_indexers({"app": lambda o: [o["metadata"]["name"].upper()]})
    assert names(indexer.by_index("app", "A")) == ["ns/a"]
    with pytest.raises(KeyError, match=OWNER_UID_INDEX):
        indexer.by_index(OWNER_UID_INDEX, "u")
