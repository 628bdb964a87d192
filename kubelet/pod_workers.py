"""Pod workers: one asyncio task per pod UID, so a pod's syncs never overlap.

Every change for a pod (an informer event, an engine event, a probe result, the
end of a backoff, a periodic resync) goes through `update_pod`, `kill_pod` or
`resync`; the pod's worker runs the sync functions it was given.

- At most one sync per UID runs at a time; updates arriving meanwhile wait as one
  *pending* state: a newer update replaces an older one, but a pending kill (a pod
  with a deletionTimestamp, or its removal from the API) is never overwritten.
- `pods` holds the latest object seen per UID (what `resync` syncs again).
- A failed sync is retried after a per-pod exponential backoff (`retry_backoff`:
  1 s doubling to 60 s by default; reset by a successful sync) unless a newer
  state arrives first, which is synced at once. The delay runs on the injected
  clock, so tests never sleep.
- `requeue_after(uid, seconds)` syncs the pod again later (CrashLoopBackOff ends,
  volumes not ready); an earlier deadline wins over a later one.

Kubernetes counterpart: pkg/kubelet/pod_workers.go (UpdatePod, podWorkerLoop,
completeWork: workQueue.Enqueue(uid, backoff)), pkg/kubelet/util/queue/work_queue.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kubelet.backoff import Backoff
from tinykube.api.core import Pod
from tinykube.client.clock import REAL_CLOCK, Clock, TimerHandle

log = logging.getLogger(__name__)

RETRY_INITIAL_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0

SyncPod = Callable[[Pod], Awaitable[None]]
RemovePod = Callable[[str], Awaitable[None]]


def is_kill(pod: Pod | None) -> bool:
    """A removal (None) or a pod being deleted: the update nothing may replace."""
    return pod is None or bool(pod.metadata.deletion_timestamp)


class PodWorkers:
    """Serializes the syncs of each pod; see the module docstring for the guarantees."""

    def __init__(self, sync_pod: SyncPod, remove_pod: RemovePod, *, clock: Clock = REAL_CLOCK,
                 retry_backoff: Backoff | None = None) -> None:
        self._sync_pod, self._remove_pod, self._clock = sync_pod, remove_pod, clock
        self.retry_backoff = retry_backoff or Backoff(RETRY_INITIAL_SECONDS, RETRY_MAX_SECONDS, clock=clock)
        self.pods: dict[str, Pod] = {}
        self._pending: dict[str, Pod | None] = {}  # uid → the state to sync next (None: removed)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._timers: dict[str, tuple[float, TimerHandle]] = {}

    # --- what to sync --------------------------------------------------------------

    def update_pod(self, pod: Pod) -> None:
        uid = pod.metadata.uid or ""
        if uid in self._pending and is_kill(self._pending[uid]) and not is_kill(pod):
            return  # a pending kill is never replaced by an update
        self.pods[uid] = pod
        self._pending[uid] = pod
        self._ensure_worker(uid)

    def kill_pod(self, uid: str) -> None:
        """The pod left the API (or this node): stop and remove whatever of it runs."""
        self._pending[uid] = None
        self._ensure_worker(uid)

    def resync(self, uid: str) -> None:
        """Sync `uid` again with its latest object (engine event, probe change, backoff end)."""
        pod = self.pods.get(uid)
        if pod is not None and uid not in self._pending:
            self._pending[uid] = pod
            self._ensure_worker(uid)

    def requeue_after(self, uid: str, seconds: float) -> None:
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

    def known_uids(self) -> set[str]:
        """Every pod the workers hold, run, or are about to run."""
        return set(self.pods) | set(self._workers) | set(self._pending)

    def forget(self, uid: str) -> None:
        """After a pod is gone for good: drop its object, retry state and timer."""
        self.pods.pop(uid, None)
        self.retry_backoff.reset(uid)
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer[1].cancel()

    # --- the workers ---------------------------------------------------------------

    def _ensure_worker(self, uid: str) -> None:
        if uid not in self._workers:
            self._workers[uid] = asyncio.create_task(self._pod_worker_loop(uid), name=f"pod worker {uid}")

    async def _pod_worker_loop(self, uid: str) -> None:
        try:
            while uid in self._pending:
                pod = self._pending.pop(uid)
                try:
                    if pod is None:
                        await self._remove_pod(uid)
                    else:
                        await self._sync_pod(pod)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # noqa: BLE001 - retried after a backoff unless a newer state arrived
                    self._retry_later(uid, pod, err)
                else:
                    self.retry_backoff.reset(uid)
        finally:
            self._workers.pop(uid, None)

    def _retry_later(self, uid: str, pod: Pod | None, err: Exception) -> None:
        delay = self.retry_backoff.next(uid, self._clock.wall())
        log.warning("pod sync failed uid=%s retry_in=%gs err=%r", uid, delay, err)
        if pod is None:  # a removal must still happen, whatever else arrives
            self._clock.call_later(delay, lambda: self._retry_removal(uid))
            return
        self.requeue_after(uid, delay)

    def _retry_removal(self, uid: str) -> None:
        if uid not in self._pending:
            self.kill_pod(uid)

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
