"""The garbage collector's dependency graph, built from ownerReferences.

Every object the informers report becomes a node keyed by UID; each of its
ownerReferences links it to an owner node. An owner the informers have not shown
(yet) becomes a *virtual* node that the collector must verify with a live GET:
if it really does not exist, its dependents are garbage.

The `GraphBuilder` keeps the graph in step with informer events and turns state
transitions into work for the collector's two queues:

- a node removed (deleted, or a virtual owner found absent): its dependents go to
  `attempt_to_delete`, and so does any owner of it that waits in foreground deletion;
- an owner marked for deletion with the `foregroundDeletion` finalizer: it and its
  dependents go to `attempt_to_delete`;
- an owner marked for deletion with the `orphan` finalizer: it goes to `attempt_to_orphan`;
- a dependent dropping (or unblocking) a reference to a foreground-deleting owner:
  that owner goes to `attempt_to_delete`, it may be able to finish now.

Objects are `KubeObject`s: the collector watches every kind, including kinds with no
model, and reads only apiVersion, kind and metadata (typed on every object), so
whatever model the shared informer parsed an object into serves as is.

Upstream funnels events through a `graphChanges` queue consumed by one goroutine;
here the handlers run one at a time on the event loop, which gives the same
serialization, and they touch only this in-memory graph, never the API.

Kubernetes counterpart: pkg/controller/garbagecollector/graph.go,
pkg/controller/garbagecollector/graph_builder.go
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from tinykube.api.meta import KubeObject, OwnerReference
from tinykube.api.resources import INDEX

log = logging.getLogger(__name__)

FINALIZER_FOREGROUND = "foregroundDeletion"
FINALIZER_ORPHAN = "orphan"


class UIDQueue(Protocol):
    def add(self, key: str) -> None: ...


@dataclass(frozen=True)
class ObjectReference:
    """Who an object is: an owner reference plus the namespace ("" if cluster-scoped)."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name} uid={self.uid}"


@dataclass
class GraphNode:
    """One object (or one owner only known by reference) in the graph.

    - `owners` are the object's ownerReferences as last observed.
    - `dependents` are the UIDs of nodes whose ownerReferences name this one.
    - `virtual` until an informer reports the object itself.
    """

    identity: ObjectReference
    owners: list[OwnerReference] = field(default_factory=list)
    dependents: set[str] = field(default_factory=set)
    being_deleted: bool = False
    deleting_dependents: bool = False
    virtual: bool = False

    @property
    def uid(self) -> str:
        return self.identity.uid

    def blocks(self, owner_uid: str) -> bool:
        """Whether this node's reference to `owner_uid` has blockOwnerDeletion=true."""
        return any(ref.uid == owner_uid and ref.block_owner_deletion for ref in self.owners)


def identity_of(obj: KubeObject) -> ObjectReference:
    meta = obj.metadata
    return ObjectReference(obj.api_version or "", obj.kind or "", meta.name or "", meta.uid or "",
                           meta.namespace or "")


def owner_identity(ref: OwnerReference, dependent_namespace: str) -> ObjectReference:
    """An owner's identity from a reference: namespaced owners live in the dependent's
    namespace (cross-namespace owner references are not allowed)."""
    info = INDEX.by_kind(ref.api_version, ref.kind)
    namespace = dependent_namespace if info is None or info.namespaced else ""
    return ObjectReference(ref.api_version, ref.kind, ref.name, ref.uid, namespace)


def _owner_references(obj: KubeObject) -> list[OwnerReference]:
    return [ref for ref in obj.metadata.owner_references or () if ref.uid]


