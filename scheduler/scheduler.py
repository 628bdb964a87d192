"""The scheduler: informers feed a cache and a queue; one loop places pods; binds run
concurrently.

Per pod (`schedule_one`), with one `CycleState` for the whole attempt:
1. pop the next pod from the scheduling queue;
2. **scheduling cycle** (synchronous, one pod at a time): PreFilter, Filter and
   Score on the cache (`algorithm.schedule_pod`), then *assume* the pod on the
   chosen node in the cache, so the next pod already sees that node's resources as
   taken, and run the Reserve plugins;
3. **binding cycle** (a task, many in flight): the PreBind plugins, then the Bind
   plugins (DefaultBinder POSTs pods/{name}/binding). Success records a
   "Scheduled" event. A failure of Reserve, PreBind or Bind runs every Unreserve,
   forgets the assumed pod and puts the pod back in the queue with backoff.

A pod no node fits gets the FailedScheduling event and PodScheduled=False
(reason Unschedulable, the FitError message), and waits in the queue's
unschedulable pool until a node is added or changed or an assigned pod is deleted.

Informers (typed: handlers get `Pod` and `Node` models, parsed once per event):
one for nodes, one for all non-terminal pods (upstream's field selector
`status.phase!=Succeeded,status.phase!=Failed`). Its handlers route each pod: with
spec.nodeName to the cache, without (and for our schedulerName) to the queue. One
stream means a pod's move from pending to bound arrives as one update, in order.

Kubernetes counterpart: pkg/scheduler/scheduler.go, pkg/scheduler/schedule_one.go,
pkg/scheduler/eventhandlers.go
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any, Protocol

from scheduler.algorithm import FitError, SchedulingError, schedule_pod
from scheduler.cache import SchedulerCache
from scheduler.cycle_state import CycleState
from scheduler.framework import Status
from scheduler.plugins import DEFAULT_SCHEDULER_NAME, default_profile
from scheduler.queue import QueuedPodInfo, SchedulingQueue
from scheduler.runtime import Framework
from scheduler.types import PodInfo
from tinykube.api.core import Node, Pod
from tinykube.api.meta import KubeObject, get_condition, meta_namespace_key, now_rfc3339
from tinykube.api.resources import PODS, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import ClientError, NotFound
from tinykube.client.events import EventType
from tinykube.client.informer import SharedInformer

log = logging.getLogger(__name__)

NON_TERMINAL_PODS = "status.phase!=Succeeded,status.phase!=Failed"
# Binds in flight. Each needs its own HTTP/1.1 connection, and httpx keeps 20 idle
# ones: beyond that, connections are closed and reopened per bind, and the pool's
# per-request bookkeeping grows with its size. One API server loop gains nothing
# from more (bench/scheduler.py: same rate, less scheduler CPU per pod at 16).
DEFAULT_BIND_CONCURRENCY = 16


class SchedulerClient(Protocol):
    """The two writes the scheduler makes (the binding via DefaultBinder); `RESTClient`
    provides them."""

    async def create_subresource(self, info: ResourceInfo, name: str, subresource: str,
                                 body: Any, namespace: str | None = None) -> Any: ...

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Any: ...


class Recorder(Protocol):
    def event(self, obj: KubeObject, type: str, reason: str, message: str) -> None: ...


class Scheduler:
    """Places pending pods of `framework.scheduler_name` on nodes.

    - A pod is assumed in the cache before its binding is sent and forgotten (after
      Unreserve) if Reserve, PreBind or Bind fails; it is never bound twice by this
      process.
    - Handlers only update the cache and the queue; all API writes happen in the
      scheduling loop and the binding tasks.
    """

    def __init__(self, client: SchedulerClient, recorder: Recorder, *,
                 framework: Framework | None = None, clock: Clock = REAL_CLOCK,
                 rng: Callable[[], float] = random.random,
                 queue: SchedulingQueue | None = None,
                 bind_concurrency: int = DEFAULT_BIND_CONCURRENCY) -> None:
        self.client, self.recorder = client, recorder
        self.framework = framework or default_profile(client)
        self.clock, self.rng = clock, rng
        self.cache = SchedulerCache()
        self.queue = queue or SchedulingQueue(clock)
        self.pods: dict[str, Pod] = {}  # the latest pending pod object by key, for requeue checks
        self._bind_slots = asyncio.Semaphore(bind_concurrency)
        self._binding_tasks: set[asyncio.Task[None]] = set()

    # --- wiring --------------------------------------------------------------------

    def add_event_handlers(self, pod_informer: SharedInformer, node_informer: SharedInformer) -> None:
        pod_informer.add_event_handler(self.on_pod_add, self.on_pod_update, self.on_pod_delete)
        node_informer.add_event_handler(self.on_node_add, self.on_node_update, self.on_node_delete)

    def responsible_for(self, pod: Pod) -> bool:
        name = (pod.spec.scheduler_name if pod.spec else None) or DEFAULT_SCHEDULER_NAME
        return name == self.framework.scheduler_name

    # --- event handlers --------------------------------------------------------------

    def on_pod_add(self, pod: Pod) -> None:
        if _assigned(pod):
            self.cache.add_pod(pod)
        elif self.responsible_for(pod):
            self.pods[meta_namespace_key(pod)] = pod
            self.queue.add(pod)

    def on_pod_update(self, old: Pod, new: Pod) -> None:
        if _assigned(new):
            if not _assigned(old):  # just bound, by us or by someone else
                self.pods.pop(meta_namespace_key(new), None)
                self.queue.delete(old)
            self.cache.update_pod(new)
        elif self.responsible_for(new):
            self.pods[meta_namespace_key(new)] = new
            if not self.cache.is_assumed(new.metadata.uid or ""):  # a bind in flight decides its fate
                self.queue.update(old, new)

    def on_pod_delete(self, pod: Pod) -> None:
        if _assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")
        else:
            self.pods.pop(meta_namespace_key(pod), None)
            self.queue.delete(pod)

    def on_node_add(self, node: Node) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def on_node_update(self, old: Node, new: Node) -> None:
        self.cache.update_node(new)
        if _node_scheduling_properties(old) != _node_scheduling_properties(new):
            self.queue.move_all_to_active_or_backoff("NodeUpdate")

    def on_node_delete(self, node: Node) -> None:
        self.cache.remove_node(node)

    def storage_changed(self, volume_binding: Any) -> None:
        """A claim, volume or StorageClass changed: wake PreBinds waiting on bindings, and
        retry pods that were unschedulable for their volumes."""
        volume_binding.notify()
        self.queue.move_all_to_active_or_backoff("StorageChange")

    # --- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Schedule until cancelled (the leader's work)."""
        flusher = asyncio.create_task(self.queue.run(), name="scheduling queue flush")
        try:
            while True:
                await self.schedule_one()
        finally:
            flusher.cancel()
            for task in list(self._binding_tasks):
                task.cancel()

    async def schedule_one(self) -> None:
        queued = await self.queue.pop()
        cycle = self.queue.scheduling_cycle
        info = queued.pod_info
        pod = self.pods.get(info.key)
        if pod is None or pod.metadata.uid != info.uid or pod.metadata.deletion_timestamp \
                or self.cache.is_assumed(info.uid):
            return  # deleted, recreated, terminating or already being bound: nothing to do
        state = CycleState()
        try:
            result = schedule_pod(self.framework, state, info, self.cache.node_infos(), self.rng)
        except FitError as err:
            self.handle_scheduling_failure(queued, cycle, err.message(),
                                           "Unschedulable" if err.num_all_nodes else "SchedulerError")
            return
        except SchedulingError as err:
            self.handle_scheduling_failure(queued, cycle, str(err), "SchedulerError", error=True)
            return
        assumed = info.with_node(result.suggested_host)
        self.cache.assume_pod(assumed)
        status = self.framework.run_reserve_plugins_reserve(state, assumed, assumed.node_name)
        if not status.is_success():
            self.unreserve_and_forget(state, assumed)
            self.handle_scheduling_failure(queued, cycle, _plugin_error("Reserve", status), "SchedulerError",
                                           error=not status.is_rejected())
            return
        log.debug("assumed pod=%s node=%s feasible=%d/%d", info.key, result.suggested_host,
                  result.feasible_nodes, result.evaluated_nodes)
        await self._bind_slots.acquire()
        task = asyncio.create_task(self.binding_cycle(state, queued, cycle, assumed), name=f"bind {info.key}")
        self._binding_tasks.add(task)
        task.add_done_callback(self._binding_tasks.discard)

    async def binding_cycle(self, state: CycleState, queued: QueuedPodInfo, cycle: int,
                            assumed: PodInfo) -> None:
        node_name = assumed.node_name
        try:
            status = await self.framework.run_pre_bind_plugins(state, assumed, node_name)
            if not status.is_success():
                message = _plugin_error("PreBind", status)
            else:
                status = await self.framework.run_bind_plugins(state, assumed, node_name)
                message = f"Binding rejected: {status.message()}"
        finally:
            self._bind_slots.release()
        if not status.is_success():
            log.warning("binding cycle failed pod=%s node=%s msg=%s", assumed.key, node_name, message)
            self.unreserve_and_forget(state, assumed)
            self.handle_scheduling_failure(queued, cycle, message, "SchedulerError", error=True)
            return
        log.info("bound pod=%s node=%s attempts=%d", assumed.key, node_name, queued.attempts)
        self.recorder.event(queued.pod_info.pod, EventType.NORMAL, "Scheduled",
                            f"Successfully assigned {assumed.key} to {node_name}")

    def unreserve_and_forget(self, state: CycleState, assumed: PodInfo) -> None:
        """Undo Reserve (every plugin, in reverse) and the cache's assumption."""
        self.framework.run_reserve_plugins_unreserve(state, assumed, assumed.node_name)
        self.cache.forget_pod(assumed)

    # --- failures ---------------------------------------------------------------------

    def handle_scheduling_failure(self, queued: QueuedPodInfo, cycle: int, message: str, reason: str,
                                  *, error: bool = False) -> None:
        info = queued.pod_info
        log.info("unable to schedule pod=%s reason=%s msg=%r", info.key, reason, message)
        self.recorder.event(info.pod, EventType.WARNING, "FailedScheduling", message)
        current = self.pods.get(info.key)
        if current is None or current.metadata.uid != info.uid or _assigned(current):
            return  # deleted or bound meanwhile: nothing to retry
        queued.unschedulable_reasons = [message]
        self.queue.add_unschedulable_if_not_present(queued, cycle, error=error)
        if _has_condition(current, "PodScheduled", "False", reason, message):
            return
        task = asyncio.create_task(self.update_pod_scheduled_condition(current, reason, message))
        self._binding_tasks.add(task)
        task.add_done_callback(self._binding_tasks.discard)

    async def update_pod_scheduled_condition(self, pod: Pod, reason: str, message: str) -> None:
        meta = pod.metadata
        condition = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message,
                     "lastProbeTime": None, "lastTransitionTime": now_rfc3339(self.clock.wall)}
        patch = {"metadata": {"uid": meta.uid}, "status": {"conditions": [condition]}}
        try:
            await self.client.patch(PODS, meta.name or "", patch, patch_type="strategic",
                                    namespace=meta.namespace, subresource="status")
        except NotFound:
            pass
        except ClientError as err:
            log.warning("updating PodScheduled failed pod=%s err=%s", meta_namespace_key(pod), err)


def _plugin_error(point: str, status: Status) -> str:
    return f"running {point} plugin {status.plugin!r}: {status.message()}"


def _assigned(pod: Pod) -> bool:
    return bool(pod.spec and pod.spec.node_name)


def _has_condition(pod: Pod, type_: str, status: str, reason: str, message: str) -> bool:
    condition = get_condition(pod.status.conditions if pod.status else None, type_)
    return condition is not None and (condition.status, condition.reason, condition.message) == \
        (status, reason, message)


def _node_scheduling_properties(node: Node) -> tuple[object, ...]:
    """What a node update must change to be worth retrying unschedulable pods."""
    spec, status = node.spec, node.status
    conditions = sorted((c.type, c.status) for c in (status.conditions if status else None) or ())
    return (node.metadata.labels, spec.taints if spec else None, spec.unschedulable if spec else None,
            status.allocatable if status else None, conditions)
