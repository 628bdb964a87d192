"""The node lifecycle controller: notices silent nodes, taints them, empties them.

A kubelet proves it is alive two ways: it renews its Lease in `kube-node-lease`
(cheap, every few seconds) and posts the node's Ready condition with a
lastHeartbeatTime. Every `node_monitor_period_seconds` `monitor_node_health`
compares both with what it saw last time; the moment either changes counts as the
node's last probe, *on this controller's clock* (so clock skew between machines
never matters). A node silent for longer than `node_monitor_grace_period_seconds`
(`node_startup_grace_period_seconds` before it ever posted Ready) gets its
Ready/MemoryPressure/DiskPressure/PIDPressure conditions set to Unknown and its pods
marked not ready, so Services stop sending them traffic.

`sync_node_taints` keeps taints level-triggered in step with Ready:
Ready=Unknown → `node.kubernetes.io/unreachable` (NoSchedule + NoExecute),
Ready=False → `node.kubernetes.io/not-ready` (NoSchedule + NoExecute), Ready=True →
neither. The NoExecute taints drive `TaintEvictionController`; `PodGCController`
removes pods of deleted nodes.

Defaults follow Kubernetes (grace 40 s, toleration 300 s). The lab and the demos
use `node_monitor_grace_period_seconds=10`, `node_monitor_period_seconds=1`,
`default_toleration_seconds=10`, `pod_gc_quarantine_seconds=5`: a stopped node's
pods are evicted ~20 s after its last heartbeat and rescheduled right after.
Not modelled: zones and the eviction rate limits of a disrupted zone.

Kubernetes counterpart: pkg/controller/nodelifecycle/node_lifecycle_controller.go,
pkg/controller/util/node/controller_utils.go (MarkPodsNotReady)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from controller_manager.controller_utils import Controller
from controller_manager.nodelifecycle.podgc import PodGCController
from controller_manager.nodelifecycle.taint_eviction import (
    NO_EXECUTE, TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, TaintEvictionController,
)
from tinykube.api.core import Node, NodeCondition, NodeSpec, NodeStatus, Taint, TaintEffect
from tinykube.api.meta import get_condition, now_rfc3339
from tinykube.api.other import Lease
from tinykube.api.registry import deep_copy
from tinykube.api.resources import LEASES, NODES, PODS
from tinykube.client import (
    NODE_NAME_INDEX, REAL_CLOCK, Clock, Conflict, EventRecorder, NotFound, RESTClient,
    SharedInformerFactory,
)

log = logging.getLogger(__name__)

NODE_LEASE_NAMESPACE = "kube-node-lease"
NO_SCHEDULE = TaintEffect.NO_SCHEDULE
# Conditions the kubelet owns; all become Unknown when it goes silent.
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
OWN_TAINT_KEYS = (TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE)


@dataclass
class NodeHealth:
    """What this controller last saw of one node, and when it last changed."""

    probe_timestamp: float
    ready_heartbeat: str | None
    lease_renew_time: str | None


def get_node_condition(node: Node, condition_type: str) -> NodeCondition | None:
    return get_condition(node.status.conditions if node.status else None, condition_type)


def desired_taint_keys(node: Node) -> set[str]:
    ready = get_node_condition(node, "Ready")
    status = ready.status if ready else None
    if status == "Unknown":
        return {TAINT_NODE_UNREACHABLE}
    if status == "False":
        return {TAINT_NODE_NOT_READY}
    return set()


class NodeLifecycleController(Controller):
    """Monitors node heartbeats; taints and evicts silent nodes; cleans up after gone ones.

    - Never trusts timestamps written by other machines for durations: only the
      moment a heartbeat *changed* here, on the injected clock.
    - Status (conditions) and spec (taints) are separate writes, as upstream.
    """

    name = "nodelifecycle"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory,
                 recorder: EventRecorder, *, clock: Clock = REAL_CLOCK,
                 node_monitor_grace_period_seconds: float = 40.0,
                 node_startup_grace_period_seconds: float = 60.0,
                 node_monitor_period_seconds: float = 5.0,
                 default_toleration_seconds: int | None = None,
                 pod_gc_quarantine_seconds: float = 40.0, **options: Any) -> None:
        if default_toleration_seconds is None:
            # --pod-eviction-timeout is the flag that sets it on the command line.
            default_toleration_seconds = int(options.get("pod_eviction_timeout_seconds") or 300)
        super().__init__(client, recorder, self.sync_node_taints, clock=clock)
        self.grace_period_seconds = float(node_monitor_grace_period_seconds)
        self.startup_grace_period_seconds = float(node_startup_grace_period_seconds)
        self.monitor_period_seconds = float(node_monitor_period_seconds)
        self.node_health: dict[str, NodeHealth] = {}
        self.node_informer = factory.informer_for(NODES)
        self.pod_informer = factory.informer_for(PODS)
        self.lease_informer = factory.informer_for(LEASES)
        self.node_informer.add_event_handler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new), on_delete=self.forget_node)
        self.taint_eviction = TaintEvictionController(
            client, recorder, clock, self.pod_informer, self.node_informer,
            default_toleration_seconds=int(default_toleration_seconds))
        self.pod_gc = PodGCController(client, recorder, clock, self.pod_informer,
                                      self.node_informer, quarantine_seconds=float(pod_gc_quarantine_seconds))

    def forget_node(self, node: Node) -> None:
        self.node_health.pop(node.metadata.name or "", None)

    async def run(self, workers: int) -> None:
        """The health monitor, the taint workers, and the two controllers it carries."""
        self.pod_gc.check_all_pods()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._monitor_loop())
            group.create_task(super().run(workers))
            group.create_task(self.taint_eviction.run(workers))
            group.create_task(self.pod_gc.run(1))

    async def _monitor_loop(self) -> None:
        while True:
            try:
                await self.monitor_node_health()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("monitoring node health failed")
            await self.clock.sleep(self.monitor_period_seconds)

    # --- health ------------------------------------------------------------------------

    async def monitor_node_health(self) -> None:
        """One pass over all nodes: record heartbeats, mark silent nodes Unknown."""
        now = self.clock.now()
        for node in self.node_informer.indexer.list():
            name = node.metadata.name or ""
            ready = get_node_condition(node, "Ready")
            heartbeat = ready.last_heartbeat_time if ready else None
            lease: Lease | None = self.lease_informer.indexer.get(f"{NODE_LEASE_NAMESPACE}/{name}")
            renew_time = lease.spec.renew_time if lease and lease.spec else None
            health = self.node_health.get(name)
            if health is None:
                health = NodeHealth(now, heartbeat, renew_time)
                self.node_health[name] = health
            if heartbeat != health.ready_heartbeat or (renew_time and renew_time != health.lease_renew_time):
                health.probe_timestamp = now
                health.ready_heartbeat, health.lease_renew_time = heartbeat, renew_time
            grace = self.grace_period_seconds if ready else self.startup_grace_period_seconds
            silent = now - health.probe_timestamp > grace
            if silent and (ready is None or ready.status != "Unknown"):
                try:
                    await self.mark_node_unknown(node, silent_seconds=now - health.probe_timestamp)
                except (Conflict, NotFound) as err:
                    log.info("could not mark node unknown, next pass retries node=%s err=%r", name, err)

    async def mark_node_unknown(self, node: Node, silent_seconds: float) -> None:
        name = node.metadata.name or ""
        new = deep_copy(node)
        new.status = new.status or NodeStatus()
        conditions = new.status.conditions = list(new.status.conditions or ())
        timestamp = now_rfc3339(self.clock.wall)
        ready = get_node_condition(node, "Ready")
        was_ready = ready is not None and ready.status == "True"
        if ready is None:
            conditions.append(NodeCondition(
                type="Ready", status="Unknown", reason="NodeStatusNeverUpdated",
                message="Kubelet never posted node status.",
                last_heartbeat_time=node.metadata.creation_timestamp, last_transition_time=timestamp))
        for condition in conditions:
            if condition.type in KUBELET_CONDITIONS and condition.status != "Unknown":
                condition.status, condition.reason = "Unknown", "NodeStatusUnknown"
                condition.message = "Kubelet stopped posting node status."
                condition.last_transition_time = timestamp
        log.info("node stopped posting status, marking it Unknown node=%s silent_seconds=%.1f",
                 name, silent_seconds)
        await self.client.update_status(NODES, new)
        self.recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        if was_ready:
            await self.mark_pods_not_ready(name)

    async def mark_pods_not_ready(self, node_name: str) -> None:
        """Ready=False on the node's pods, so endpoints drop them (MarkPodsNotReady)."""
        for pod in self.pod_informer.indexer.by_index(NODE_NAME_INDEX, node_name):
            ready = get_condition(pod.status.conditions if pod.status else None, "Ready")
            if pod.metadata.deletion_timestamp or ready is None or ready.status == "False":
                continue
            new = deep_copy(pod)
            new_ready = get_condition(new.status.conditions, "Ready")
            new_ready.status, new_ready.last_transition_time = "False", now_rfc3339(self.clock.wall)
            try:
                await self.client.update_status(PODS, new)
                self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")
            except (Conflict, NotFound) as err:
                log.info("could not mark pod not ready pod=%s/%s err=%r",
                         pod.metadata.namespace, pod.metadata.name, err)

    # --- taints ------------------------------------------------------------------------

    async def sync_node_taints(self, name: str) -> None:
        """Make the node's not-ready/unreachable taints match its Ready condition."""
        node: Node | None = self.node_informer.indexer.get(name)
        if node is None:
            return
        current: list[Taint] = list((node.spec.taints if node.spec else None) or ())
        wanted_keys = desired_taint_keys(node)
        desired = [t for t in current if t.key not in OWN_TAINT_KEYS
                   or (t.key in wanted_keys and t.effect in (NO_SCHEDULE, NO_EXECUTE))]
        for key in sorted(wanted_keys):
            for effect in (NO_SCHEDULE, NO_EXECUTE):
                if not any(t.key == key and t.effect == effect for t in desired):
                    time_added = now_rfc3339(self.clock.wall) if effect == NO_EXECUTE else None
                    desired.append(Taint(key=key, effect=effect, time_added=time_added))
        if desired == current:
            return
        new = deep_copy(node)
        new.spec = new.spec or NodeSpec()
        new.spec.taints = desired or None
        log.info("updating node taints node=%s taints=%s", name,
                 sorted(f"{t.key}:{t.effect}" for t in desired if t.key in OWN_TAINT_KEYS))
        await self.client.update_object(new)
