"""Pod workers: one sync at a time per pod, newest update wins, kills stick, failures back off."""

from __future__ import annotations

import asyncio

from kubelet.pod_workers import PodWorkers
from tinykube.api.core import Pod
from tinykube.client.clock import FakeClock


def pod(version: str, *, uid: str = "u1", deleting: bool = False) -> Pod:
    meta = {"name": "web", "namespace": "ns", "uid": uid, "resourceVersion": version}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    return Pod.from_dict({"metadata": meta, "spec": {"containers": [{"name": "app", "image": "img:1"}]}})


class Recorder:
    """Sync functions that record what they were given; a sync can be held open or made to fail."""

    def __init__(self) -> None:
        self.synced: list[str] = []  # resourceVersions (or "removed:<uid>")
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0

    async def sync_pod(self, pod: Pod) -> None:
        self.synced.append(f"{pod.metadata.resource_version}{'+kill' if pod.metadata.deletion_timestamp else ''}")
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("runtime unavailable")

    async def remove_pod(self, uid: str) -> None:
        self.synced.append(f"removed:{uid}")


def new_workers() -> tuple[PodWorkers, Recorder, FakeClock]:
    recorder, clock = Recorder(), FakeClock()
    return PodWorkers(recorder.sync_pod, recorder.remove_pod, clock=clock), recorder, clock


async def test_a_newer_update_replaces_an_older_pending_one() -> None:
    workers, recorder, _ = new_workers()
    recorder.gate.clear()
    workers.update_pod(pod("1"))
    await asyncio.sleep(0)  # sync of "1" is running
    workers.update_pod(pod("2"))
    workers.update_pod(pod("3"))
    recorder.gate.set()
    await workers.wait_idle()
    assert recorder.synced == ["1", "3"]
    assert workers.pods["u1"].metadata.resource_version == "3"


async def test_a_pending_kill_is_never_overwritten_by_an_update() -> None:
    workers, recorder, _ = new_workers()
    recorder.gate.clear()
    workers.update_pod(pod("1"))
    await asyncio.sleep(0)
    workers.update_pod(pod("2", deleting=True))
    workers.update_pod(pod("3"))  # stale: must not bring the pod back
    recorder.gate.set()
    await workers.wait_idle()
    assert recorder.synced == ["1", "2+kill"]


async def test_a_pending_removal_is_never_overwritten_by_an_update() -> None:
    workers, recorder, _ = new_workers()
    recorder.gate.clear()
    workers.update_pod(pod("1"))
    await asyncio.sleep(0)
    workers.kill_pod("u1")
    workers.update_pod(pod("2"))
    recorder.gate.set()
    await workers.wait_idle()
    assert recorder.synced == ["1", "removed:u1"]


async def test_pods_are_synced_in_parallel_one_task_each() -> None:
    workers, recorder, _ = new_workers()
    recorder.gate.clear()
    workers.update_pod(pod("1", uid="a"))
    workers.update_pod(pod("1", uid="b"))
    await asyncio.sleep(0)
    assert sorted(recorder.synced) == ["1", "1"]  # both running before either finished
    recorder.gate.set()
    await workers.wait_idle()


async def test_a_failed_sync_backs_off_exponentially_and_a_success_resets_it() -> None:
    workers, recorder, clock = new_workers()
    recorder.failures = 3
    workers.update_pod(pod("1"))
    await workers.wait_idle()
    delays = []
    for _ in range(3):
        delay = workers.retry_backoff.get("u1")
        delays.append(delay)
        clock.advance(delay - 0.01)
        await workers.wait_idle()
        attempts = len(recorder.synced)
        clock.advance(0.01)  # the retry is due only now
        await workers.wait_idle()
        assert len(recorder.synced) == attempts + 1
    assert delays == [1.0, 2.0, 4.0]
    assert recorder.failures == 0 and workers.retry_backoff.get("u1") == 0.0  # the 4th sync worked: reset
    assert clock.pending_timers == 0


async def test_a_newer_update_does_not_wait_for_the_backoff() -> None:
    workers, recorder, clock = new_workers()
    recorder.failures = 1
    workers.update_pod(pod("1"))
    await workers.wait_idle()
    workers.update_pod(pod("2"))
    await workers.wait_idle()
    assert recorder.synced == ["1", "2"]
