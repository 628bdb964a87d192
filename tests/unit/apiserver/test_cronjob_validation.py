"""CronJob validation: schedule, time zone and name errors with kube-apiserver's messages."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.strategies.job import CronJobStrategy
from tinykube.api.resources import CRON_JOBS

Obj = dict[str, Any]


def cron_job(name: str = "backup", **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": "default"},
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox:1"}]}}}}, **spec}}


def errors(obj: Obj, old: Obj | None = None) -> list[str]:
    strategy = CronJobStrategy(CRON_JOBS)
    found = strategy.validate(obj) if old is None else strategy.validate_update(obj, old)
    return [str(err) for err in found]


def test_a_valid_cron_job_has_no_errors() -> None:
    assert errors(cron_job(timeZone="Europe/Berlin")) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"schedule": ""}, ["spec.schedule: Required value"]),
    ({"schedule": "61 * * * *"},
     ['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']),
    ({"schedule": "* * *"}, ['spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]']),
    ({"schedule": "@often"}, ['spec.schedule: Invalid value: "@often": unrecognized descriptor: @often']),
    ({"schedule": "TZ=UTC 0 * * * *"},
     ['spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, '
      'use timeZone field instead']),
    ({"timeZone": "Mars/Olympus"}, ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']),
    ({"timeZone": "../etc"}, ['spec.timeZone: Invalid value: "../etc": unknown time zone ../etc']),
    ({"timeZone": ""}, ['spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string']),
    ({"timeZone": "Local"},
     ['spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in '
      'https://www.iana.org/time-zones']),
])
def test_schedule_and_time_zone_errors(spec: Obj, expected: list[str]) -> None:
    assert errors(cron_job(**spec)) == expected


def test_names_longer_than_52_characters_are_refused() -> None:
    assert errors(cron_job("a" * 52)) == []
    assert errors(cron_job("a" * 53)) == [f'metadata.name: Invalid value: "{"a" * 53}": must be no more than 52 characters']


def test_update_checks_the_time_zone_only_when_it_changes_and_tz_only_if_new() -> None:
    stored = cron_job(timeZone="Mars/Olympus")  # as if stored by an older release
    assert errors(cron_job(timeZone="Mars/Olympus", suspend=True), stored) == []
    assert errors(cron_job(timeZone="Asia/Nowhere"), stored) == [
        'spec.timeZone: Invalid value: "Asia/Nowhere": unknown time zone Asia/Nowhere']
    legacy = cron_job(schedule="CRON_TZ=UTC 0 * * * *")
    assert errors(cron_job(schedule="CRON_TZ=UTC 5 * * * *"), legacy) == []
    assert errors(cron_job(schedule="CRON_TZ=UTC 5 * * * *", timeZone="UTC"), legacy) == [
        'spec.schedule: Invalid value: "CRON_TZ=UTC 5 * * * *": cannot use both timeZone field and TZ or CRON_TZ '
        'in schedule']
