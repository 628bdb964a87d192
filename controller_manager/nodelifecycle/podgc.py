"""Pod garbage collection: pods bound to a Node that no longer exists are removed.

A pod whose `spec.nodeName` names no Node has nobody to run or stop it: no kubelet
will ever confirm its graceful deletion. After a quarantine (the Node may only be
missing from a lagging cache, or be re-registering) the Node's absence is confirmed
with a live GET, and the pods are force-deleted (grace period 0).

Kubernetes counterpart: pkg/controller/podgc/gc_controller.go (gcOrphaned)
"""

from __future__ import annotations

import logging

from controller_manager.controller_utils import Controller
from tinykube.api.core import Node, Pod
from tinykube.api.resources import NODES, PODS
from tinykube.client import NODE_NAME_INDEX, Clock, Conflict, EventRecorder, NotFound, RESTClient, SharedInformer

log = logging.getLogger(__name__)


class PodGCController(Controller):
    """Force-deletes pods bound to Nodes that are gone.

    - Keys are node names; one is queued `quarantine_seconds` after its Node was
      deleted, or after a pod bound to an unknown node was seen.
    - Acts only after a live GET of the Node answers 404.
    """

    name = "pod-gc"

    def __init__(self, client: RESTClient, recorder: EventRecorder, clock: Clock,
                 pod_informer: SharedInformer, node_informer: SharedInformer, *,
                 quarantine_seconds: float = 40.0) -> None:
        self.quarantine_seconds = quarantine_seconds
        super().__init__(client, recorder, self.sync_orphaned_node, clock=clock)
        self.pod_informer, self.node_informer = pod_informer, node_informer
        pod_informer.add_event_handler(on_add=self.check_pod, on_update=lambda old, new: self.check_pod(new))
        node_informer.add_event_handler(on_delete=self.on_node_delete)

    def check_pod(self, pod: Pod) -> None:
        node_name = pod.spec.node_name if pod.spec else None
        if node_name and self.node_informer.has_synced() and self.node_informer.indexer.get(node_name) is None:
            self.queue.add_after(node_name, self.quarantine_seconds)

    def on_node_delete(self, node: Node) -> None:
        self.queue.add_after(node.metadata.name or "", self.quarantine_seconds)

    def check_all_pods(self) -> None:
        """At start: pods whose node vanished while nobody was watching."""
        for pod in self.pod_informer.indexer.list():
            self.check_pod(pod)

    async def sync_orphaned_node(self, node_name: str) -> None:
        if self.node_informer.indexer.get(node_name) is not None:
            return
        pods: list[Pod] = self.pod_informer.indexer.by_index(NODE_NAME_INDEX, node_name)
        if not pods:
            return
        try:
            await self.client.get(NODES, node_name)
            return  # it exists after all (our cache lags)
        except NotFound:
            pass
        for pod in pods:
            log.info("deleting pod bound to a node that does not exist pod=%s/%s node=%s",
                     pod.metadata.namespace, pod.metadata.name, node_name)
            self.recorder.event(pod, "Normal", "PodGCOrphaned", f"Deleting pod: node {node_name} does not exist")
            try:
                await self.client.delete(PODS, pod.metadata.name or "", pod.metadata.namespace,
                                         grace_period_seconds=0, preconditions={"uid": pod.metadata.uid or ""})
            except (NotFound, Conflict):
                continue
