"""Probe workers: one asyncio task per (container instance, probe kind).

- Initial results (as upstream): readiness Failure (not ready until a probe
  passes), liveness Success, startup Unknown (not started).
- A worker waits `initialDelaySeconds` after the container started, then probes
  every `periodSeconds`; the result changes only after `successThreshold`
  consecutive successes or `failureThreshold` consecutive failures.
- While a container has a startup probe that has not succeeded, its liveness and
  readiness workers do not probe. A startup probe stops after its first success.
- A liveness or startup failure ends its worker: the container is about to be
  killed and its replacement gets new workers (keyed by container id).
- Every change of a result calls `on_change(pod_uid)` so the pod is synced.

Kubernetes counterpart: pkg/kubelet/prober/prober_manager.go, pkg/kubelet/prober/worker.go,
pkg/kubelet/prober/results/results_manager.go
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from kubelet.prober.probers import ProbeResult, ProbeRunner
from tinykube.api.core import Container, Probe
from tinykube.client.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

PROBE_KINDS = ("startup", "liveness", "readiness")
_INITIAL = {"startup": ProbeResult.UNKNOWN, "liveness": ProbeResult.SUCCESS, "readiness": ProbeResult.FAILURE}


@dataclass(frozen=True)
class RunningContainer:
    """A running container instance the pod sync hands to the prober."""

    spec: Container
    container_id: str
    started_at: float  # wall seconds


class ProbeManager:
    """Keeps probe workers in step with each pod's running containers."""

    def __init__(self, runner: ProbeRunner, on_change: Callable[[str], None], clock: Clock = REAL_CLOCK) -> None:
        self.runner, self.on_change, self.clock = runner, on_change, clock
        self._results: dict[tuple[str, str], ProbeResult] = {}
        self._messages: dict[tuple[str, str], str] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._pod_of: dict[str, str] = {}  # container id → pod uid

    # --- results ------------------------------------------------------------------

    def is_ready(self, container_id: str, spec: Container) -> bool:
        if not self.is_started(container_id, spec):
            return False
        if spec.readiness_probe is None:
            return True
        return self._results.get((container_id, "readiness")) is ProbeResult.SUCCESS

    def is_started(self, container_id: str, spec: Container) -> bool:
        if spec.startup_probe is None:
            return True
        return self._results.get((container_id, "startup")) is ProbeResult.SUCCESS

    def failed(self, kind: str, container_ids: list[str]) -> dict[str, str]:
        """Container id → probe message, for the given containers whose `kind` probe failed."""
        return {cid: self._messages.get((cid, kind), "") for cid in container_ids
                if self._results.get((cid, kind)) is ProbeResult.FAILURE}

    # --- workers ------------------------------------------------------------------

    def sync_pod(self, uid: str, pod_ip: str, running: list[RunningContainer]) -> None:
        """Start workers for new running containers, stop those of containers gone."""
        live = {c.container_id for c in running}
        for cid in [c for c, u in self._pod_of.items() if u == uid and c not in live]:
            self._forget(cid)
        for container in running:
            self._pod_of[container.container_id] = uid
            for kind in PROBE_KINDS:
                probe: Probe | None = getattr(container.spec, f"{kind}_probe")
                key = (container.container_id, kind)
                if probe and key not in self._results:
                    self._results[key] = _INITIAL[kind]
                    self._workers[key] = asyncio.create_task(
                        self._work(uid, kind, probe, container, pod_ip), name=f"probe {kind} {key[0][:12]}")

    def remove_pod(self, uid: str) -> None:
        for cid in [c for c, u in self._pod_of.items() if u == uid]:
            self._forget(cid)

    def _forget(self, container_id: str) -> None:
        del self._pod_of[container_id]
        for kind in PROBE_KINDS:
            self._stop((container_id, kind))
            self._results.pop((container_id, kind), None)
            self._messages.pop((container_id, kind), None)

    async def stop(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _stop(self, key: tuple[str, str]) -> None:
        task = self._workers.pop(key, None)
        if task is not None:
            task.cancel()

    async def _work(self, uid: str, kind: str, probe: Probe, container: RunningContainer, pod_ip: str) -> None:
        key = (container.container_id, kind)
        period = float(probe.period_seconds or 10)
        success_threshold = probe.success_threshold or 1
        failure_threshold = probe.failure_threshold or 3
        delay = container.started_at + float(probe.initial_delay_seconds or 0) - self.clock.wall()
        if delay > 0:
            await self.clock.sleep(delay)
        last, streak = ProbeResult.UNKNOWN, 0
        try:
            while True:
                if kind != "startup" and not self.is_started(container.container_id, container.spec):
                    await self.clock.sleep(period)
                    continue
                result, message = await self.runner(probe, container=container.spec,
                                                    container_id=container.container_id, pod_ip=pod_ip)
                if result is ProbeResult.UNKNOWN:
                    await self.clock.sleep(period)
                    continue
                streak = streak + 1 if result is last else 1
                last = result
                threshold = success_threshold if result is ProbeResult.SUCCESS else failure_threshold
                if streak >= threshold and self._results.get(key) is not result:
                    self._results[key], self._messages[key] = result, message
                    log.info("probe result changed kind=%s container=%s id=%s result=%s message=%s", kind,
                             container.spec.name, container.container_id[:12], result, message)
                    self.on_change(uid)
                if kind != "readiness" and (result is ProbeResult.FAILURE and streak >= threshold
                                            or kind == "startup" and self._results.get(key) is ProbeResult.SUCCESS):
                    return
                await self.clock.sleep(period)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
