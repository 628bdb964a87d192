"""CronJob validation about time: the schedule, the time zone, and the name's length.

The Job-template half of ValidateCronJobSpec lives in strategies/job.py; this module
adds what only a CronJob has, with kube-apiserver's messages:
- `spec.schedule` is required and must parse as robfig/cron's standard parser parses
  it (the parser's own message is the detail); `TZ=`/`CRON_TZ=` is refused on create
  and only kept on update when the old schedule already had it;
- `spec.timeZone`, when set or changed, must name an IANA zone (not "Local");
- `metadata.name` is at most 52 characters: a Job's name adds `-<11 digits>` and must
  stay a 63-character DNS label.

Kubernetes counterpart: pkg/apis/batch/validation/validation.go (ValidateCronJobCreate,
validateScheduleFormat, validateTimeZone)
"""

from __future__ import annotations

import re
from typing import Any

from tinykube.api.cron import CronParseError, load_location, parse_standard
from tinykube.api.validation import FieldError, invalid, required

MAX_CRON_JOB_NAME_LENGTH = 63 - 11
_TIME_ZONE_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def validate_schedule(spec: dict[str, Any], old_spec: dict[str, Any] | None) -> list[FieldError]:
    schedule = spec.get("schedule")
    if not schedule:
        return [required("spec.schedule")]
    if not isinstance(schedule, str):
        return []  # the schema check reports the type
    errs: list[FieldError] = []
    try:
        parse_standard(schedule)
    except CronParseError as err:
        errs.append(invalid("spec.schedule", schedule, str(err)))
    allow_tz = old_spec is not None and "TZ" in str(old_spec.get("schedule") or "")
    if allow_tz and "TZ" in schedule and spec.get("timeZone") is not None:
        errs.append(invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
    elif not allow_tz and "TZ" in schedule:
        errs.append(invalid("spec.schedule", schedule,
                            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    return errs


def validate_time_zone(spec: dict[str, Any], old_spec: dict[str, Any] | None) -> list[FieldError]:
    zone = spec.get("timeZone")
    if zone is None or not isinstance(zone, str) or (old_spec is not None and old_spec.get("timeZone") == zone):
        return []
    if not zone:
        return [invalid("spec.timeZone", zone, "timeZone must be nil or non-empty string")]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART.match(part):
            return [invalid("spec.timeZone", zone, f"unknown time zone {zone}")]
    if zone.lower() == "local":
        errs = [invalid("spec.timeZone", zone,
                        "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")]
        return errs if zone == "Local" else errs + [invalid("spec.timeZone", zone, f"unknown time zone {zone}")]
    try:
        load_location(zone)
    except ValueError as err:
        return [invalid("spec.timeZone", zone, str(err))]
    return []


def validate_cron_job_time(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
    """The schedule and time zone checks; `old` is the stored object on update."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    old_spec = (old.get("spec") if old is not None else None)
    old_spec = old_spec if isinstance(old_spec, dict) else ({} if old is not None else None)
    return validate_schedule(spec, old_spec) + validate_time_zone(spec, old_spec)


def validate_cron_job_name(obj: dict[str, Any]) -> list[FieldError]:
    name = (obj.get("metadata") or {}).get("name")
    if isinstance(name, str) and len(name) > MAX_CRON_JOB_NAME_LENGTH:
        return [invalid("metadata.name", name, f"must be no more than {MAX_CRON_JOB_NAME_LENGTH} characters")]
    return []
