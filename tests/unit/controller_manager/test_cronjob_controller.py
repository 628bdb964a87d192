"""CronJob controller: preload caches, set the fake clock, run one sync, assert on the recorded actions."""

from __future__ import annotations

from typing import Any

import pytest
from controller_fakes import FakeClient, cache_add, typed_factory

from controller_manager.cronjob import CronJobController
from controller_manager.cronjob.utils import SCHEDULED_TIMESTAMP_ANNOTATION
from tinykube.client import EventRecorder, FakeClock

KEY = "default/backup"
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z, the CronJob's creationTimestamp
MINUTE = 60
Obj = dict[str, Any]


def cron_job(*, schedule: str = "*/5 * * * *", last_schedule: str | None = None, active: list[str] | None = None,
             **spec: Any) -> Obj:
    status: Obj = {}
    if last_schedule:
        status["lastScheduleTime"] = last_schedule
    if active:
        status["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "namespace": "default", "name": name,
                             "uid": f"uid-{name}"} for name in active]
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "backup", "namespace": "default", "uid": "uid-backup", "resourceVersion": "1",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
                     "jobTemplate": {"metadata": {"labels": {"app": "backup"}},
                                     "spec": {"template": {"spec": {
                                         "restartPolicy": "OnFailure",
                                         "containers": [{"name": "c", "image": "busybox:1"}]}}}},
                     **spec},
            "status": status}


def job(name: str, *, finished: str | None = None, start: str = "2026-01-01T00:05:00Z",
        completed: str | None = None) -> Obj:
    status: Obj = {"startTime": start}
    if finished:
        status["conditions"] = [{"type": finished, "status": "True"}]
        if finished == "Complete":
            status["completionTime"] = completed or start
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "1",
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup",
                                              "uid": "uid-backup", "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}},
            "status": status}


def make_controller(cj: Obj, jobs: list[Obj] = (), *,  # type: ignore[assignment]
                    at_seconds: float) -> tuple[CronJobController, FakeClient, FakeClock]:
    client = FakeClient()
    clock = FakeClock(wall_start=CREATED + at_seconds)
    controller = CronJobController(client, typed_factory(client), EventRecorder(client, "test"),  # type: ignore[arg-type]
                                   clock=clock)
    cache_add(controller.cron_job_informer, cj)
    client.seed("cronjobs", cj)
    cache_add(controller.job_informer, *jobs)
    for item in jobs:
        client.seed("jobs", item)
    return controller, client, clock


async def sync(controller: CronJobController, client: FakeClient) -> None:
    await controller.sync_cron_job(KEY)
    await controller.recorder.flush()


def reasons(client: FakeClient) -> list[str]:
    return [event["reason"] for event in client.events]


def status_writes(client: FakeClient) -> list[Obj]:
    return [action.body["status"] for action in client.writes("cronjobs", "update_status")]


# --- scheduling --------------------------------------------------------------------------


async def test_nothing_is_due_before_the_first_activation_and_the_key_waits_for_it() -> None:
    controller, client, clock = make_controller(cron_job(), at_seconds=3 * MINUTE)
    await sync(controller, client)
    assert client.writes("jobs") == [] and status_writes(client) == []
    clock.advance(2 * MINUTE - 0.2)
    assert len(controller.queue) == 0
    clock.advance(0.5)  # just after 00:05
    assert len(controller.queue) == 1


