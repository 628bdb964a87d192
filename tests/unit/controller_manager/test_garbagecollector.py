"""Garbage collector: graph bookkeeping and one attempt at a time against a fake API.

Sample-controller pattern: a fake client holding the "server" objects and recording
every call, the graph fed with informer events, one `attempt_to_*_item` call, then
assertions on the recorded actions.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from controller_fakes import FakeClient as SharedFakeClient
from controller_fakes import typed_factory

from controller_manager.garbagecollector import GarbageCollector
from controller_manager.garbagecollector.graph import reference_diffs
from tinykube.api.meta import KubeObject, OwnerReference
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import FakeClock

Obj = dict[str, Any]


class FakeClient(SharedFakeClient):
    """The shared fake, seeded with `objects`, that also counts GETs (`gets`)."""

    def __init__(self, *objects: Obj) -> None:
        super().__init__()
        self.gets: list[tuple[str, str, str]] = []
        for item in objects:
            info = INDEX.by_kind(item["apiVersion"], item["kind"])
            assert info is not None
            self.seed(info.plural, item)

    async def get(self, info: ResourceInfo, name: str, namespace: str | None = None) -> Obj:
        self.gets.append((info.plural, namespace or "", name))
        return await super().get(info, name, namespace)

    def verbs(self) -> list[tuple[Any, ...]]:
        """The writes: ("delete", plural, ns, name, policy, uid) and ("update", plural, ns, name, body)."""
        return [("delete", a.resource, a.namespace or "", a.name, (a.body or {}).get("propagationPolicy"),
                 ((a.body or {}).get("preconditions") or {}).get("uid")) if a.verb == "delete"
                else (a.verb, a.resource, a.namespace or "", a.name, a.body) for a in self.actions]


def ref(kind: str, name: str, uid: str, *, block: bool = True, api_version: str = "apps/v1") -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True,
            "blockOwnerDeletion": block}


def obj(kind: str, name: str, uid: str, *owners: Obj, finalizers: list[str] | None = None,
        deleting: bool = False) -> Obj:
    api_version = "v1" if kind in ("Pod", "ConfigMap") else "apps/v1"
    meta: Obj = {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": "1"}
    if owners:
        meta["ownerReferences"] = list(owners)
    if finalizers:
        meta["finalizers"] = finalizers
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


async def drain(queue: Any) -> list[str]:
    """Every key queued right now (taken out and marked done)."""
    keys = []
    while len(queue):
        key = await queue.get()
        queue.done(key)
        keys.append(key)
    return keys


def collector(client: FakeClient, *observed: Obj) -> GarbageCollector:
    gc = GarbageCollector(client, typed_factory(client), None, clock=FakeClock(),  # type: ignore[arg-type]
                          resources=[])
    for item in observed:
        gc.graph.on_add(KubeObject.from_dict(item))
    return gc


RS = obj("ReplicaSet", "web-rs", "rs-1")
POD_A = obj("Pod", "web-a", "pod-a", ref("ReplicaSet", "web-rs", "rs-1"))
POD_B = obj("Pod", "web-b", "pod-b", ref("ReplicaSet", "web-rs", "rs-1"))


async def test_pods_of_a_deleted_owner_are_deleted_in_the_background() -> None:
    client = FakeClient(POD_A, POD_B)  # the ReplicaSet is gone from the server
    gc = collector(client, RS, POD_A, POD_B)
    await drain(gc.attempt_to_delete)
    gc.graph.on_delete(KubeObject.from_dict(RS))
    assert sorted(await drain(gc.attempt_to_delete)) == ["pod-a", "pod-b"]

    await gc.attempt_to_delete_item("pod-a")
    await gc.attempt_to_delete_item("pod-b")

    assert client.verbs() == [("delete", "pods", "ns", "web-a", "Background", "pod-a"),
                              ("delete", "pods", "ns", "web-b", "Background", "pod-b")]
    # The owner's absence was verified once with a live GET, then remembered.
    assert client.gets.count(("replicasets", "ns", "web-rs")) == 1


async def test_a_dependent_of_an_owner_never_observed_is_collected_after_verification() -> None:
    client = FakeClient(POD_A)
    gc = collector(client, POD_A)
    assert await drain(gc.attempt_to_delete) == ["rs-1"]  # the virtual owner must be verified
    assert gc.graph.get("rs-1").virtual  # type: ignore[union-attr]

    await gc.attempt_to_delete_item("rs-1")
    assert gc.graph.get("rs-1") is None
    assert await drain(gc.attempt_to_delete) == ["pod-a"]
    await gc.attempt_to_delete_item("pod-a")

    assert client.verbs() == [("delete", "pods", "ns", "web-a", "Background", "pod-a")]


async def test_dependents_of_a_live_owner_are_kept() -> None:
    client = FakeClient(RS, POD_A)
    gc = collector(client, POD_A)
    await gc.attempt_to_delete_item("rs-1")
    await gc.attempt_to_delete_item("pod-a")
    assert client.verbs() == []
    assert gc.graph.get("rs-1") is not None


async def test_an_owner_recreated_under_the_same_name_does_not_save_the_dependent() -> None:
    client = FakeClient(obj("ReplicaSet", "web-rs", "rs-2"), POD_A)
    gc = collector(client, POD_A)
    await gc.attempt_to_delete_item("rs-1")
    await gc.attempt_to_delete_item("pod-a")
    assert client.verbs() == [("delete", "pods", "ns", "web-a", "Background", "pod-a")]


async def test_only_references_to_absent_owners_are_removed_when_another_owner_lives() -> None:
    pod = obj("Pod", "shared", "pod-s", ref("ReplicaSet", "web-rs", "rs-1"),
              ref("ReplicaSet", "gone-rs", "rs-gone", block=False))
    client = FakeClient(RS, pod)
    gc = collector(client, RS, pod)
    await gc.attempt_to_delete_item("pod-s")
    [update] = client.verbs()
    assert update[:4] == ("update", "pods", "ns", "shared")
    assert [r["uid"] for r in update[4]["metadata"]["ownerReferences"]] == ["rs-1"]


async def test_foreground_deletes_dependents_then_removes_the_finalizer() -> None:
    deleting_rs = obj("ReplicaSet", "web-rs", "rs-1", finalizers=["foregroundDeletion"], deleting=True)
    client = FakeClient(deleting_rs, POD_A, POD_B)
    gc = collector(client, POD_A, POD_B, deleting_rs)
    assert set(await drain(gc.attempt_to_delete)) == {"rs-1", "pod-a", "pod-b"}

    await gc.attempt_to_delete_item("rs-1")  # blocking dependents remain: nothing yet
    assert client.verbs() == []
    await gc.attempt_to_delete_item("pod-a")
    await gc.attempt_to_delete_item("pod-b")
    assert client.verbs() == [("delete", "pods", "ns", "web-a", "Background", "pod-a"),
                              ("delete", "pods", "ns", "web-b", "Background", "pod-b")]

    gc.graph.on_delete(KubeObject.from_dict(POD_A))
    gc.graph.on_delete(KubeObject.from_dict(POD_B))
    assert "rs-1" in await drain(gc.attempt_to_delete)  # the last dependent gone wakes the owner
    await gc.attempt_to_delete_item("rs-1")
    update = client.verbs()[-1]
    assert update[:4] == ("update", "replicasets", "ns", "web-rs")
    assert update[4]["metadata"]["finalizers"] == []


async def test_foreground_waits_only_for_blocking_dependents() -> None:
    deleting_rs = obj("ReplicaSet", "web-rs", "rs-1", finalizers=["foregroundDeletion"], deleting=True)
    loose = obj("ConfigMap", "loose", "cm-1", ref("ReplicaSet", "web-rs", "rs-1", block=False))
    client = FakeClient(deleting_rs, loose)
    gc = collector(client, loose, deleting_rs)
    await gc.attempt_to_delete_item("rs-1")
    assert client.verbs()[0][:4] == ("update", "replicasets", "ns", "web-rs")


async def test_a_dependent_with_dependents_of_its_own_is_deleted_in_foreground() -> None:
    deployment = obj("Deployment", "web", "dep-1", finalizers=["foregroundDeletion"], deleting=True)
    rs = obj("ReplicaSet", "web-rs", "rs-1", ref("Deployment", "web", "dep-1"))
    client = FakeClient(deployment, rs, POD_A)
    gc = collector(client, deployment, rs, POD_A)
    await gc.attempt_to_delete_item("rs-1")
    assert client.verbs() == [("delete", "replicasets", "ns", "web-rs", "Foreground", "rs-1")]


async def test_orphan_removes_owner_references_then_the_finalizer() -> None:
    orphaning_rs = obj("ReplicaSet", "web-rs", "rs-1", finalizers=["orphan"], deleting=True)
    client = FakeClient(orphaning_rs, POD_A, POD_B)
    gc = collector(client, POD_A, POD_B, orphaning_rs)
    assert await drain(gc.attempt_to_orphan) == ["rs-1"]

    await gc.attempt_to_orphan_item("rs-1")

    updates = client.verbs()
    assert [u[:4] for u in updates] == [("update", "pods", "ns", "web-a"),
                                        ("update", "pods", "ns", "web-b"),
                                        ("update", "replicasets", "ns", "web-rs")]
    assert all("ownerReferences" not in u[4]["metadata"] for u in updates[:2])
    assert updates[2][4]["metadata"]["finalizers"] == []
    assert not client.writes(verb="delete")


async def test_an_object_being_deleted_without_foreground_is_left_alone() -> None:
    pod = obj("Pod", "web-a", "pod-a", ref("ReplicaSet", "web-rs", "rs-1"), deleting=True)
    client = FakeClient(pod)
    gc = collector(client, pod)
    await gc.attempt_to_delete_item("pod-a")
    assert client.actions == []


@pytest.mark.parametrize("old, new, expected", [
    ([], [ref("ReplicaSet", "a", "1")], (["1"], [], [])),
    ([ref("ReplicaSet", "a", "1")], [], ([], ["1"], [])),
    ([ref("ReplicaSet", "a", "1")], [ref("ReplicaSet", "a", "1", block=False)], ([], [], ["1"])),
    ([ref("ReplicaSet", "a", "1", block=False)], [ref("ReplicaSet", "a", "1")], ([], [], [])),
    ([ref("ReplicaSet", "a", "1")], [ref("ReplicaSet", "b", "2")], (["2"], ["1"], [])),
])
def test_reference_diffs(old: list[Obj], new: list[Obj],
                         expected: tuple[list[str], list[str], list[str]]) -> None:
    added, removed, unblocked = reference_diffs([OwnerReference.from_dict(r) for r in old],
                                                [OwnerReference.from_dict(r) for r in new])
    assert ([r.uid for r in added], [r.uid for r in removed], [r.uid for r in unblocked]) == expected


async def test_removing_a_blocking_reference_wakes_a_foreground_owner() -> None:
    deleting_rs = obj("ReplicaSet", "web-rs", "rs-1", finalizers=["foregroundDeletion"], deleting=True)
    client = FakeClient()
    gc = collector(client, POD_A, deleting_rs)
    await drain(gc.attempt_to_delete)
    released = copy.deepcopy(POD_A)
    del released["metadata"]["ownerReferences"]
    gc.graph.on_update(KubeObject.from_dict(POD_A), KubeObject.from_dict(released))
    assert await drain(gc.attempt_to_delete) == ["rs-1"]
    assert gc.graph.get("rs-1").dependents == set()  # type: ignore[union-attr]
