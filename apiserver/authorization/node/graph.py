"""The Node authorizer's graph: which objects lead to which node.

Vertices are (kind, namespace, name); an edge A -> B means "a node that may see
B may see A". The edges, as upstream draws them:

    secret, configmap, pvc, serviceaccount -> pod -> node
    pv -> pvc;  secret -> pv

A node may read an object when a path leads from the object to the node.

Invariants:
- edges belong to the object that made them (a pod owns its own edges, a
  persistent volume its own): `set_edges(owner, edges)` replaces everything the
  owner said before, so a pod that is rebound, deleted, or recreated under the
  same name with other references leaves nothing stale behind;
- a vertex with no edges left is gone (upstream deletes orphaned vertices), so
  the graph's size follows the pods and volumes that exist;
- the graph is changed and read on the API server's event loop only (updates
  come from the watch caches, reads from the authorization step), so it needs no
  lock.

Kubernetes counterpart: plugin/pkg/auth/authorizer/node/graph.go
"""

from __future__ import annotations

from collections import Counter
from apiserver.authorization.node.references import Obj, pod_references, pv_references

Vertex = tuple[str, str, str]  # (kind, namespace, name); cluster-scoped objects have namespace ""
Edge = tuple[Vertex, Vertex]

NODE, POD, SECRET, CONFIG_MAP = "node", "pod", "secret", "configmap"
PVC, PV, SERVICE_ACCOUNT = "pvc", "pv", "serviceaccount"


def pod_vertex(namespace: str, name: str) -> Vertex:
    return (POD, namespace, name)


def pv_vertex(name: str) -> Vertex:
    return (PV, "", name)


def pod_edges(pod: Obj) -> frozenset[Edge]:
    """The edges a pod makes: none until it is bound to a node."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    node_name = spec.get("nodeName") or ""
    if not node_name:
        return frozenset()
    namespace = meta.get("namespace", "")
    me = pod_vertex(namespace, meta.get("name", ""))
    refs = pod_references(pod)
    edges = {(me, (NODE, "", node_name))}
    edges.update(((SECRET, namespace, name), me) for name in refs.secrets)
    edges.update(((CONFIG_MAP, namespace, name), me) for name in refs.config_maps)
    edges.update(((PVC, namespace, name), me) for name in refs.claims)
    if refs.service_account:
        edges.add(((SERVICE_ACCOUNT, namespace, refs.service_account), me))
    return frozenset(edges)


def pv_edges(pv: Obj) -> frozenset[Edge]:
    """The edges a persistent volume makes: none until it is bound to a claim."""
    me = pv_vertex((pv.get("metadata") or {}).get("name", ""))
    refs = pv_references(pv)
    if refs.claim is None:
        return frozenset()
    edges = {(me, (PVC, *refs.claim))}
    edges.update(((SECRET, namespace, name), me) for namespace, name in refs.secrets)
    return frozenset(edges)


class Graph:
    """Directed edges with owners; `has_path_to_node` answers the authorizer."""

    def __init__(self) -> None:
        self._out: dict[Vertex, set[Vertex]] = {}
        self._edge_owners: Counter[Edge] = Counter()  # two owners may draw the same edge
        self._owned: dict[Vertex, frozenset[Edge]] = {}

    def set_edges(self, owner: Vertex, edges: frozenset[Edge]) -> bool:
        """Make `edges` the owner's edges (none: forget the owner); True if that changed."""
        old = self._owned.get(owner, frozenset())
        if old == edges:
            return False
        for edge in old - edges:
            self._edge_owners[edge] -= 1
            if not self._edge_owners[edge]:
                del self._edge_owners[edge]
                self._remove(edge)
        for edge in edges - old:
            if not self._edge_owners[edge]:
                self._out.setdefault(edge[0], set()).add(edge[1])
            self._edge_owners[edge] += 1
        if edges:
            self._owned[owner] = edges
        else:
            self._owned.pop(owner, None)
        return True

    def _remove(self, edge: Edge) -> None:
        source, target = edge
        targets = self._out[source]
        targets.discard(target)
        if not targets:
            del self._out[source]

    def owners(self, kind: str) -> list[Vertex]:
        return [owner for owner in self._owned if owner[0] == kind]

    def replace_owners(self, kind: str, edges_by_owner: dict[Vertex, frozenset[Edge]]) -> None:
        """Make the owners of `kind` exactly those given (a fresh list of that kind)."""
        for owner in self.owners(kind):
            if owner not in edges_by_owner:
                self.set_edges(owner, frozenset())
        for owner, edges in edges_by_owner.items():
            self.set_edges(owner, edges)

    def vertices(self) -> set[Vertex]:
        """Every vertex with at least one edge."""
        found = set(self._out)
        for targets in self._out.values():
            found.update(targets)
        return found

    def has_path_to_node(self, start: Vertex, node_name: str) -> bool:
        """Whether a path leads from `start` to the node (a depth-first walk that
        never continues through another node: nodes have no outgoing edges)."""
        goal = (NODE, "", node_name)
        seen = {start}
        stack = [start]
        while stack:
            for target in self._out.get(stack.pop(), ()):
                if target == goal:
                    return True
                if target not in seen and target[0] != NODE:
                    seen.add(target)
                    stack.append(target)
        return False
