"""Pod sync: make the runtime run what the API says is bound to this node, and report it.

The kubelet watches only its own pods (`fieldSelector=spec.nodeName=<node>`). Every
event hands the latest pod to that pod's worker (one asyncio task per pod UID, as
upstream's pod workers): a newer update replaces a pending older one, and a
pending kill is never overwritten by an update.

`sync_pod` (level-triggered, idempotent):
- a pod with a deletionTimestamp is killed (containers stopped, sandbox stopped
  and removed), then deleted from the API with grace period 0 (precondition: its
  uid), which is what finally removes the object;
- a terminal pod (Succeeded/Failed) is left alone;
- otherwise its sandbox and containers are started if missing, and the status
  (phase Running, conditions, podIP, hostIP, containerStatuses) is written when
  it differs from what the API shows.
A pod that vanished from the API (DELETED) has its sandbox removed.

This is the hollow kubelet's sync: containers start at once and are Ready at
once (no probes, no restarts, no volumes). The real kubelet grows it.

Kubernetes counterpart: pkg/kubelet/pod_workers.go, pkg/kubelet/kubelet.go (SyncPod,
SyncTerminatingPod), pkg/kubelet/kubelet_pods.go (generateAPIPodStatus),
pkg/kubelet/status/status_manager.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

import httpx

from kubelet.runtime import (
    CONTAINER_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    Container,
    ContainerConfig,
    ContainerState,
    PodSandboxConfig,
    PodSandboxMetadata,
    RuntimeService,
)
from tinykube.api.meta import format_rfc3339
from tinykube.api.resources import INDEX, ResourceInfo
from tinykube.client.clock import REAL_CLOCK, Clock
from tinykube.client.errors import APIStatusError, Conflict, NotFound

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS: ResourceInfo = INDEX.by_name("pods")  # type: ignore[assignment]
READY_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")


class PodClient(Protocol):
    async def patch(self, info: ResourceInfo, name: str, body: Any, *, patch_type: Any = ...,
                    namespace: str | None = None, subresource: str | None = None) -> Obj: ...

    async def delete(self, info: ResourceInfo, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None,
                     preconditions: dict[str, str] | None = None) -> Obj: ...


def _is_kill(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


class PodSyncer:
    """Runs this node's pods in `runtime` and reports their status.

    - At most one sync per pod UID runs at a time; the newest pending state wins,
      except that a pending kill stays a kill.
    - `sandboxes` maps pod uid → sandbox id for the pods this process started.
    """

    def __init__(self, client: PodClient, runtime: RuntimeService, node_name: str, *,
                 host_ip: Callable[[], str], clock: Clock = REAL_CLOCK,
                 retry_delay_seconds: float = 1.0) -> None:
        self.client, self.runtime, self.node_name = client, runtime, node_name
        self._host_ip, self._clock = host_ip, clock
        self.retry_delay_seconds = retry_delay_seconds
        self.sandboxes: dict[str, str] = {}
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
                except Exception as err:  # retried after a pause unless a newer state arrived
                    log.warning("pod sync failed uid=%s err=%r", uid, err)
                    if uid not in self._pending:
                        self._pending[uid] = pod
                        await self._clock.sleep(self.retry_delay_seconds)
        finally:
            self._workers.pop(uid, None)

    async def wait_idle(self) -> None:
        """Until every worker has finished (tests)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    # --- sync ----------------------------------------------------------------------

    async def sync_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if _is_kill(pod):
            await self.kill_pod(meta["uid"])
            try:
                await self.client.delete(PODS, meta["name"], meta.get("namespace"), grace_period_seconds=0,
                                         preconditions={"uid": meta["uid"]})
                log.info("pod terminated and deleted pod=%s", key)
            except (NotFound, Conflict):
                pass  # already gone, or a new pod took the name
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return
        sandbox_id = await self.ensure_running(pod)
        status = await self.generate_pod_status(pod, sandbox_id)
        if not _status_differs(pod.get("status") or {}, status):
            return
        try:
            await self.client.patch(PODS, meta["name"], {"metadata": {"uid": meta["uid"]}, "status": status},
                                    patch_type="merge", namespace=meta.get("namespace"), subresource="status")
            log.info("pod running pod=%s ip=%s", key, status.get("podIP"))
        except NotFound:
            pass
        except (APIStatusError, httpx.HTTPError) as err:
            log.warning("status update failed pod=%s err=%r", key, err)
            raise

    async def ensure_running(self, pod: Obj) -> str:
        """The pod's sandbox id, starting the sandbox and any missing containers."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        labels = {POD_UID_LABEL: meta["uid"], POD_NAME_LABEL: meta["name"],
                  POD_NAMESPACE_LABEL: meta.get("namespace", "")}
        sandbox_config = PodSandboxConfig(PodSandboxMetadata(meta["name"], meta.get("namespace", ""), meta["uid"]),
                                          hostname=spec.get("hostname") or meta["name"], labels=labels)
        sandbox_id = self.sandboxes.get(meta["uid"])
        if sandbox_id is None:
            sandbox_id = await self.runtime.run_pod_sandbox(sandbox_config)
            self.sandboxes[meta["uid"]] = sandbox_id
        running = {c.name for c in await self.runtime.list_containers(sandbox_id)
                   if c.state is ContainerState.RUNNING}
        for container in spec.get("containers") or []:
            if container["name"] in running:
                continue
            config = ContainerConfig(container["name"], container.get("image", ""),
                                     command=tuple(container.get("command") or ()),
                                     args=tuple(container.get("args") or ()),
                                     labels={**labels, CONTAINER_NAME_LABEL: container["name"]})
            container_id = await self.runtime.create_container(sandbox_id, config, sandbox_config)
            await self.runtime.start_container(container_id)
        return sandbox_id

    async def kill_pod(self, uid: str) -> None:
        sandbox_id = self.sandboxes.pop(uid, None)
        if sandbox_id is None:
            return
        for container in await self.runtime.list_containers(sandbox_id):
            if container.state is ContainerState.RUNNING:
                await self.runtime.stop_container(container.id, 0)
        await self.runtime.stop_pod_sandbox(sandbox_id)
        await self.runtime.remove_pod_sandbox(sandbox_id)

    async def remove_pod(self, uid: str) -> None:
        """The pod left the API (or this node): nothing of it may keep running."""
        if uid in self.sandboxes:
            log.info("removing pod no longer bound here uid=%s", uid)
        await self.kill_pod(uid)

    # --- status --------------------------------------------------------------------

    async def generate_pod_status(self, pod: Obj, sandbox_id: str) -> Obj:
        old = pod.get("status") or {}
        now = self._timestamp()
        sandbox = await self.runtime.pod_sandbox_status(sandbox_id)
        by_name: dict[str, Container] = {c.name: c for c in await self.runtime.list_containers(sandbox_id)}
        statuses = [_container_status(spec_c, by_name.get(spec_c["name"]))
                    for spec_c in (pod.get("spec") or {}).get("containers") or []]
        all_ready = all(s["ready"] for s in statuses)
        previous = {c.get("type"): c for c in old.get("conditions") or []}
        conditions = [c for c in old.get("conditions") or [] if c.get("type") not in READY_CONDITIONS]
        for type_ in READY_CONDITIONS:
            value = "True" if type_ in ("PodReadyToStartContainers", "Initialized") or all_ready else "False"
            prior = previous.get(type_) or {}
            since = prior.get("lastTransitionTime") if prior.get("status") == value else now
            conditions.append({"type": type_, "status": value, "lastProbeTime": None,
                               "lastTransitionTime": since or now})
        host_ip = self._host_ip()
        return {"phase": "Running", "conditions": conditions, "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}], "podIP": sandbox.ip, "podIPs": [{"ip": sandbox.ip}],
                "startTime": old.get("startTime") or now, "containerStatuses": statuses}

    def _timestamp(self) -> str:
        return format_rfc3339(datetime.fromtimestamp(self._clock.wall(), tz=timezone.utc))


def _container_status(spec: Obj, container: Container | None) -> Obj:
    status: Obj = {"name": spec["name"], "image": spec.get("image", ""), "imageID": "",
                   "restartCount": 0, "ready": False, "started": False,
                   "state": {"waiting": {"reason": "ContainerCreating"}}}
    if container is None:
        return status
    status.update(imageID=container.image_ref, containerID=f"fake://{container.id}")
    if container.state is ContainerState.RUNNING:
        started = format_rfc3339(datetime.fromtimestamp(container.started_at_ns / 1e9, tz=timezone.utc))
        status.update(ready=True, started=True, state={"running": {"startedAt": started}})
    return status


def _status_differs(old: Obj, new: Obj) -> bool:
    """Whether the API needs a write: phase, IPs, conditions or container states changed."""
    def summary(status: Obj) -> tuple[object, ...]:
        conditions = sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or [])
        containers = sorted((c.get("name"), c.get("ready"), tuple(sorted(c.get("state") or {})))
                            for c in status.get("containerStatuses") or [])
        return (status.get("phase"), status.get("podIP"), status.get("hostIP"), conditions, containers)
    return summary(old) != summary(new)
