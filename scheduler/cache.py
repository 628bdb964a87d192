"""The scheduler cache: every node and the pods bound to it, including assumed ones.

The informers feed it (nodes; pods that have a spec.nodeName) and the scheduling
cycle reads it. When the scheduler picks a node it *assumes* the pod there at once,
before the binding request is even sent, so the next pod's cycle already sees the
node's resources as used. Then:
- the binding's pod update arrives from the watch: `add_pod`/`update_pod` confirms
  the assumed pod (replacing it with the server's object);
- Reserve, PreBind or Bind fails: `forget_pod` takes it out again (after Unreserve).

Everything is incremental: a NodeInfo's totals change by one pod at a time, and
nothing is relisted or recounted per scheduling cycle. The cycle itself runs
without awaiting, so it reads a consistent cache without needing a snapshot.

Kubernetes counterpart: pkg/scheduler/backend/cache/cache.go
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scheduler.types import NodeInfo, PodInfo
from tinykube.api.core import Node, Pod

log = logging.getLogger(__name__)


@dataclass
class _PodState:
    info: PodInfo
    assumed: bool


class SchedulerCache:
    """Nodes by name and pods by uid.

    - A pod is counted on exactly one NodeInfo (the node it is bound or assumed to).
    - Pods may name a node before the node is known; that NodeInfo has `node` None
      and is not offered to the scheduling cycle until the Node arrives.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}
        self._schedulable: list[NodeInfo] | None = None  # nodes with a Node object, cached

    # --- reads ---------------------------------------------------------------------

    def node_infos(self) -> list[NodeInfo]:
        """The NodeInfos the scheduling cycle may choose from, in a stable order."""
        if self._schedulable is None:
            self._schedulable = [n for n in self._nodes.values() if n.node is not None]
        return self._schedulable

    def get_node_info(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def is_assumed(self, uid: str) -> bool:
        state = self._pods.get(uid)
        return state is not None and state.assumed

    def pod_count(self) -> int:
        return len(self._pods)

    # --- nodes ---------------------------------------------------------------------

    def add_node(self, node: Node) -> None:
        name = node.metadata.name or ""
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(name)
        info.set_node(node)
        self._schedulable = None

    update_node = add_node

    def remove_node(self, node: Node) -> None:
        name = node.metadata.name or ""
        info = self._nodes.get(name)
        if info is None:
            return
        if info.pods:
            info.set_node(None)  # its pods are still there until they are deleted
        else:
            del self._nodes[name]
        self._schedulable = None

    # --- pods ----------------------------------------------------------------------

    def assume_pod(self, info: PodInfo) -> None:
        """Count `info` (already carrying its chosen node_name) before binding."""
        if info.uid in self._pods:
            raise ValueError(f"pod {info.key} is already in the cache")
        self._node_for(info.node_name).add_pod(info)
        self._pods[info.uid] = _PodState(info, assumed=True)

    def forget_pod(self, info: PodInfo) -> None:
        """Undo `assume_pod` after a failed binding cycle; a confirmed pod is left alone."""
        state = self._pods.get(info.uid)
        if state is not None and state.assumed:
            self._remove(info.uid)

    def add_pod(self, pod: Pod) -> None:
        """A bound pod seen by the informer (possibly one we assumed)."""
        info = PodInfo(pod)
        if info.uid in self._pods:
            self._remove(info.uid)  # replaces the assumed copy (or a stale one)
        self._node_for(info.node_name).add_pod(info)
        self._pods[info.uid] = _PodState(info, assumed=False)

    update_pod = add_pod

    def remove_pod(self, pod: Pod) -> None:
        uid = pod.metadata.uid or ""
        if uid in self._pods:
            self._remove(uid)

    def _remove(self, uid: str) -> None:
        state = self._pods.pop(uid)
        node = self._nodes.get(state.info.node_name)
        if node is None:
            return
        node.remove_pod(uid)
        if node.node is None and not node.pods:
            del self._nodes[node.name]
            self._schedulable = None

    def _node_for(self, name: str) -> NodeInfo:
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(name)
        return info