async def test_a_due_activation_creates_its_job_and_records_it() -> None:
    controller, client, _ = make_controller(cron_job(), at_seconds=5 * MINUTE + 3)
    await sync(controller, client)
    [create] = client.writes("jobs", "create")
    body = create.body
    assert body["metadata"]["name"] == f"backup-{(CREATED + 5 * MINUTE) // 60}"
    assert body["metadata"]["labels"] == {"app": "backup"}
    assert body["metadata"]["annotations"] == {SCHEDULED_TIMESTAMP_ANNOTATION: "2026-01-01T00:05:00Z"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "uid-backup"
    assert body["metadata"]["ownerReferences"][0]["controller"] is True
    assert body["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    [status] = status_writes(client)
    assert status["lastScheduleTime"] == "2026-01-01T00:05:00Z"
    assert [ref["name"] for ref in status["active"]] == [body["metadata"]["name"]]
    assert reasons(client) == ["SuccessfulCreate"]


async def test_the_annotation_and_schedule_follow_the_time_zone() -> None:
    # 2026-01-01T00:00Z is 09:00 in Tokyo: "0 9 * * *" is due at creation + 24h, not at 09:00 UTC.
    cj = cron_job(schedule="0 9 * * *", timeZone="Asia/Tokyo")
    controller, client, _ = make_controller(cj, at_seconds=9 * 3600 + 1)
    await sync(controller, client)
    assert client.writes("jobs", "create") == []
    controller, client, _ = make_controller(cj, at_seconds=24 * 3600 + 1)
    await sync(controller, client)
    [create] = client.writes("jobs", "create")
    assert create.body["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == "2026-01-02T09:00:00+09:00"


async def test_only_the_latest_of_several_missed_activations_runs() -> None:
    controller, client, _ = make_controller(cron_job(), at_seconds=17 * MINUTE)
    await sync(controller, client)
    [create] = client.writes("jobs", "create")
    assert create.name == f"backup-{(CREATED + 15 * MINUTE) // 60}"


async def test_more_than_one_hundred_missed_activations_warn_and_still_run_the_latest() -> None:
    controller, client, _ = make_controller(cron_job(schedule="* * * * *"), at_seconds=200 * MINUTE + 1)
    await sync(controller, client)
    assert "TooManyMissedTimes" in reasons(client)
    [create] = client.writes("jobs", "create")
    assert create.name == f"backup-{(CREATED + 200 * MINUTE) // 60}"


async def test_an_activation_already_handled_is_not_run_again() -> None:
    name = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    cj = cron_job(last_schedule="2026-01-01T00:05:00Z", active=[name])
    controller, client, _ = make_controller(cj, [job(name)], at_seconds=6 * MINUTE)
    await sync(controller, client)
    assert client.actions == [] and client.events == []


async def test_suspend_creates_nothing_and_does_not_requeue() -> None:
    controller, client, clock = make_controller(cron_job(suspend=True), at_seconds=5 * MINUTE + 3)
    await sync(controller, client)
    assert client.writes("jobs") == []
    clock.advance(3600)
    assert len(controller.queue) == 0


async def test_starting_deadline_passed_skips_the_run_with_an_event() -> None:
    controller, client, _ = make_controller(cron_job(startingDeadlineSeconds=30), at_seconds=5 * MINUTE + 45)
    await sync(controller, client)
    assert client.writes("jobs") == []
    assert [e["message"] for e in client.events] == [
        "Missed scheduled time to start a job: Thu, 01 Jan 2026 00:05:00 +0000"]


async def test_starting_deadline_not_passed_runs() -> None:
    controller, client, _ = make_controller(cron_job(startingDeadlineSeconds=30), at_seconds=5 * MINUTE + 20)
    await sync(controller, client)
    assert len(client.writes("jobs", "create")) == 1


# --- concurrency policy --------------------------------------------------------------------


async def test_forbid_skips_while_a_job_is_active() -> None:
    running = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    cj = cron_job(concurrencyPolicy="Forbid", last_schedule="2026-01-01T00:05:00Z", active=[running])
    controller, client, _ = make_controller(cj, [job(running)], at_seconds=10 * MINUTE + 1)
    await sync(controller, client)
    assert client.writes("jobs") == []
    assert reasons(client) == ["JobAlreadyActive"]


async def test_replace_deletes_the_active_job_then_creates_the_next() -> None:
    running = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    cj = cron_job(concurrencyPolicy="Replace", last_schedule="2026-01-01T00:05:00Z", active=[running])
    controller, client, _ = make_controller(cj, [job(running)], at_seconds=10 * MINUTE + 1)
    await sync(controller, client)
    assert [(a.verb, a.name) for a in client.writes("jobs")] == [
        ("delete", running), ("create", f"backup-{(CREATED + 10 * MINUTE) // 60}")]
    assert client.writes("jobs", "delete")[0].body == {"propagationPolicy": "Background"}
    [status] = status_writes(client)
    assert [ref["name"] for ref in status["active"]] == [f"backup-{(CREATED + 10 * MINUTE) // 60}"]
    assert reasons(client) == ["SuccessfulDelete", "SuccessfulCreate"]


async def test_allow_runs_next_to_an_active_job() -> None:
    running = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    cj = cron_job(last_schedule="2026-01-01T00:05:00Z", active=[running])
    controller, client, _ = make_controller(cj, [job(running)], at_seconds=10 * MINUTE + 1)
    await sync(controller, client)
    [status] = status_writes(client)
    assert len(status["active"]) == 2


# --- finished jobs and history ----------------------------------------------------------------


async def test_a_finished_job_leaves_active_and_sets_last_successful_time() -> None:
    done = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    cj = cron_job(last_schedule="2026-01-01T00:05:00Z", active=[done])
    finished = job(done, finished="Complete", completed="2026-01-01T00:05:09Z")
    controller, client, _ = make_controller(cj, [finished], at_seconds=6 * MINUTE)
    await sync(controller, client)
    [status] = status_writes(client)
    assert "active" not in status
    assert status["lastSuccessfulTime"] == "2026-01-01T00:05:09Z"
    assert reasons(client) == ["SawCompletedJob"]
    assert client.events[0]["message"] == f"Saw completed job: {done}, condition: Complete"


async def test_history_limits_delete_the_oldest_finished_jobs() -> None:
    succeeded = [job(f"ok-{i}", finished="Complete", start=f"2026-01-01T00:0{i}:00Z") for i in range(1, 5)]
    failed = [job(f"bad-{i}", finished="Failed", start=f"2026-01-01T00:0{i}:30Z") for i in range(1, 3)]
    cj = cron_job(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=0, last_schedule="2026-01-01T00:05:00Z")
    controller, client, _ = make_controller(cj, succeeded + failed, at_seconds=6 * MINUTE)
    await sync(controller, client)
    assert sorted(a.name for a in client.writes("jobs", "delete")) == ["bad-1", "bad-2", "ok-1", "ok-2"]
    assert reasons(client).count("SuccessfulDelete") == 4


async def test_an_active_job_that_is_gone_is_dropped_from_status() -> None:
    cj = cron_job(last_schedule="2026-01-01T00:05:00Z", active=["backup-gone"])
    controller, client, _ = make_controller(cj, at_seconds=6 * MINUTE)
    await sync(controller, client)
    [status] = status_writes(client)
    assert "active" not in status
    assert reasons(client) == ["MissingJob"]


# --- idempotence ---------------------------------------------------------------------------------


async def test_a_restart_after_create_before_status_adopts_the_job_instead_of_duplicating() -> None:
    name = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    existing = job(name)
    controller, client, _ = make_controller(cron_job(), at_seconds=5 * MINUTE + 3)
    client.seed("jobs", existing)  # created by the previous process; this cache has not seen it yet
    await sync(controller, client)
    assert client.writes("jobs", "create") == []
    [status] = status_writes(client)
    assert [ref["uid"] for ref in status["active"]] == [f"uid-{name}"]
    assert status["lastScheduleTime"] == "2026-01-01T00:05:00Z"
    assert "SuccessfulCreate" not in reasons(client)


async def test_a_job_of_that_name_owned_by_someone_else_is_left_alone() -> None:
    name = f"backup-{(CREATED + 5 * MINUTE) // 60}"
    foreign = job(name)
    foreign["metadata"]["ownerReferences"] = []
    controller, client, _ = make_controller(cron_job(), at_seconds=5 * MINUTE + 3)
    client.seed("jobs", foreign)
    await sync(controller, client)
    assert status_writes(client) == []


# --- bad specs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "reason"), [
    ({"schedule": "61 * * * *"}, "UnparseableSchedule"),
    ({"timeZone": "Mars/Olympus"}, "UnknownTimeZone"),
])
async def test_an_unusable_spec_is_reported_and_not_retried(spec: Obj, reason: str) -> None:
    cj = cron_job()
    cj["spec"].update(spec)
    controller, client, clock = make_controller(cj, at_seconds=5 * MINUTE + 3)
    await sync(controller, client)
    assert reasons(client) == [reason] and client.writes("jobs") == []
    clock.advance(3600)
    assert len(controller.queue) == 0


async def test_job_events_enqueue_their_cron_job_only() -> None:
    controller, client, _ = make_controller(cron_job(), at_seconds=0)
    cache_add(controller.job_informer, job("backup-1"))
    controller.job_changed(controller.job_informer.indexer.get("default/backup-1"))
    stranger = job("other-1")
    stranger["metadata"]["ownerReferences"][0]["uid"] = "uid-someone-else"
    cache_add(controller.job_informer, stranger)
    controller.job_changed(controller.job_informer.indexer.get("default/other-1"))
    assert len(controller.queue) == 1
