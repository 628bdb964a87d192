"""Pod sync: make the runtime run what the API says is bound to this node, and report it.

`PodSyncer` is the kubelet's pod half. It wires four parts, as the Kubernetes kubelet:
- **pod workers** (`kubelet.pod_workers`): one task per pod UID; the informer's
  events, engine events (`runtime.events()`, the PLEG), probe changes and backoff
  ends all go through them; failed syncs retry with a per-pod exponential backoff;
- `sync_pod` / `terminate_pod` / `remove_pod` below: what one sync does;
- the **status manager** (`kubelet.status.status_manager`): writes a generated
  status only when it changed;
- **housekeeping** (`kubelet.housekeeping`): periodic resyncs, orphans removed.

`sync_pod` (level-triggered, idempotent):
- a pod with a deletionTimestamp is terminated: preStop hooks, SIGTERM with its
  grace period, SIGKILL after; then its containers, sandbox and volume
  directories are removed, and only then is it deleted from the API (grace 0,
  uid precondition);
- a pod whose phase is terminal (Succeeded/Failed) only has its sandbox stopped;
- otherwise: volumes set up, `compute_pod_actions` on the engine's view, the
  actions carried out by `KubeRuntimeManager`, probe workers brought in step,
  and the generated status handed to the status manager.
A restarted kubelet finds healthy containers running and keeps them: all state is
read from the engine.

Kubernetes counterpart: pkg/kubelet/kubelet.go (SyncPod, SyncTerminatingPod,
SyncTerminatedPod), pkg/kubelet/pleg/evented.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from kubelet.backoff import DEFAULT_INITIAL_SECONDS, DEFAULT_MAX_SECONDS, Backoff
from kubelet.housekeeping import HOUSEKEEPING_PERIOD_SECONDS, Housekeeping
from kubelet.kuberuntime.actions import compute_pod_actions
from kubelet.kuberuntime.env import ObjectGetter
from kubelet.kuberuntime.manager import (
    EventSink,
    KubeletRuntime,
    KubeRuntimeManager,
    all_containers,
    grace_period_seconds,
    pod_key,
)
from kubelet.kuberuntime.types import PodRuntimeStatus
from kubelet.pod_workers import PodWorkers
from kubelet.prober.manager import ProbeManager, RunningContainer
from kubelet.prober.probers import ProbeRunner, RuntimeProbeRunner
from kubelet.status.generate import TERMINAL_PHASES, generate_api_pod_status
from kubelet.status.status_manager import StatusClient, StatusManager
from kubelet.volumes.manager import VolumeManager
from kubelet.volumes.plugins import VolumeError
from tinykube.api.core import Pod
from tinykube.api.meta import format_rfc3339
from tinykube.api.resources import PODS
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import Conflict, NotFound

log = logging.getLogger(__name__)

VOLUME_RETRY_SECONDS = 2.0


class PodClient(ObjectGetter, StatusClient, Protocol):
    async def delete(self, info: Any, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None,
                     preconditions: dict[str, str] | None = None) -> Any: ...


@dataclass
class PodSyncConfig:
    """The node-wide settings of the pod sync (kubelet flags)."""

    node_name: str
    host_ip: Callable[[], str]
    cluster_dns: str = ""
    cluster_domain: str = "cluster.local"
    allocatable: dict[str, str] = field(default_factory=dict)
    resync_seconds: float = 10.0  # --sync-frequency
    runtime_name: str = ""  # the containerID prefix; empty: asked from the runtime by `run`
    crash_loop_backoff: tuple[float, float] = (DEFAULT_INITIAL_SECONDS, DEFAULT_MAX_SECONDS)
    image_pull_backoff: tuple[float, float] = (DEFAULT_INITIAL_SECONDS, DEFAULT_MAX_SECONDS)


class PodSyncer:
    """Runs this node's pods in `runtime` and reports their status.

    - Informer handlers only hand pods to the pod workers.
    - The reason a container could not start (pod uid → name → (reason, message))
      lives until it starts, for its waiting state.
    """

    def __init__(self, client: PodClient, runtime: KubeletRuntime, config: PodSyncConfig, *,
                 clock: Clock = REAL_CLOCK, volumes: VolumeManager | None = None,
                 probe_runner: ProbeRunner | None = None, recorder: EventSink | None = None) -> None:
        self.client, self.runtime, self.config, self.volumes = client, runtime, config, volumes
        self._clock = clock
        self.manager = KubeRuntimeManager(
            runtime, client, host_ip=config.host_ip, backoff=Backoff(*config.crash_loop_backoff, clock=clock),
            image_backoff=Backoff(*config.image_pull_backoff, clock=clock), clock=clock,
            cluster_dns=config.cluster_dns, cluster_domain=config.cluster_domain,
            allocatable=config.allocatable, recorder=recorder, node_name=config.node_name)
        self.workers = PodWorkers(self.sync_pod, self.remove_pod, clock=clock)
        self.status_manager = StatusManager(client)
        self.housekeeping = Housekeeping(self.workers, runtime, config.node_name, volumes=volumes,
                                         resync_seconds=config.resync_seconds, clock=clock)
        self.prober = ProbeManager(probe_runner or RuntimeProbeRunner(runtime), self.workers.resync, clock)
        self.runtime_name = config.runtime_name or "docker"
        self._reasons: dict[str, dict[str, tuple[str, str]]] = {}

    # --- informer handlers: hand the pod to its worker ---------------------------------

    def on_add(self, pod: Pod) -> None:
        self.workers.update_pod(pod)

    def on_update(self, old: Pod, new: Pod) -> None:
        self.workers.update_pod(new)

    def on_delete(self, pod: Pod) -> None:
        self.workers.kill_pod(pod.metadata.uid or "")

    async def wait_idle(self) -> None:
        """Until every worker has finished (tests)."""
        await self.workers.wait_idle()

    async def stop(self) -> None:
        await self.workers.stop()
        await self.prober.stop()

    # --- sync ----------------------------------------------------------------------

    async def sync_pod(self, pod: Pod) -> None:
        uid = pod.metadata.uid or ""
        self.housekeeping.synced(uid)
        if pod.metadata.deletion_timestamp:
            await self.terminate_pod(pod)
            return
        status = await self.manager.get_pod_status(uid)
        if pod.status is not None and pod.status.phase in TERMINAL_PHASES:
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
            requeue = VOLUME_RETRY_SECONDS
        else:
            changed, requeue = await self._apply_actions(pod, status, volume_paths, reasons)
            if changed:
                status = await self.manager.get_pod_status(uid)
        # Probes go to the pod's IP: the node's own for a host-network pod.
        probe_ip = self.config.host_ip() if pod.spec and pod.spec.host_network else status.ip
        self.prober.sync_pod(uid, probe_ip, [
            RunningContainer(spec, c.id, c.started_at_ns / 1e9) for spec in all_containers(pod)
            if (c := status.find(spec.name)) is not None and c.running])
        api_status = generate_api_pod_status(pod, status, waiting_reasons=reasons, probes=self.prober,
                                             host_ip=self.config.host_ip(), now=self._timestamp(),
                                             runtime_name=self.runtime_name)
        if api_status.phase in TERMINAL_PHASES and (status.running_containers or status.ready_sandbox):
            await self.manager.kill_pod(pod, status)
            log.info("pod finished pod=%s phase=%s", pod_key(pod), api_status.phase)
        await self.status_manager.set_pod_status(pod, api_status)
        if requeue is not None:
            self.workers.requeue_after(uid, requeue)

    async def _apply_actions(self, pod: Pod, status: PodRuntimeStatus, volume_paths: dict[str, str],
                             reasons: dict[str, tuple[str, str]]) -> tuple[bool, float | None]:
        """Carry out compute_pod_actions: (anything done?, delay after which to look again)."""
        running = [c.id for c in status.running_containers]
        actions = compute_pod_actions(pod, status, liveness_failed=self.prober.failed("liveness", running),
                                      startup_failed=self.prober.failed("startup", running))
        if not actions.has_work():
            return False, None
        log.debug("pod actions pod=%s actions=%s", pod_key(pod), actions)
        result = await self.manager.sync_pod(pod, status, actions, volume_paths)
        for name in result.started:
            reasons.pop(name, None)
        reasons.update(result.errors)
        return True, result.requeue_after_seconds

    async def terminate_pod(self, pod: Pod) -> None:
        """Kill gracefully, remove from the engine and the node, then delete from the API."""
        meta = pod.metadata
        uid = meta.uid or ""
        status = await self.manager.get_pod_status(uid)
        if status.running_containers:
            log.info("terminating pod pod=%s grace=%d", pod_key(pod), grace_period_seconds(pod))
        await self.manager.kill_pod(pod, status)
        await self._forget(uid)
        try:
            await self.client.delete(PODS, meta.name or "", meta.namespace, grace_period_seconds=0,
                                     preconditions={"uid": uid})
            log.info("pod terminated and deleted pod=%s", pod_key(pod))
        except (NotFound, Conflict):
            pass  # already gone, or a new pod took the name

    async def remove_pod(self, uid: str) -> None:
        """The pod left the API (or this node): nothing of it may keep running."""
        pod = self.workers.pods.pop(uid, None)  # never resynced as a live pod again
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
        self._reasons.pop(uid, None)
        self.status_manager.remove_pod(uid)
        self.housekeeping.forget(uid)
        self.workers.forget(uid)

    # --- the loops -------------------------------------------------------------------

    async def run(self, has_synced: Callable[[], bool],
                  period_seconds: float = HOUSEKEEPING_PERIOD_SECONDS) -> None:
        """Housekeeping and the engine's container events, until cancelled."""
        if not self.config.runtime_name:
            try:
                self.runtime_name = (await self.runtime.version()).split("://", 1)[0]
            except Exception as err:  # noqa: BLE001 - keep the default; the node status reports the engine's state
                log.warning("runtime version unknown err=%r", err)
        events = asyncio.create_task(self._watch_events(), name="runtime events")
        try:
            await self.housekeeping.run(has_synced, period_seconds)
        finally:
            events.cancel()
            await asyncio.gather(events, return_exceptions=True)

    async def _watch_events(self) -> None:
        while True:
            try:
                async for event in self.runtime.events():
                    if event.pod_uid and event.kind in ("die", "oom", "start"):
                        log.debug("container event kind=%s uid=%s", event.kind, event.pod_uid)
                        self.workers.resync(event.pod_uid)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the stream reconnects
                log.warning("runtime event stream failed err=%r", err)
            await self._clock.sleep(1.0)

    def _timestamp(self) -> str:
        return format_rfc3339(datetime.fromtimestamp(self._clock.wall(), tz=UTC))
