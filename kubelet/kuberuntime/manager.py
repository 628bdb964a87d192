"""KubeRuntimeManager: carry out `PodActions` against the runtime.

- `get_pod_status(uid)` reads the pod's sandboxes and containers from the engine
  (by the pod-uid label), so it is right after a kubelet restart too.
- `sync_pod` kills what must go, creates the sandbox, then starts the next init
  container or the app containers. Starting one container is: CrashLoopBackOff
  check (keyed by pod and container, timed from the last exit), image
  (image_manager.py: pull policy, pull secrets, ImagePullBackOff), environment (CreateContainerConfigError), create,
  start, postStart hook. Each failure is returned as (reason, message) for that
  container's waiting state; `requeue_after_seconds` says when a backoff ends.
- `kill_container` runs preStop, then stops with what is left of the grace period
  (SIGTERM, then SIGKILL from the engine); `kill_pod` does that for every running
  container in parallel, then stops the sandbox.
- Dead containers beyond the current and previous instance of each name are
  removed, as are stopped sandboxes older than the newest.

Kubernetes counterpart: pkg/kubelet/kuberuntime/kuberuntime_manager.go (SyncPod, killPodWithSyncResult),
pkg/kubelet/kuberuntime/kuberuntime_container.go (startContainer, killContainer),
pkg/kubelet/images/image_manager.go (EnsureImageExists), pkg/kubelet/kuberuntime/kuberuntime_gc.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kubelet.backoff import Backoff
from kubelet.kuberuntime.actions import PodActions
from kubelet.kuberuntime.container_config import (
    DEFAULT_CLUSTER_DOMAIN,
    generate_container_config,
    generate_pod_sandbox_config,
)
from kubelet.kuberuntime.env import ContainerConfigError, ObjectGetter, make_environment
from kubelet.kuberuntime.image_manager import ImageManager
from kubelet.kuberuntime.lifecycle import run_handler
from kubelet.kuberuntime.types import ContainerRuntimeStatus, PodRuntimeStatus
from kubelet.runtime import (
    POD_UID_LABEL,
    AuthConfig,
    ContainerEvent,
    ExecResult,
    Image,
    PodSandboxConfig,
    RuntimeService,
    RuntimeServiceError,
    SandboxState,
)
from tinykube.api.core import Container, Pod
from tinykube.api.meta import KubeModel
from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

MIN_GRACE_SECONDS = 2


class KubeletRuntime(RuntimeService, Protocol):
    """What the kubelet needs from a runtime: RuntimeService, images, ExecSync."""

    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str: ...

    async def image_status(self, image: str) -> Image | None: ...

    async def exec_sync(self, container_id: str, command: list[str], timeout_seconds: float) -> ExecResult: ...

    def events(self) -> AsyncIterator[ContainerEvent]: ...


class EventSink(Protocol):
    def event(self, obj: KubeModel, type: str, reason: str, message: str) -> None: ...


@dataclass
class SyncResult:
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)  # container → (reason, message)
    started: list[str] = field(default_factory=list)
    requeue_after_seconds: float | None = None

    def requeue(self, seconds: float) -> None:
        if self.requeue_after_seconds is None or seconds < self.requeue_after_seconds:
            self.requeue_after_seconds = seconds


def grace_period_seconds(pod: Pod | None, default: int = 30) -> int:
    if pod is None:
        return default
    meta, spec = pod.metadata, pod.spec
    if meta.deletion_timestamp and meta.deletion_grace_period_seconds is not None:
        grace = meta.deletion_grace_period_seconds
    elif spec is not None and spec.termination_grace_period_seconds is not None:
        grace = spec.termination_grace_period_seconds
    else:
        grace = default
    return max(grace, MIN_GRACE_SECONDS)


def pod_key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def all_containers(pod: Pod) -> list[Container]:
    """Init containers, then app containers."""
    spec = pod.spec
    return [*(spec.init_containers or []), *spec.containers] if spec else []


class KubeRuntimeManager:
    """Drives one node's runtime for the pod sync (upstream kubeGenericRuntimeManager)."""

    def __init__(self, runtime: KubeletRuntime, client: ObjectGetter, *, host_ip: Callable[[], str],
                 backoff: Backoff, image_backoff: Backoff, clock: Clock = REAL_CLOCK, cluster_dns: str = "",
                 cluster_domain: str = DEFAULT_CLUSTER_DOMAIN, allocatable: dict[str, str] | None = None,
                 recorder: EventSink | None = None, node_name: str = "") -> None:
        self.runtime, self.client, self.host_ip = runtime, client, host_ip
        self.backoff, self.image_backoff, self.clock = backoff, image_backoff, clock
        self.cluster_dns, self.cluster_domain = cluster_dns, cluster_domain
        self.allocatable = allocatable or {}
        self.recorder = recorder
        self.node_name = node_name
        self.images = ImageManager(runtime, client, image_backoff, clock, self._event)

    def _event(self, pod: Pod | None, type_: str, reason: str, message: str) -> None:
        if self.recorder is not None and pod is not None:
            self.recorder.event(pod, type_, reason, message)

    async def get_pod_status(self, uid: str) -> PodRuntimeStatus:
        sandboxes = await self.runtime.list_pod_sandboxes({POD_UID_LABEL: uid})
        containers = []
        for sandbox in sandboxes:
            containers += [ContainerRuntimeStatus.from_container(c)
                           for c in await self.runtime.list_containers(sandbox.id)]
        return PodRuntimeStatus(uid, sandboxes, containers)

    # --- sync -----------------------------------------------------------------------

    async def sync_pod(self, pod: Pod, status: PodRuntimeStatus, actions: PodActions,
                       volume_paths: Mapping[str, str]) -> SyncResult:
        result = SyncResult()
        if actions.kill_pod:
            await self.kill_pod(pod, status, reason="Killing")
        else:
            await asyncio.gather(*(self.kill_container(pod, c, kill.message, kill.reason)
                                   for c in status.containers if (kill := actions.containers_to_kill.get(c.id))))
        await self.remove_dead(status)
        if actions.kill_pod and not actions.create_sandbox:
            return result
        sandbox_config = generate_pod_sandbox_config(pod, actions.attempt, cluster_dns=self.cluster_dns,
                                                     cluster_domain=self.cluster_domain, node_name=self.node_name)
        sandbox_id = actions.sandbox_id
        if actions.create_sandbox:
            try:
                sandbox_id = await self.runtime.run_pod_sandbox(sandbox_config)
            except RuntimeServiceError as err:
                self._event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {err}")
                raise
            log.info("sandbox started pod=%s attempt=%d id=%s", pod_key(pod), actions.attempt, sandbox_id[:12])
        pod_ip = (await self.runtime.pod_sandbox_status(sandbox_id)).ip
        to_start = ([actions.next_init_container] if actions.next_init_container else actions.containers_to_start)
        all_specs = {c.name: c for c in all_containers(pod)}
        for name in to_start:
            error = await self.start_container(pod, all_specs[name], sandbox_id, sandbox_config, status,
                                               pod_ip, volume_paths, result)
            if error is None:
                result.started.append(name)
            else:
                result.errors[name] = error
        return result

    async def start_container(self, pod: Pod, container: Container, sandbox_id: str, sandbox_config: PodSandboxConfig,
                              status: PodRuntimeStatus, pod_ip: str, volume_paths: Mapping[str, str],
                              result: SyncResult) -> tuple[str, str] | None:
        name, meta = container.name, pod.metadata
        previous = status.find(name)
        # the newest instance that exited: a container killed in this very sync (liveness)
        # is still "running" in `status`, and its predecessor's exit times the backoff
        last_exit = next((c for c in status.instances(name) if c.exited), None)
        if last_exit is not None:
            key = f"{meta.namespace}/{meta.name}/{meta.uid}/{name}"
            finished = last_exit.finished_at_ns / 1e9
            if self.backoff.is_in_backoff_since(key, finished):
                result.requeue(self.backoff.remaining_seconds(key, finished))
                message = (f"back-off {self.backoff.get(key):g}s restarting failed container={name} "
                           f"pod={meta.name}_{meta.namespace}({meta.uid})")
                return "CrashLoopBackOff", message
            self.backoff.next(key, finished)
        image_error = await self.images.ensure_image_exists(pod, container)
        if image_error is not None:
            reason, message, retry_seconds = image_error
            if retry_seconds is not None:
                result.requeue(retry_seconds)
            self._event(pod, "Warning", "Failed", f"Error: {reason}")
            return reason, message
        attempt = previous.attempt + 1 if previous is not None else 0
        try:
            envs = await make_environment(pod, container, self.client, pod_ip=pod_ip, host_ip=self.host_ip(),
                                          allocatable=self.allocatable)
            config = generate_container_config(pod, container, attempt=attempt, envs=envs,
                                               volume_paths=volume_paths)
        except ContainerConfigError as err:
            self._event(pod, "Warning", "Failed", f"Error: {err}")
            return "CreateContainerConfigError", str(err)
        try:
            container_id = await self.runtime.create_container(sandbox_id, config, sandbox_config)
        except RuntimeServiceError as err:
            self._event(pod, "Warning", "Failed", f"Error: {err}")
            return "CreateContainerError", str(err)
        self._event(pod, "Normal", "Created", f"Created container {name}")
        try:
            await self.runtime.start_container(container_id)
        except RuntimeServiceError as err:
            self._event(pod, "Warning", "Failed", f"Error: {err}")
            return "RunContainerError", str(err)
        self._event(pod, "Normal", "Started", f"Started container {name}")
        log.info("container started pod=%s container=%s attempt=%d id=%s", pod_key(pod), name, attempt,
                 container_id[:12])
        post_start = container.lifecycle.post_start if container.lifecycle else None
        if post_start is not None:
            message = await run_handler(self.runtime, post_start, container=container, container_id=container_id,
                                        pod_ip=pod_ip, timeout_seconds=grace_period_seconds(pod))
            if message:
                self._event(pod, "Warning", "FailedPostStartHook", message)
                started = await self.runtime.container_status(container_id)
                await self.kill_container(pod, ContainerRuntimeStatus.from_container(started),
                                          f"FailedPostStartHook: {message}", "FailedPostStartHook")
                return "PostStartHookError", message
        return None

    # --- kill -------------------------------------------------------------------------

    async def kill_container(self, pod: Pod | None, container: ContainerRuntimeStatus, message: str,
                             reason: str, grace_override: int | None = None) -> None:
        grace = grace_override if grace_override is not None else grace_period_seconds(
            pod, container.termination_grace_seconds)
        spec = next((c for c in pod.spec.containers if c.name == container.name), None) if pod and pod.spec else None
        log.info("killing container pod=%s container=%s grace=%d reason=%s message=%s",
                 pod_key(pod) if pod else "?", container.name, grace, reason, message)
        self._event(pod, "Normal", "Killing", f"Stopping container {container.name}" +
                    (f": {message}" if message else ""))
        pre_stop = spec.lifecycle.pre_stop if spec is not None and spec.lifecycle else None
        if spec is not None and pre_stop is not None and container.running:
            started = self.clock.now()
            ip = (pod.status.pod_ip if pod and pod.status else None) or ""
            failure = await run_handler(self.runtime, pre_stop, container=spec, container_id=container.id,
                                        pod_ip=ip, timeout_seconds=grace)
            if failure:
                self._event(pod, "Warning", "FailedPreStopHook", f"PreStopHook failed: {failure}")
            grace = max(MIN_GRACE_SECONDS, int(grace - (self.clock.now() - started)))
        try:
            await self.runtime.stop_container(container.id, grace)
        except RuntimeServiceError as err:
            log.warning("stop container failed id=%s err=%s", container.id[:12], err)

    async def kill_pod(self, pod: Pod | None, status: PodRuntimeStatus, *, reason: str = "Killing",
                       grace_override: int | None = None) -> None:
        await asyncio.gather(*(self.kill_container(pod, c, "", reason, grace_override)
                               for c in status.running_containers))
        for sandbox in status.sandboxes:
            if sandbox.state is SandboxState.READY:
                await self.runtime.stop_pod_sandbox(sandbox.id)

    async def remove_pod(self, status: PodRuntimeStatus) -> None:
        """Everything of a killed pod leaves the engine."""
        for container in status.containers:
            await self.runtime.remove_container(container.id)
        for sandbox in status.sandboxes:
            await self.runtime.remove_pod_sandbox(sandbox.id)

    async def remove_dead(self, status: PodRuntimeStatus, keep_per_name: int = 2) -> None:
        """Garbage: dead containers older than the last two instances, and old stopped sandboxes."""
        seen: dict[str, int] = {}
        for container in status.containers:  # newest first
            seen[container.name] = seen.get(container.name, 0) + 1
            if seen[container.name] > keep_per_name and container.exited:
                await self.runtime.remove_container(container.id)
        used = {c.sandbox_id for c in status.containers}
        for sandbox in status.sandboxes[1:]:
            if sandbox.state is SandboxState.NOT_READY and sandbox.id not in used:
                await self.runtime.remove_pod_sandbox(sandbox.id)
