"""TTL-after-finished: a finished Job is deleted ttlSecondsAfterFinished after it finished."""

from __future__ import annotations

from typing import Any

from controller_fakes import FakeClient, cache_add, parsed, typed_factory

from controller_manager.ttlafterfinished import TTLAfterFinishedController
from tinykube.client import EventRecorder, FakeClock

KEY = "default/pi"
FINISHED_AT = "2026-01-01T00:00:00Z"  # the fake clock's wall time starts here
Obj = dict[str, Any]


def finished_job(ttl: int | None, condition_type: str = "Complete", status: str = "True") -> Obj:
    spec: Obj = {"template": {"spec": {"containers": [{"name": "main", "image": "busybox:1"}]}}}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": spec,
            "metadata": {"name": "pi", "namespace": "default", "uid": "uid-pi", "resourceVersion": "7"},
            "status": {"conditions": [{"type": condition_type, "status": status,
                                       "lastTransitionTime": FINISHED_AT}]}}


def make_controller(job: Obj) -> tuple[TTLAfterFinishedController, FakeClient, FakeClock]:
    client, clock = FakeClient(), FakeClock()
    controller = TTLAfterFinishedController(client, typed_factory(client),  # type: ignore[arg-type]
                                            EventRecorder(client, "test"), clock=clock)  # type: ignore[arg-type]
    cache_add(controller.job_informer, job)
    client.seed("jobs", job)
    return controller, client, clock


async def test_deleted_in_the_foreground_once_expired() -> None:
    controller, client, clock = make_controller(finished_job(ttl=60))
    clock.advance(30)
    await controller.process_job(KEY)
    assert client.writes("jobs", "delete") == []
    clock.advance(29)
    assert len(controller.queue) == 0
    clock.advance(1)
    assert await controller.queue.get() == KEY
    await controller.process_job(KEY)
    [delete] = client.writes("jobs", "delete")
    assert delete.body == {"propagationPolicy": "Foreground",
                           "preconditions": {"uid": "uid-pi", "resourceVersion": "7"}}


async def test_failed_jobs_expire_too_and_zero_means_at_once() -> None:
    controller, client, _ = make_controller(finished_job(ttl=0, condition_type="Failed"))
    await controller.process_job(KEY)
    assert len(client.writes("jobs", "delete")) == 1


async def test_unfinished_or_without_ttl_is_left_alone() -> None:
    for job in (finished_job(ttl=None), finished_job(ttl=0, status="False")):
        controller, client, _ = make_controller(job)
        controller.add_job(parsed(controller.job_informer, job))
        assert len(controller.queue) == 0
        await controller.process_job(KEY)
        assert client.writes("jobs", "delete") == []


async def test_a_fresh_read_with_a_longer_ttl_wins_over_the_cache() -> None:
    controller, client, clock = make_controller(finished_job(ttl=0))
    client.seed("jobs", finished_job(ttl=600))  # changed since the cache saw it
    await controller.process_job(KEY)
    assert client.writes("jobs", "delete") == []
    clock.advance(600)
    assert await controller.queue.get() == KEY  # looked at again once the new TTL is up
