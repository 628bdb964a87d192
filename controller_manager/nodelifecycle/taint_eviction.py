"""Taint-based eviction: pods leave a node whose NoExecute taints they stop tolerating.

When a node carries NoExecute taints (the node lifecycle controller adds
`node.kubernetes.io/unreachable` and `node.kubernetes.io/not-ready`), every pod on
it is checked:

- a taint no toleration of the pod matches: the pod is deleted at once;
- all taints tolerated: the pod is deleted once the shortest `tolerationSeconds`
  among the matching tolerations has passed since the taint was first seen on its
  node here; tolerations without tolerationSeconds tolerate forever;
- the taints go away first: the pending eviction is cancelled.

Kubernetes' DefaultTolerationSeconds admission plugin gives every pod tolerations
for not-ready/unreachable with tolerationSeconds=300. tinykube's API server has no
such plugin, so this controller applies the same rule itself with a configurable
`default_toleration_seconds` (300 like Kubernetes; the lab uses ~10 s so a demo
reschedules within half a minute).

Kubernetes counterpart: pkg/controller/tainteviction/taint_eviction.go,
plugin/pkg/admission/defaulttolerationseconds/admission.go
"""

from __future__ import annotations

import logging

from controller_manager.controller_utils import Controller
from tinykube.api.core import Node, Pod, Taint, TaintEffect, Toleration
from tinykube.api.resources import PODS
from tinykube.client import (
    NODE_NAME_INDEX, Clock, Conflict, EventRecorder, NotFound, RESTClient, SharedInformer,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
NO_EXECUTE = TaintEffect.NO_EXECUTE


def with_default_tolerations(tolerations: list[Toleration], default_seconds: int) -> list[Toleration]:
    """The pod's tolerations plus what DefaultTolerationSeconds admission would add."""
    result = list(tolerations)
    for key in (TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE):
        taint = Taint(key=key, effect=NO_EXECUTE)
        if not any(t.tolerates_taint(taint) for t in tolerations):
            result.append(Toleration(key=key, operator="Exists", effect=NO_EXECUTE,
                                     toleration_seconds=default_seconds))
    return result


def min_toleration_seconds(taints: list[Taint], tolerations: list[Toleration]) -> float | None:
    """Seconds the pod may stay despite `taints`: 0 if one is not tolerated, None forever."""
    used: list[Toleration] = []
    for taint in taints:
        matching = [t for t in tolerations if t.tolerates_taint(taint)]
        if not matching:
            return 0.0
        used.extend(matching)
    seconds = [t.toleration_seconds for t in used if t.toleration_seconds is not None]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


class TaintEvictionController(Controller):
    """Deletes pods from NoExecute-tainted nodes after their toleration runs out.

    - Handlers enqueue pod keys; `sync_pod` decides from the node and pod caches.
    - A pending eviction is a delayed re-queue of the pod key, not a timer of its own.
    """

    name = "taint-eviction"

    def __init__(self, client: RESTClient, recorder: EventRecorder, clock: Clock,
                 pod_informer: SharedInformer, node_informer: SharedInformer, *,
                 default_toleration_seconds: int = 300) -> None:
        super().__init__(client, recorder, self.sync_pod, clock=clock)
        self.pod_informer = pod_informer
        self.node_informer = node_informer
        self.default_toleration_seconds = default_toleration_seconds
        # pod key -> (uid, clock.now() when its node's NoExecute taints were first seen)
        self.eviction_started: dict[str, tuple[str, float]] = {}
        pod_informer.add_event_handler(on_add=self.enqueue_pod,
                                       on_update=lambda old, new: self.enqueue_pod(new))
        node_informer.add_event_handler(on_add=self.enqueue_node_pods, on_update=self.on_node_update)

    def enqueue_pod(self, pod: Pod) -> None:
        if pod.spec is not None and pod.spec.node_name:
            self.enqueue(pod)

    def enqueue_node_pods(self, node: Node) -> None:
        if no_execute_taints(node):
            for pod in self.pod_informer.indexer.by_index(NODE_NAME_INDEX, node.metadata.name or ""):
                self.enqueue(pod)

    def on_node_update(self, old: Node, new: Node) -> None:
        if no_execute_taints(old) != no_execute_taints(new):
            for pod in self.pod_informer.indexer.by_index(NODE_NAME_INDEX, new.metadata.name or ""):
                self.enqueue(pod)

    async def sync_pod(self, key: str) -> None:
        pod: Pod | None = self.pod_informer.indexer.get(key)
        if pod is None or pod.metadata.deletion_timestamp:
            self.eviction_started.pop(key, None)
            return
        node_name = (pod.spec.node_name if pod.spec else None) or ""
        node: Node | None = self.node_informer.indexer.get(node_name)
        taints = no_execute_taints(node)
        if not taints:
            self.eviction_started.pop(key, None)
            return
        tolerations = with_default_tolerations(list((pod.spec.tolerations if pod.spec else None) or ()),
                                               self.default_toleration_seconds)
        seconds = min_toleration_seconds(taints, tolerations)
        if seconds is None:
            self.eviction_started.pop(key, None)
            return
        uid = pod.metadata.uid or ""
        now = self.clock.now()
        started = self.eviction_started.get(key)
        if started is None or started[0] != uid:
            started = (uid, now)
            self.eviction_started[key] = started
        remaining = started[1] + seconds - now
        if remaining > 0:
            self.queue.add_after(key, remaining)
            return
        await self.evict(pod)

    async def evict(self, pod: Pod) -> None:
        key = meta_namespace_key(pod)
        log.info("evicting pod from tainted node pod=%s node=%s", key, pod.spec.node_name if pod.spec else None)
        self.recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")
        try:
            await self.client.delete(PODS, pod.metadata.name or "", pod.metadata.namespace,
                                     preconditions={"uid": pod.metadata.uid or ""})
        except (NotFound, Conflict):
            pass  # gone already, or a new pod holds the name
        self.eviction_started.pop(key, None)


def no_execute_taints(node: Node | None) -> list[Taint]:
    if node is None or node.spec is None:
        return []
    return [t for t in node.spec.taints or () if t.effect == NO_EXECUTE]
