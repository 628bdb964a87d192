"""`create cronjob` builds what kubectl builds; `describe cronjob` prints kubectl's fields."""

from __future__ import annotations

import argparse

import pytest

from tinykube.api.resources import CRON_JOBS
from tinykube.cli.commands.create_cronjob import cron_job, job_from_cron_job
from tinykube.cli.context import CLIError
from tinykube.cli.describe.cronjobs import describe_cron_job


def args(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {"name": "tick", "image": "busybox:1", "schedule": "*/1 * * * *",
                                 "restart": "OnFailure", "extra_args": ["echo", "hi"]}
    values.update(overrides)
    return argparse.Namespace(**values)


def test_create_cronjob_builds_kubectls_object() -> None:
    assert cron_job(args()) == {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"metadata": {"name": "tick"}, "spec": {"template": {
            "spec": {"containers": [{"name": "tick", "image": "busybox:1", "command": ["echo", "hi"]}],
                     "restartPolicy": "OnFailure"}}}}}}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"image": None}, 'required flag(s) "image" not set'),
    ({"schedule": None}, 'required flag(s) "schedule" not set'),
    ({"restart": "Always"}, "restart policy must be one of OnFailure, Never"),
])
def test_create_cronjob_refuses_incomplete_flags(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(CLIError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cron_job(args(**overrides))


async def test_describe_cronjob_shows_schedule_policies_and_runs() -> None:
    obj = cron_job(args())
    obj["metadata"].update(namespace="default")
    obj["spec"].update(concurrencyPolicy="Forbid", suspend=False, successfulJobsHistoryLimit=3,
                       failedJobsHistoryLimit=1, timeZone="Europe/Berlin")
    obj["status"] = {"lastScheduleTime": "2026-01-01T00:05:00Z",
                     "active": [{"name": "tick-29446565"}, {"name": "tick-29446566"}]}
    text = (await describe_cron_job(None, CRON_JOBS, obj)).text()  # type: ignore[arg-type]
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in text.splitlines()
             if ":" in line and not line.startswith(" ")}
    assert lines["Schedule"] == "*/1 * * * *"
    assert lines["Time Zone"] == "Europe/Berlin"
    assert lines["Concurrency Policy"] == "Forbid"
    assert lines["Suspend"] == "False"
    assert lines["Successful Job History Limit"] == "3"
    assert lines["Starting Deadline Seconds"] == "<unset>"
    assert lines["Last Schedule Time"] == "Thu, 01 Jan 2026 00:05:00 +0000"
    assert lines["Active Jobs"] == "tick-29446565, tick-29446566"
    assert "busybox:1" in text


def test_a_job_from_a_cron_job_is_marked_manual_and_owned_by_it() -> None:
    stored = cron_job(args())
    stored["metadata"]["uid"] = "uid-tick"
    stored["spec"]["jobTemplate"]["metadata"] = {"labels": {"app": "tick"}, "annotations": {"team": "ops"}}
    job = job_from_cron_job(stored, "tick-manual")
    assert job["metadata"] == {
        "name": "tick-manual", "labels": {"app": "tick"},
        "annotations": {"cronjob.kubernetes.io/instantiate": "manual", "team": "ops"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": "uid-tick",
                             "controller": True}]}
    assert job["spec"] == stored["spec"]["jobTemplate"]["spec"]

