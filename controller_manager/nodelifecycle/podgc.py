"""Pod garbage collection: pods bound to a Node that no longer exists are removed.

A pod whose `spec.nodeName` names no Node has nobody to run or stop it: no kubelet
will ever confirm its graceful deletion. After a quarantine (the Node may only be
missing from a lagging cache, or be re-registering) the Node's absence is confirmed
with a live GET, and the pods are force-deleted (grace period 0).

Kubernetes counterpart: pkg/controller/podgc/gc_controller.go (gcOrphaned)
"""

from __future__ import annotations

import logging
from typing import Any

from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client import (
    NODE_NAME_INDEX,
    Clock,
    Conflict,
    EventRecorder,
    NotFound,
    RateLimitingQueue,
    RESTClient,
    SharedInformer,
    meta_namespace_key,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS: ResourceInfo = INDEX.by_name("pods")  # type: ignore[assignment]
NODES: ResourceInfo = INDEX.by_name("nodes")  # type: ignore[assignment]


class PodGCController:
    """Force-deletes pods bound to Nodes that are gone.

    - Keys are node names; one is queued `quarantine_seconds` after its Node was
      deleted, or after a pod bound to an unknown node was seen.
    - Acts only after a live GET of the Node answers 404.
    """

    def __init__(self, client: RESTClient, recorder: EventRecorder, clock: Clock,
                 pod_informer: SharedInformer, node_informer: SharedInformer, *,
                 quarantine_seconds: float = 40.0) -> None:
        self.client = client
        self.recorder = recorder
        self.pod_informer = pod_informer
        self.node_informer = node_informer
        self.quarantine_seconds = quarantine_seconds
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock, name="pod_gc")
        pod_informer.add_event_handler(on_add=self.check_pod,
                                       on_update=lambda old, new: self.check_pod(new))
        node_informer.add_event_handler(on_delete=self.on_node_delete)

    def check_pod(self, pod: Obj) -> None:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name and self.node_informer.has_synced() and \
                self.node_informer.indexer.get(str(node_name)) is None:
            self.queue.add_after(str(node_name), self.quarantine_seconds)

    def on_node_delete(self, node: Obj) -> None:
        self.queue.add_after(str(node["metadata"]["name"]), self.quarantine_seconds)

    def check_all_pods(self) -> None:
        """At start: pods whose node vanished while nobody was watching."""
        for pod in self.pod_informer.indexer.list():
            self.check_pod(pod)

    async def sync_orphaned_node(self, node_name: str) -> None:
        if self.node_informer.indexer.get(node_name) is not None:
            return
        pods = self.pod_informer.indexer.by_index(NODE_NAME_INDEX, node_name)
        if not pods:
            return
        try:
            await self.client.get(NODES, node_name)
            return  # it exists after all (our cache lags)
        except NotFound:
            pass
        for pod in pods:
            meta = pod["metadata"]
            log.info("deleting pod bound to a node that does not exist pod=%s node=%s",
                     meta_namespace_key(pod), node_name)
            self.recorder.event(pod, "Normal", "PodGCOrphaned",
                                f"Deleting pod: node {node_name} does not exist")
            try:
                await self.client.delete(PODS, str(meta["name"]), str(meta["namespace"]),
                                         grace_period_seconds=0,
                                         preconditions={"uid": str(meta.get("uid", ""))})
            except (NotFound, Conflict):
                continue
