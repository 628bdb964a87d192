"""The scheduler: informers feed a cache and a queue; one loop places pods; binds run
concurrently.

Per pod (`schedule_one`):
1. pop the next pod from the scheduling queue;
2. **scheduling cycle** (synchronous, one pod at a time): filter + score on the
   cache (`algorithm.schedule_pod`), then *assume* the pod on the chosen node in
   the cache, so the next pod already sees that node's resources as taken;
3. **binding cycle** (a task, many in flight): POST pods/{name}/binding. Success
   records a "Scheduled" event; failure forgets the assumed pod and puts the pod
   back in the queue with backoff.

A pod no node fits gets the FailedScheduling event and PodScheduled=False
(reason Unschedulable, the FitError message), and waits in the queue's
unschedulable pool until a node is added or changed or an assigned pod is deleted.

Informers: one for nodes, one for all non-terminal pods (upstream's field
selector `status.phase!=Succeeded,status.phase!=Failed`). Its handlers route each
pod: with spec.nodeName to the cache, without (and for our schedulerName) to the
queue. One stream means a pod's move from pending to bound arrives as one update,
in order.

Kubernetes counterpart: pkg/scheduler/scheduler.go, pkg/scheduler/schedule_one.go,
pkg/scheduler/eventhandlers.go
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

import httpx

from scheduler.algorithm import FitError, schedule_pod
from scheduler.cache import SchedulerCache
from scheduler.plugins import Profile, default_profile
from scheduler.queue import QueuedPodInfo, SchedulingQueue, pod_key
from scheduler.types import Obj
from tinykube.api.meta import format_rfc3339
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import APIStatusError, NotFound
from tinykube.client.events import EventType
from tinykube.client.informer import SharedInformer

log = logging.getLogger(__name__)

PODS: ResourceInfo = INDEX.by_name("pods")  # type: ignore[assignment]
NODES: ResourceInfo = INDEX.by_name("nodes")  # type: ignore[assignment]
NON_TERMINAL_PODS = "status.phase!=Succeeded,status.phase!=Failed"
DEFAULT_BIND_CONCURRENCY = 64


class SchedulerClient(Protocol):
    """The two writes the scheduler makes; `RESTClient` provides them."""

    async def create_subresource(self, info: ResourceInfo, name: str, subresource: str,
                                 body: Any, namespace: str | None = None) -> Obj: ...

    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Obj: ...


class Recorder(Protocol):
    def event(self, obj: Obj, type: str, reason: str, message: str) -> None: ...


class Scheduler:
    """Places pending pods of `profile.scheduler_name` on nodes.

    - A pod is assumed in the cache before its binding is sent and forgotten if
      the binding fails; it is never bound twice by this process.
    - Handlers only update the cache and the queue; all API writes happen in the
      scheduling loop and the binding tasks.
    """

    def __init__(self, client: SchedulerClient, recorder: Recorder, *,
                 profile: Profile | None = None, clock: Clock = REAL_CLOCK,
                 rng: Callable[[], float] = random.random,
                 queue: SchedulingQueue | None = None,
                 bind_concurrency: int = DEFAULT_BIND_CONCURRENCY) -> None:
        self.client, self.recorder = client, recorder
        self.profile = profile or default_profile()
        self.clock, self.rng = clock, rng
        self.cache = SchedulerCache()
        self.queue = queue or SchedulingQueue(clock)
        self.pods: dict[str, Obj] = {}  # the latest pending pod object by key, for requeue checks
        self._bind_slots = asyncio.Semaphore(bind_concurrency)
        self._binding_tasks: set[asyncio.Task[None]] = set()

    # --- wiring --------------------------------------------------------------------

    def add_event_handlers(self, pod_informer: SharedInformer, node_informer: SharedInformer) -> None:
        pod_informer.add_event_handler(self.on_pod_add, self.on_pod_update, self.on_pod_delete)
        node_informer.add_event_handler(self.on_node_add, self.on_node_update, self.on_node_delete)

    def responsible_for(self, pod: Obj) -> bool:
        name = (pod.get("spec") or {}).get("schedulerName") or "default-scheduler"
        return bool(name == self.profile.scheduler_name)

    # --- event handlers --------------------------------------------------------------

    def on_pod_add(self, pod: Obj) -> None:
        if _assigned(pod):
            self.cache.add_pod(pod)
        elif self.responsible_for(pod):
            self.pods[pod_key(pod)] = pod
            self.queue.add(pod)

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        if _assigned(new):
            if not _assigned(old):  # just bound, by us or by someone else
                self.pods.pop(pod_key(new), None)
                self.queue.delete(old)
            self.cache.update_pod(new)
        elif self.responsible_for(new):
            self.pods[pod_key(new)] = new
            if not self.cache.is_assumed(_uid(new)):  # a bind in flight decides its fate
                self.queue.update(old, new)

    def on_pod_delete(self, pod: Obj) -> None:
        if _assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")
        else:
            self.pods.pop(pod_key(pod), None)
            self.queue.delete(pod)

    def on_node_add(self, node: Obj) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def on_node_update(self, old: Obj, new: Obj) -> None:
        self.cache.update_node(new)
        if _node_scheduling_properties(old) != _node_scheduling_properties(new):
            self.queue.move_all_to_active_or_backoff("NodeUpdate")

    def on_node_delete(self, node: Obj) -> None:
        self.cache.remove_node(node)

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
        if pod is None or _uid(pod) != info.uid or (pod.get("metadata") or {}).get("deletionTimestamp") \
                or self.cache.is_assumed(info.uid):
            return  # deleted, recreated, terminating or already being bound: nothing to do
        try:
            result = schedule_pod(self.profile, info, self.cache.node_infos(), self.rng)
        except FitError as err:
            self.handle_scheduling_failure(queued, cycle, err.message(),
                                           "Unschedulable" if err.num_all_nodes else "SchedulerError")
            return
        assumed = info.with_node(result.suggested_host)
        self.cache.assume_pod(assumed)
        log.debug("assumed pod=%s node=%s feasible=%d/%d", info.key, result.suggested_host,
                  result.feasible_nodes, result.evaluated_nodes)
        await self._bind_slots.acquire()
        task = asyncio.create_task(self.binding_cycle(queued, cycle, assumed.node_name),
                                   name=f"bind {info.key}")
        self._binding_tasks.add(task)
        task.add_done_callback(self._binding_tasks.discard)

    async def binding_cycle(self, queued: QueuedPodInfo, cycle: int, node_name: str) -> None:
        info = queued.pod_info
        namespace, name = info.key.split("/", 1)
        try:
            await self.bind(namespace, name, info.uid, node_name)
        except (APIStatusError, httpx.HTTPError) as err:
            self.cache.forget_pod(info.with_node(node_name))
            log.warning("binding rejected pod=%s node=%s err=%s", info.key, node_name, err)
            self.handle_scheduling_failure(queued, cycle, f"Binding rejected: {err}", "SchedulerError",
                                           error=True)
            return
        finally:
            self._bind_slots.release()
        log.info("bound pod=%s node=%s attempts=%d", info.key, node_name, queued.attempts)
        self.recorder.event(info.pod, EventType.NORMAL, "Scheduled",
                            f"Successfully assigned {info.key} to {node_name}")

    async def bind(self, namespace: str, name: str, uid: str, node_name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": name, "namespace": namespace, "uid": uid},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        await self.client.create_subresource(PODS, name, "binding", body, namespace)

    # --- failures ---------------------------------------------------------------------

    def handle_scheduling_failure(self, queued: QueuedPodInfo, cycle: int, message: str, reason: str,
                                  *, error: bool = False) -> None:
        info = queued.pod_info
        log.info("unable to schedule pod=%s reason=%s msg=%r", info.key, reason, message)
        self.recorder.event(info.pod, EventType.WARNING, "FailedScheduling", message)
        current = self.pods.get(info.key)
        if current is None or _uid(current) != info.uid or _assigned(current):
            return  # deleted or bound meanwhile: nothing to retry
        queued.unschedulable_reasons = [message]
        self.queue.add_unschedulable_if_not_present(queued, cycle, error=error)
        if _has_condition(current, "PodScheduled", "False", reason, message):
            return
        task = asyncio.create_task(self.update_pod_scheduled_condition(current, reason, message))
        self._binding_tasks.add(task)
        task.add_done_callback(self._binding_tasks.discard)

    async def update_pod_scheduled_condition(self, pod: Obj, reason: str, message: str) -> None:
        meta = pod["metadata"]
        now = format_rfc3339(datetime.fromtimestamp(self.clock.wall(), tz=timezone.utc))
        condition = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message,
                     "lastProbeTime": None, "lastTransitionTime": now}
        patch = {"metadata": {"uid": meta.get("uid")}, "status": {"conditions": [condition]}}
        try:
            await self.client.patch(PODS, meta["name"], patch, patch_type="strategic",
                                    namespace=meta.get("namespace"), subresource="status")
        except NotFound:
            pass
        except (APIStatusError, httpx.HTTPError) as err:
            log.warning("updating PodScheduled failed pod=%s err=%s", pod_key(pod), err)


def _uid(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _has_condition(pod: Obj, type_: str, status: str, reason: str, message: str) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == type_:
            return bool(condition.get("status") == status and condition.get("reason") == reason
                        and condition.get("message") == message)
    return False


def _node_scheduling_properties(node: Obj) -> tuple[object, ...]:
    """What a node update must change to be worth retrying unschedulable pods."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    conditions = sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or [])
    return (meta.get("labels"), spec.get("taints"), spec.get("unschedulable"),
            status.get("allocatable"), conditions)
