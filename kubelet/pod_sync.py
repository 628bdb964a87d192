"""Pod sync: make the runtime run what the API says is bound to this node, and report it.

The kubelet watches only its own pods (`fieldSelector=spec.nodeName=<node>`). Every
event hands the latest pod to that pod's worker (one asyncio task per pod UID, as
upstream's pod workers): a newer update replaces a pending older one, and a
pending kill is never overwritten by an update. Besides the watch, a pod is synced
again when the engine reports one of its containers died (`runtime.events()`),
when a probe result changes, when a backoff ends, and every `resync_seconds`
(which is also how changed ConfigMaps and Secrets reach mounted files).

`sync_pod` (level-triggered, idempotent):
- a pod with a deletionTimestamp is terminated: preStop hooks, SIGTERM with its
  grace period, SIGKILL after; then its containers, sandbox and volume
  directories are removed, and only then is it deleted from the API (grace 0,
  uid precondition);
- a pod whose phase is terminal (Succeeded/Failed) only has its sandbox stopped;
- otherwise: volumes set up, `compute_pod_actions` on the engine's view, the
  actions carried out by `KubeRuntimeManager`, probe workers brought in step,
  and the generated status written when it differs from the API's.
A pod that left the API, or whose sandbox the engine holds (labelled with this
node's name, so kubelets sharing an engine leave each other alone) with no such pod
bound here (found by `housekeeping` once the informer has synced: e.g. deleted
while the kubelet was down), is stopped and removed. A restarted kubelet finds
healthy containers running and keeps them: all state is read from the engine.

Kubernetes counterpart: pkg/kubelet/pod_workers.go, pkg/kubelet/kubelet.go (SyncPod,
SyncTerminatingPod, HandlePodCleanups), pkg/kubelet/status/status_manager.go,
pkg/kubelet/pleg/evented.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from kubelet.backoff import Backoff
from kubelet.kuberuntime.actions import PodActions, compute_pod_actions
from kubelet.kuberuntime.env import ObjectGetter
from kubelet.kuberuntime.manager import (
    EventSink,
    KubeletRuntime,
    KubeRuntimeManager,
    grace_period_seconds,
    pod_key,
)
from kubelet.kuberuntime.types import NODE_NAME_LABEL, PodRuntimeStatus
from kubelet.prober.manager import ProbeManager, RunningContainer
from kubelet.prober.probers import ProbeRunner, RuntimeProbeRunner
from kubelet.runtime import POD_UID_LABEL
from kubelet.status import generate_api_pod_status, status_differs
from kubelet.volumes.manager import VolumeManager
from kubelet.volumes.plugins import VolumeError
from tinykube.api.meta import format_rfc3339
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock, TimerHandle
from tinykube.client.errors import APIStatusError, Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS: ResourceInfo = INDEX.by_name("pods")  # type: ignore[assignment]
TERMINAL_PHASES = ("Succeeded", "Failed")


class PodClient(ObjectGetter, Protocol):
    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Obj: ...

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None,
                     preconditions: dict[str, str] | None = None) -> Obj: ...


def _is_kill(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _has_work(actions: PodActions) -> bool:
    return bool(actions.kill_pod or actions.create_sandbox or actions.next_init_container
                or actions.containers_to_start or actions.containers_to_kill)


class PodSyncer:
    """Runs this node's pods in `runtime` and reports their status.

    - At most one sync per pod UID runs at a time; the newest pending state wins,
      except that a pending kill stays a kill.
    - `pods` is the latest object seen per uid (the informer's view).
    - The reason a container could not start (pod uid → name → (reason, message))
      lives until it starts, for its waiting state.
    """

    def __init__(self, client: PodClient, runtime: KubeletRuntime, node_name: str, *,
                 host_ip: Callable[[], str], clock: Clock = REAL_CLOCK, retry_delay_seconds: float = 1.0,
                 volumes: VolumeManager | None = None, probe_runner: ProbeRunner | None = None,
                 backoff: Backoff | None = None, image_backoff: Backoff | None = None,
                 cluster_dns: str = "", cluster_domain: str = "cluster.local", resync_seconds: float = 10.0, allocatable: dict[str, str] | None = None,
                 recorder: EventSink | None = None, runtime_name: str = "") -> None:
        self.client, self.runtime, self.node_name = client, runtime, node_name
        self._host_ip, self._clock = host_ip, clock
        self.retry_delay_seconds, self.resync_seconds = retry_delay_seconds, resync_seconds
        self.volumes = volumes
        self.manager = KubeRuntimeManager(runtime, client, host_ip=host_ip, backoff=backoff or Backoff(clock=clock),
                                          image_backoff=image_backoff or Backoff(clock=clock), clock=clock,
                                          cluster_dns=cluster_dns, cluster_domain=cluster_domain,
                                          allocatable=allocatable, recorder=recorder, node_name=node_name)
        self.prober = ProbeManager(probe_runner or RuntimeProbeRunner(runtime), self.resync, clock)
        self.pods: dict[str, Obj] = {}
        self.runtime_name = runtime_name or "docker"  # containerID prefix; `run()` asks the runtime
        self._runtime_name_given = bool(runtime_name)
        self._reasons: dict[str, dict[str, tuple[str, str]]] = {}
        self._written: dict[str, tuple[str, Obj]] = {}  # uid → (resourceVersion synced, status written)
        self._last_sync: dict[str, float] = {}
        self._timers: dict[str, tuple[float, TimerHandle]] = {}
        self._pending: dict[str, Obj | None] = {}  # uid → latest pod, None = removed from the API
        self._workers: dict[str, asyncio.Task[None]] = {}

    # --- informer handlers: hand the pod to its worker ---------------------------------

    def on_add(self, pod: Obj) -> None:
        self.update_pod(pod)

    def on_update(self, old: Obj, new: Obj) -> None:
        self.update_pod(new)

    def on_delete(self, pod: Obj) -> None:
        uid = str(pod["metadata"].get("uid") or "")
        self._pending[uid] = None
        self._ensure_worker(uid)

    def update_pod(self, pod: Obj) -> None:
        uid = str(pod["metadata"].get("uid") or "")
        pending = self._pending.get(uid, {})
        if pending is None or (pending and _is_kill(pending) and not _is_kill(pod)):
            return  # a pending removal or kill is never replaced by an update
        self.pods[uid] = pod
        self._pending[uid] = pod
        self._ensure_worker(uid)

    def resync(self, uid: str) -> None:
        """Sync `uid` again with the latest object (engine event, probe change, backoff end)."""
        pod = self.pods.get(uid)
        if pod is not None and uid not in self._pending:
            self._pending[uid] = pod
            self._ensure_worker(uid)

    def _ensure_worker(self, uid: str) -> None:
        if uid not in self._workers:
            self._workers[uid] = asyncio.create_task(self._pod_worker(uid), name=f"pod worker {uid}")

    async def _pod_worker(self, uid: str) -> None:
        try:
            while uid in self._pending:
                pod = self._pending.pop(uid)
                try:
                    if pod is None:
                        await self.remove_pod(uid)
                    else:
                        await self.sync_pod(pod)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # noqa: BLE001 - retried after a pause unless a newer state arrived
                    log.warning("pod sync failed uid=%s err=%r", uid, err)
                    if uid not in self._pending:
                        self._pending[uid] = pod
                        await self._clock.sleep(self.retry_delay_seconds)
        finally:
            self._workers.pop(uid, None)

    def _requeue_after(self, uid: str, seconds: float) -> None:
        deadline = self._clock.now() + seconds
        current = self._timers.get(uid)
        if current is not None and current[0] <= deadline:
            return
        if current is not None:
            current[1].cancel()

        def fire() -> None:
            self._timers.pop(uid, None)
            self.resync(uid)
        self._timers[uid] = (deadline, self._clock.call_later(seconds, fire))

    async def wait_idle(self) -> None:
        """Until every worker has finished (tests)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def stop(self) -> None:
        for _, timer in self._timers.values():
            timer.cancel()
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
        await self.prober.stop()

    # --- sync ----------------------------------------------------------------------

    async def sync_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        self._last_sync[uid] = self._clock.now()
        if _is_kill(pod):
            await self.terminate_pod(pod)
            return
        status = await self.manager.get_pod_status(uid)
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            if status.running_containers or status.ready_sandbox:
                await self.manager.kill_pod(pod, status)
            return
        reasons = self._reasons.setdefault(uid, {})
        requeue: float | None = None
        try:
            volume_paths = await self.volumes.mount_volumes(pod) if self.volumes else {}
        except VolumeError as err:
            log.warning("volumes not ready pod=%s err=%s", pod_key(pod), err)
            if self.manager.recorder is not None:
                self.manager.recorder.event(pod, "Warning", "FailedMount", str(err))
            requeue = self.retry_delay_seconds * 2
        else:
            changed, requeue = await self._apply_actions(pod, status, volume_paths, reasons)
            if changed:
                status = await self.manager.get_pod_status(uid)
        # Probes go to the pod's IP: the node's own for a host-network pod.
        probe_ip = self._host_ip() if (pod.get("spec") or {}).get("hostNetwork") else status.ip
        self.prober.sync_pod(uid, probe_ip, [
            RunningContainer(spec, c.id, c.started_at_ns / 1e9) for spec in _all_containers(pod)
            if (c := status.find(spec["name"])) is not None and c.running])
        api_status = generate_api_pod_status(pod, status, waiting_reasons=reasons, probes=self.prober,
                                             host_ip=self._host_ip(), now=self._timestamp(),
                                             runtime_name=self.runtime_name)
        if api_status["phase"] in TERMINAL_PHASES and (status.running_containers or status.ready_sandbox):
            await self.manager.kill_pod(pod, status)
            log.info("pod finished pod=%s phase=%s", pod_key(pod), api_status["phase"])
        await self.write_status(pod, api_status)
        if requeue is not None:
            self._requeue_after(uid, requeue)

    async def _apply_actions(self, pod: Obj, status: PodRuntimeStatus, volume_paths: dict[str, str],
                             reasons: dict[str, tuple[str, str]]) -> tuple[bool, float | None]:
        """Carry out compute_pod_actions: (anything done?, delay after which to look again)."""
        running = [c.id for c in status.running_containers]
        actions = compute_pod_actions(pod, status, liveness_failed=self.prober.failed("liveness", running),
                                      startup_failed=self.prober.failed("startup", running))
        if not _has_work(actions):
            return False, None
        log.debug("pod actions pod=%s actions=%s", pod_key(pod), actions)
        result = await self.manager.sync_pod(pod, status, actions, volume_paths)
        for name in result.started:
            reasons.pop(name, None)
        reasons.update(result.errors)
        return True, result.requeue_after_seconds

    async def write_status(self, pod: Obj, status: Obj) -> None:
        meta = pod["metadata"]
        uid, version = meta["uid"], meta.get("resourceVersion", "")
        written = self._written.get(uid)
        base = written[1] if written and written[0] == version else pod.get("status") or {}
        if not status_differs(base, status):
            return
        try:
            await self.client.patch(PODS, meta["name"], {"metadata": {"uid": uid}, "status": status},
                                    patch_type="merge", namespace=meta.get("namespace"), subresource="status")
            self._written[uid] = (version, {**base, **status})
            log.info("pod status written pod=%s phase=%s ip=%s", pod_key(pod), status["phase"], status.get("podIP"))
        except NotFound:
            pass
        except (APIStatusError, httpx.HTTPError) as err:
            log.warning("status update failed pod=%s err=%r", pod_key(pod), err)
            raise

    async def terminate_pod(self, pod: Obj) -> None:
        """Kill gracefully, remove from the engine and the node, then delete from the API."""
        meta = pod["metadata"]
        status = await self.manager.get_pod_status(meta["uid"])
        if status.running_containers:
            log.info("terminating pod pod=%s grace=%d", pod_key(pod), grace_period_seconds(pod))
        await self.manager.kill_pod(pod, status)
        await self._forget(meta["uid"])
        try:
            await self.client.delete(PODS, meta["name"], meta.get("namespace"), grace_period_seconds=0,
                                     preconditions={"uid": meta["uid"]})
            log.info("pod terminated and deleted pod=%s", pod_key(pod))
        except (NotFound, Conflict):
            pass  # already gone, or a new pod took the name

    async def remove_pod(self, uid: str) -> None:
        """The pod left the API (or this node): nothing of it may keep running."""
        pod = self.pods.pop(uid, None)
        status = await self.manager.get_pod_status(uid)
        if status.sandboxes:
            log.info("removing pod no longer bound here uid=%s pod=%s", uid, pod_key(pod) if pod else "?")
            await self.manager.kill_pod(pod, status)
        await self._forget(uid)

    async def _forget(self, uid: str) -> None:
        await self.manager.remove_pod(await self.manager.get_pod_status(uid))
        self.prober.remove_pod(uid)
        if self.volumes is not None:
            await self.volumes.cleanup_pod(uid)
        for table in (self._reasons, self._written, self._last_sync):
            table.pop(uid, None)
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer[1].cancel()

    # --- housekeeping ------------------------------------------------------------------

    async def housekeeping(self) -> None:
        """Resync pods not synced for `resync_seconds`; remove what no bound pod owns."""
        now = self._clock.now()
        for uid, pod in list(self.pods.items()):
            if now - self._last_sync.get(uid, 0.0) >= self.resync_seconds and not _is_terminal(pod):
                self.resync(uid)
        known = set(self.pods) | set(self._workers) | set(self._pending)
        mine = await self.runtime.list_pod_sandboxes({NODE_NAME_LABEL: self.node_name})
        orphans = {s.labels.get(POD_UID_LABEL, "") for s in mine} - known
        if self.volumes is not None:
            orphans |= set(await asyncio.to_thread(self.volumes.pod_uids_on_disk)) - known
        for uid in orphans - {""}:
            self._pending[uid] = None
            self._ensure_worker(uid)

    async def run(self, has_synced: Callable[[], bool], period_seconds: float = 2.0) -> None:
        """Housekeeping every `period_seconds` and the engine's container events, until cancelled."""
        try:
            self.runtime_name = self.runtime_name if self._runtime_name_given else (
                await self.runtime.version()).split("://", 1)[0]
        except Exception as err:  # noqa: BLE001 - keep the default; the node status reports the engine's state
            log.warning("runtime version unknown err=%r", err)
        events = asyncio.create_task(self._watch_events(), name="runtime events")
        try:
            while True:
                await self._clock.sleep(period_seconds)
                if has_synced():
                    try:
                        await self.housekeeping()
                    except Exception as err:  # noqa: BLE001 - the engine may be briefly unreachable
                        log.warning("housekeeping failed err=%r", err)
        finally:
            events.cancel()
            await asyncio.gather(events, return_exceptions=True)

    async def _watch_events(self) -> None:
        while True:
            try:
                async for event in self.runtime.events():  # type: ignore[attr-defined]
                    if event.pod_uid and event.kind in ("die", "oom", "start"):
                        log.debug("container event kind=%s uid=%s", event.kind, event.pod_uid)
                        self.resync(event.pod_uid)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the stream reconnects
                log.warning("runtime event stream failed err=%r", err)
            await self._clock.sleep(1.0)

    def _timestamp(self) -> str:
        return format_rfc3339(datetime.fromtimestamp(self._clock.wall(), tz=UTC))


def _all_containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES
