"""Server-side Table columns for batch/v1: Jobs and CronJobs.

`kubectl get jobs` prints NAME STATUS COMPLETIONS DURATION AGE (wide adds the
template's containers, images and the selector); `kubectl get cronjobs` prints
NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE. A Job's STATUS is the
first of its True conditions in upstream's order (Complete, Failed, then
Terminating while deleted, Suspended, FailureTarget, SuccessCriteriaMet), else
Running; COMPLETIONS reads "3/5", or "3/1 of 4" for a work-queue Job.

Kubernetes counterpart: pkg/printers/internalversion/printers.go (printJob, printCronJob)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apiserver.table_printers import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    Column,
    Obj,
    TablePrinter,
    age,
    format_label_selector,
    get_path,
    human_duration,
    layout_container_cells,
    name_of,
    parse_timestamp,
    translate_timestamp_since,
)

JOB_SELECTOR_DESCRIPTION = "A label query over pods that should match the pod count."
JOB_COLUMNS = (
    NAME,
    Column("Status", description="Status of the job."),
    Column("Completions", description="The number of pods which reached phase Succeeded."),
    Column("Duration", description="Time required to complete the job."),
    AGE, CONTAINERS, IMAGES,
    Column("Selector", priority=1, description=JOB_SELECTOR_DESCRIPTION),
)
CRON_JOB_COLUMNS = (
    NAME,
    Column("Schedule", description="The schedule in Cron format."),
    Column("Timezone", description="The time zone name for the given schedule."),
    Column("Suspend", "boolean", "This flag tells the controller to suspend subsequent "
           "executions."),
    Column("Active", "integer", "A list of pointers to currently running jobs."),
    Column("Last Schedule", description="Information when was the last time the job was "
           "successfully scheduled."),
    AGE, CONTAINERS, IMAGES,
    Column("Selector", priority=1, description=JOB_SELECTOR_DESCRIPTION),
)
# The condition types that name a Job's STATUS, in the order upstream tests them.
_STATUS_BEFORE_DELETION = ("Complete", "Failed")
_STATUS_AFTER_DELETION = ("Suspended", "FailureTarget", "SuccessCriteriaMet")


def _has_condition(obj: Obj, condition_type: str) -> bool:
    return any(c.get("type") == condition_type and c.get("status") == "True"
               for c in get_path(obj, "status", "conditions", default=[]))


def job_status(obj: Obj) -> str:
    for condition_type in _STATUS_BEFORE_DELETION:
        if _has_condition(obj, condition_type):
            return condition_type
    if get_path(obj, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    for condition_type in _STATUS_AFTER_DELETION:
        if _has_condition(obj, condition_type):
            return condition_type
    return "Running"


def job_completions(obj: Obj) -> str:
    succeeded = int(get_path(obj, "status", "succeeded", default=0))
    completions = get_path(obj, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = int(get_path(obj, "spec", "parallelism", default=0))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(obj: Obj, now: datetime) -> str:
    start = parse_timestamp(get_path(obj, "status", "startTime"))
    if start is None:
        return ""
    end = parse_timestamp(get_path(obj, "status", "completionTime")) or now
    return human_duration((end - start).total_seconds())


def print_job(obj: Obj, now: datetime) -> list[Any]:
    names, images = layout_container_cells(
        list(get_path(obj, "spec", "template", "spec", "containers", default=[])))
    return [name_of(obj), job_status(obj), job_completions(obj), job_duration(obj, now),
            age(obj, now), names, images, format_label_selector(get_path(obj, "spec", "selector"))]


def print_cron_job(obj: Obj, now: datetime) -> list[Any]:
    spec = get_path(obj, "spec", default={})
    job_spec = get_path(spec, "jobTemplate", "spec", default={})
    names, images = layout_container_cells(
        list(get_path(job_spec, "template", "spec", "containers", default=[])))
    last_schedule = get_path(obj, "status", "lastScheduleTime")
    suspend = spec.get("suspend")
    return [name_of(obj), str(spec.get("schedule") or ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else str(bool(suspend)).lower(),
            len(get_path(obj, "status", "active", default=[])),
            "<none>" if last_schedule is None else translate_timestamp_since(last_schedule, now),
            age(obj, now), names, images, format_label_selector(job_spec.get("selector"))]


BATCH_PRINTERS: dict[tuple[str, str], TablePrinter] = {
    ("batch", "jobs"): TablePrinter(JOB_COLUMNS, print_job),
    ("batch", "cronjobs"): TablePrinter(CRON_JOB_COLUMNS, print_cron_job),
}
