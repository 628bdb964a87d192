"""Pure helpers of the CronJob controller: which run is due, the Job it makes, finished Jobs.

Nothing here does I/O. `next_schedule_time` answers "which activation should start
now" (the latest unmet one, the window bounded below by lastScheduleTime or the
creation time and by startingDeadlineSeconds); `get_job_from_template` builds the Job
for one activation, named `<cronjob>-<scheduled unix minutes>` so that creating it
twice for the same activation is a 409, never a second Job.

Kubernetes counterpart: pkg/controller/cronjob/utils.go
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tinykube.api.batch import CronJob, Job, JobConditionType, JobSpec
from tinykube.api.core import ObjectReference
from tinykube.api.cron import Schedule, ScheduleTimes, load_location, most_recent_schedule_time
from tinykube.api.meta import ObjectMeta, new_controller_ref, parse_rfc3339
from tinykube.api.registry import deep_copy

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA_SECONDS = 0.1  # wake a little after the activation, never just before it


def schedule_zone(cron_job: CronJob, schedule: Schedule) -> ZoneInfo:
    """spec.timeZone, else a TZ= prefix, else UTC (see docs/differences-from-kubernetes.md)."""
    if cron_job.spec.time_zone is not None:
        return load_location(cron_job.spec.time_zone)
    return schedule.location or ZoneInfo("UTC")


def earliest_time(cron_job: CronJob) -> datetime:
    """The last activation already handled: lastScheduleTime, else the CronJob's creation."""
    status = cron_job.status
    stamp = (status.last_schedule_time if status else None) or cron_job.metadata.creation_timestamp
    return parse_rfc3339(stamp) if stamp else datetime.fromtimestamp(0, UTC)


def next_schedule_time(cron_job: CronJob, schedule: Schedule, zone: ZoneInfo, now: datetime) -> ScheduleTimes:
    """The latest unmet activation at `now`; runs older than startingDeadlineSeconds never count."""
    earliest = earliest_time(cron_job)
    deadline = cron_job.spec.starting_deadline_seconds
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=deadline))
    return most_recent_schedule_time(schedule, zone, earliest, now)


def is_last_schedule_time(cron_job: CronJob, scheduled: datetime) -> bool:
    last = cron_job.status.last_schedule_time if cron_job.status else None
    return last is not None and parse_rfc3339(last) == scheduled


def missed_beyond_deadline(cron_job: CronJob, schedule: Schedule, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest activation that startingDeadlineSeconds made too late to start, if any.

    Asked only when nothing is due within the deadline. Upstream checks `tooLate` on
    the run found inside the deadline window, which therefore never is; here the miss
    is reported (event MissSchedule) as its message intends.
    """
    if cron_job.spec.starting_deadline_seconds is None:
        return None
    return most_recent_schedule_time(schedule, zone, earliest_time(cron_job), now).most_recent


def requeue_after_seconds(schedule: Schedule, zone: ZoneInfo, now: datetime) -> float | None:
    """Seconds until just after the next activation; None if there is none."""
    upcoming = schedule.next(now, zone)
    if upcoming is None:
        return None
    return (upcoming - now).total_seconds() + NEXT_SCHEDULE_DELTA_SECONDS


def job_name(cron_job: CronJob, scheduled: datetime) -> str:
    return f"{cron_job.metadata.name}-{int(scheduled.timestamp()) // 60}"


def format_rfc3339_in(moment: datetime, zone: ZoneInfo) -> str:
    """Go's time.RFC3339 of `moment` in `zone`: "Z" for a zero offset, else "+01:00"."""
    local = moment.astimezone(zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S%z")
    if text.endswith("+0000"):
        return text[:-5] + "Z"
    return f"{text[:-2]}:{text[-2:]}"


def format_rfc1123z(moment: datetime) -> str:
    """Go's time.RFC1123Z in UTC, as upstream's MissSchedule message prints it."""
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def get_job_from_template(cron_job: CronJob, scheduled: datetime, zone: ZoneInfo) -> Job:
    """The Job for one activation: the template's labels, annotations and spec, owned by `cron_job`."""
    template = cron_job.spec.job_template
    template_meta = template.metadata or ObjectMeta()
    annotations = dict(template_meta.annotations or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = format_rfc3339_in(scheduled, zone)
    return Job(
        metadata=ObjectMeta(name=job_name(cron_job, scheduled), namespace=cron_job.metadata.namespace,
                            labels=dict(template_meta.labels or {}) or None, annotations=annotations,
                            owner_references=[new_controller_ref(cron_job)]),
        spec=deep_copy(template.spec) if template.spec is not None else JobSpec())


def job_reference(job: Job) -> ObjectReference:
    return ObjectReference(api_version=job.api_version, kind=job.kind, namespace=job.metadata.namespace,
                           name=job.metadata.name, uid=job.metadata.uid,
                           resource_version=job.metadata.resource_version)


def finished_condition(job: Job) -> str | None:
    """"Complete" or "Failed" once the Job has that condition True, else None."""
    for condition in (job.status.conditions if job.status else None) or ():
        if condition.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and condition.status == "True":
            return str(condition.type)
    return None


def in_active_list(cron_job: CronJob, uid: str | None) -> bool:
    return any(ref.uid == uid for ref in (cron_job.status.active if cron_job.status else None) or ())


def delete_from_active_list(cron_job: CronJob, uid: str | None) -> None:
    if cron_job.status is not None and cron_job.status.active:
        cron_job.status.active = [ref for ref in cron_job.status.active if ref.uid != uid] or None


def by_job_start_time(job: Job) -> tuple[int, str, str]:
    """Oldest first; Jobs that never started last; names break ties (upstream byJobStartTime)."""
    start = job.status.start_time if job.status else None
    return (1, "", job.metadata.name or "") if start is None else \
        (0, parse_rfc3339(start).isoformat(), job.metadata.name or "")