class GraphBuilder:
    """Maintains `uid_to_node` from informer events and feeds the collector's queues."""

    def __init__(self, attempt_to_delete: UIDQueue, attempt_to_orphan: UIDQueue) -> None:
        self.uid_to_node: dict[str, GraphNode] = {}
        self.attempt_to_delete = attempt_to_delete
        self.attempt_to_orphan = attempt_to_orphan

    def get(self, uid: str) -> GraphNode | None:
        return self.uid_to_node.get(uid)

    # --- informer events ---------------------------------------------------------------

    def on_add(self, obj: KubeObject) -> None:
        self.process_graph_change(obj, deleted=False)

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        self.process_graph_change(new, deleted=False)

    def on_delete(self, obj: KubeObject) -> None:
        self.process_graph_change(obj, deleted=True)

    def process_graph_change(self, obj: KubeObject, *, deleted: bool) -> None:
        identity = identity_of(obj)
        if not identity.uid:
            return
        node = self.uid_to_node.get(identity.uid)
        if deleted:
            if node is not None:
                self.remove_node(node)
            return
        owners = _owner_references(obj)
        if node is None:
            node = GraphNode(identity, owners=owners, being_deleted=bool(obj.metadata.deletion_timestamp))
            self.insert_node(node)
        else:
            if node.virtual:
                node.virtual = False
                node.identity = identity
            added, removed, unblocked = reference_diffs(node.owners, owners)
            self._add_unblocked_owners_to_delete_queue(removed + unblocked)
            node.owners = owners
            self._add_dependent_to_owners(node, added)
            self._remove_dependent_from_owners(node, removed)
            node.being_deleted = bool(obj.metadata.deletion_timestamp)
        self.process_transitions(obj, node)

    def process_transitions(self, obj: KubeObject, node: GraphNode) -> None:
        """Deletion with the orphan or foregroundDeletion finalizer hands work to the collector."""
        if not node.being_deleted:
            return
        finalizers = obj.metadata.finalizers or ()
        if FINALIZER_ORPHAN in finalizers:
            log.debug("owner waits for orphaning object=%s", node.identity)
            self.attempt_to_orphan.add(node.uid)
        if FINALIZER_FOREGROUND in finalizers:
            node.deleting_dependents = True
            for dependent in node.dependents:
                self.attempt_to_delete.add(dependent)
            self.attempt_to_delete.add(node.uid)

    # --- structure ---------------------------------------------------------------------

    def insert_node(self, node: GraphNode) -> None:
        self.uid_to_node[node.uid] = node
        self._add_dependent_to_owners(node, node.owners)

    def remove_node(self, node: GraphNode) -> None:
        """Drop a node that no longer exists; its dependents may now be garbage."""
        self.uid_to_node.pop(node.uid, None)
        self._remove_dependent_from_owners(node, node.owners)
        for dependent in node.dependents:
            self.attempt_to_delete.add(dependent)
        for ref in node.owners:
            owner = self.uid_to_node.get(ref.uid)
            if owner is not None and owner.deleting_dependents:
                self.attempt_to_delete.add(owner.uid)

    def remove_virtual_node(self, uid: str) -> None:
        """The collector found an owner known only by reference to be absent."""
        node = self.uid_to_node.get(uid)
        if node is not None:
            log.info("owner does not exist, its dependents are garbage owner=%s dependents=%d",
                     node.identity, len(node.dependents))
            self.remove_node(node)

    def _add_dependent_to_owners(self, node: GraphNode, refs: Iterable[OwnerReference]) -> None:
        for ref in refs:
            owner_uid = ref.uid
            owner = self.uid_to_node.get(owner_uid)
            if owner is None:
                owner = GraphNode(owner_identity(ref, node.identity.namespace), virtual=True)
                self.uid_to_node[owner_uid] = owner
                # Not seen by any informer (yet): the collector verifies it exists.
                self.attempt_to_delete.add(owner_uid)
            owner.dependents.add(node.uid)

    def _remove_dependent_from_owners(self, node: GraphNode, refs: Iterable[OwnerReference]) -> None:
        for ref in refs:
            owner = self.uid_to_node.get(ref.uid)
            if owner is not None:
                owner.dependents.discard(node.uid)

    def _add_unblocked_owners_to_delete_queue(self, refs: Iterable[OwnerReference]) -> None:
        for ref in refs:
            owner = self.uid_to_node.get(ref.uid)
            if owner is not None and owner.deleting_dependents:
                self.attempt_to_delete.add(owner.uid)


References = list[OwnerReference]


def reference_diffs(old: References, new: References) -> tuple[References, References, References]:
    """(added, removed, unblocked): references only in `new`, only in `old`, and old
    references whose blockOwnerDeletion went from true to false."""
    old_by_uid = {ref.uid: ref for ref in old}
    new_by_uid = {ref.uid: ref for ref in new}
    added = [ref for uid, ref in new_by_uid.items() if uid not in old_by_uid]
    removed = [ref for uid, ref in old_by_uid.items() if uid not in new_by_uid]
    unblocked = [ref for uid, ref in old_by_uid.items()
                 if uid in new_by_uid and ref.block_owner_deletion
                 and not new_by_uid[uid].block_owner_deletion]
    return added, removed, unblocked
