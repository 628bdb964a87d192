"""Housekeeping: periodic resyncs, and removal of what no pod bound here owns any more.

Every `period_seconds`, once the pod informer has synced:
- a pod not synced for `resync_seconds` (and not terminal) is synced again, which is
  also how changed ConfigMaps and Secrets reach mounted files;
- a sandbox the engine holds for this node (labelled with this node's name, so
  kubelets sharing an engine leave each other alone) whose pod uid the pod workers
  do not know, and a pod directory on disk (orphaned volumes) with no such pod, are
  handed to the pod workers as removals: e.g. a pod deleted while the kubelet was
  down. The pod workers then stop and remove them, one task per uid as for any pod.

Kubernetes counterpart: pkg/kubelet/kubelet_pods.go (HandlePodCleanups),
pkg/kubelet/kubelet_volumes.go (cleanupOrphanedPodDirs), pkg/kubelet/kubelet.go
(syncLoopIteration: housekeepingCh, syncCh)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from kubelet.kuberuntime.types import NODE_NAME_LABEL
from kubelet.pod_workers import PodWorkers
from kubelet.runtime import POD_UID_LABEL, PodSandbox
from tinykube.api.core import pod_is_terminal
from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

HOUSEKEEPING_PERIOD_SECONDS = 2.0


class SandboxLister(Protocol):
    async def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[PodSandbox]: ...


class PodDirectories(Protocol):
    def pod_uids_on_disk(self) -> list[str]: ...


class Housekeeping:
    """Resyncs stale pods and hands orphans to the pod workers; never raises from `run`."""

    def __init__(self, workers: PodWorkers, runtime: SandboxLister, node_name: str, *,
                 volumes: PodDirectories | None = None, resync_seconds: float = 10.0,
                 clock: Clock = REAL_CLOCK) -> None:
        self.workers, self.runtime, self.node_name = workers, runtime, node_name
        self.volumes, self.resync_seconds, self._clock = volumes, resync_seconds, clock
        self.last_sync: dict[str, float] = {}  # uid → clock.now() of its last sync (the pod sync records it)

    def synced(self, uid: str) -> None:
        self.last_sync[uid] = self._clock.now()

    def forget(self, uid: str) -> None:
        self.last_sync.pop(uid, None)

    async def handle_pod_cleanups(self) -> None:
        now = self._clock.now()
        for uid, pod in list(self.workers.pods.items()):
            if now - self.last_sync.get(uid, 0.0) >= self.resync_seconds and not pod_is_terminal(pod):
                self.workers.resync(uid)
        known = self.workers.known_uids()
        mine = await self.runtime.list_pod_sandboxes({NODE_NAME_LABEL: self.node_name})
        orphans = {s.labels.get(POD_UID_LABEL, "") for s in mine} - known
        if self.volumes is not None:
            orphans |= set(await asyncio.to_thread(self.volumes.pod_uids_on_disk)) - known
        for uid in orphans - {""}:
            log.info("removing orphaned pod uid=%s", uid)
            self.workers.kill_pod(uid)

    async def run(self, has_synced: Callable[[], bool],
                  period_seconds: float = HOUSEKEEPING_PERIOD_SECONDS) -> None:
        """Housekeeping every `period_seconds`, until cancelled."""
        while True:
            await self._clock.sleep(period_seconds)
            if not has_synced():
                continue
            try:
                await self.handle_pod_cleanups()
            except Exception as err:  # noqa: BLE001 - the engine may be briefly unreachable
                log.warning("housekeeping failed err=%r", err)
