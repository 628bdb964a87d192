"""kubectl get jobs / cronjobs cells, as printJob and printCronJob compute them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from apiserver.table_printers_batch import print_cron_job, print_job

NOW = datetime(2026, 1, 1, 0, 10, tzinfo=timezone.utc)
Obj = dict[str, Any]


def job(spec: Obj, status: Obj, deleting: bool = False) -> Obj:
    meta: Obj = {"name": "pi", "creationTimestamp": "2026-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:09:00Z"
    return {"metadata": meta, "status": status,
            "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
                     "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5"}]}}, **spec}}


def true(condition_type: str) -> Obj:
    return {"type": condition_type, "status": "True"}


@pytest.mark.parametrize(("spec", "status", "deleting", "cells"), [
    ({"completions": 5}, {}, False, ["Running", "0/5", ""]),
    ({"completions": 5}, {"succeeded": 5, "startTime": "2026-01-01T00:00:00Z",
                          "completionTime": "2026-01-01T00:01:30Z",
                          "conditions": [true("SuccessCriteriaMet"), true("Complete")]}, False,
     ["Complete", "5/5", "90s"]),
    ({"parallelism": 3}, {"succeeded": 1, "startTime": "2026-01-01T00:05:00Z"}, False,
     ["Running", "1/1 of 3", "5m"]),
    ({}, {"conditions": [true("FailureTarget"), true("Failed")]}, True, ["Failed", "0/1", ""]),
    ({"completions": 1}, {"conditions": [true("FailureTarget")]}, True, ["Terminating", "0/1", ""]),
    ({"completions": 1}, {"conditions": [true("Suspended")]}, False, ["Suspended", "0/1", ""]),
    ({"completions": 1}, {"conditions": [{"type": "Suspended", "status": "False"}]}, False,
     ["Running", "0/1", ""]),
])
def test_job_row(spec: Obj, status: Obj, deleting: bool, cells: list[str]) -> None:
    row = print_job(job(spec, status, deleting), NOW)
    assert row[1:4] == cells
    assert row[0] == "pi" and row[4] == "10m"
    assert row[5:] == ["pi", "perl:5", "batch.kubernetes.io/controller-uid=u"]


def test_cron_job_row() -> None:
    cron = {"metadata": {"name": "tick", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": "*/5 * * * *", "suspend": False,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [
                         {"name": "c", "image": "busybox:1"}]}}}}},
            "status": {"active": [{"name": "tick-1"}], "lastScheduleTime": "2026-01-01T00:05:00Z"}}
    assert print_cron_job(cron, NOW) == ["tick", "*/5 * * * *", "<none>", "false", 1, "5m", "10m",
                                         "c", "busybox:1", "<none>"]
