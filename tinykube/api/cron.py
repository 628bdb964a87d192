"""Cron schedules as Kubernetes reads them: robfig/cron's standard parser and `Next`.

`parse_standard(spec)` accepts what `cron.ParseStandard` accepts and fails with its
messages (the API server puts them in a 422 verbatim):
- five fields `minute hour day-of-month month day-of-week`; in each, comma lists of
  `*`, `?`, `N`, `A-B`, with an optional `/STEP` (`N/STEP` means `N-max/STEP`);
  month (`jan`..`dec`) and weekday (`sun`..`sat`) names, case-insensitive;
- `@yearly @annually @monthly @weekly @daily @midnight @hourly` and `@every <duration>`;
- a `TZ=<zone>` / `CRON_TZ=<zone>` prefix (parsed here; the API refuses it on create).

When both day fields are restricted a day matches if *either* matches (a field written
`*`, `?` or `*/1` is unrestricted, `*/2` is restricted), as in cron(8).

`SpecSchedule.next(t, zone)` walks wall-clock fields in `zone` exactly as robfig's
`SpecSchedule.Next` does with Go's `time` package: months, then days, then hours and
minutes, stepping by absolute durations. Consequences across DST changes (kept, since
they are what Kubernetes does): a wall time that does not exist (spring forward) is
skipped that day, and minutes of a repeated hour (fall back) fire twice. No activation
within five years (e.g. `0 0 30 2 *`) gives None.

`most_recent_schedule_time` is the controller's "which run is due now" question.

Kubernetes counterpart: vendor/github.com/robfig/cron/v3 (parser.go, spec.go,
constantdelay.go) and mostRecentScheduleTime in pkg/controller/cronjob/utils.go
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tinykube.component import parse_duration

STAR_BIT = 1 << 63  # set when a field was written as a star: it does not restrict the day
MAX_MISSED = 100  # more missed activations than this and the controller warns (TooManyMissedTimes)


class CronParseError(ValueError):
    """A schedule robfig/cron refuses; str() is its message."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTHS = _Bounds(1, 12, {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))})
_DOW = _Bounds(0, 6, {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))})


def _bits(low: int, high: int, step: int = 1) -> int:
    return sum(1 << i for i in range(low, high + 1, step))


def _all(bounds: _Bounds) -> int:
    return _bits(bounds.low, bounds.high) | STAR_BIT


@dataclass(frozen=True)
class SpecSchedule:
    """Bit sets of allowed values per field (bit i = value i), as robfig's SpecSchedule.

    `location` is the zone of a `TZ=` prefix, None when the schedule has none.
    """

    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: ZoneInfo | None = None

    def day_matches(self, local: datetime) -> bool:
        dom_match = bool(1 << local.day & self.dom)
        dow_match = bool(1 << _weekday(local) & self.dow)
        if self.dom & STAR_BIT or self.dow & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first activation strictly after `after` (aware), as a UTC instant; None within 5 years."""
        t = _truncate(after, 1) + timedelta(seconds=1)  # the upcoming second
        added = False  # once a field was stepped, the smaller ones start from zero
        year_limit = _local(t, zone).year + 5
        while True:  # one pass per robfig's WRAP label: re-check every field after a carry
            local = _local(t, zone)
            if local.year > year_limit:
                return None
            if not 1 << local.month & self.month:
                if not added:
                    added, t = True, _go_date(local.year, local.month, 1, 0, 0, 0, zone)
                local = _local(t, zone)
                t = _go_date(local.year, local.month + 1, local.day, local.hour, local.minute, local.second, zone)
                continue  # the loop re-tests the month (a carry into January re-checks the year)
            if not self.day_matches(local):
                if not added:
                    added, t = True, _go_date(local.year, local.month, local.day, 0, 0, 0, zone)
                local = _local(t, zone)
                t = _go_date(local.year, local.month, local.day + 1, local.hour, local.minute, local.second, zone)
                hour = _local(t, zone).hour
                if hour:  # midnight moved by DST: back to the start of the day
                    t += timedelta(hours=24 - hour if hour > 12 else -hour)
                continue
            if not 1 << local.hour & self.hour:
                if not added:
                    added, t = True, _go_date(local.year, local.month, local.day, local.hour, 0, 0, zone)
                t += timedelta(hours=1)
                continue
            if not 1 << local.minute & self.minute:
                if not added:
                    added, t = True, _truncate(t, 60)
                t += timedelta(minutes=1)
                continue
            if local.second:  # the seconds field of a standard spec is always 0
                if not added:
                    added = True
                t = _truncate(t, 60) + timedelta(minutes=1)
                continue
            return t


@dataclass(frozen=True)
class ConstantDelaySchedule:
    """`@every <duration>`: every `delay_seconds` (whole seconds, at least 1) after the last run."""

    delay_seconds: int
    location: ZoneInfo | None = None

    def next(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        return _truncate(after, 1) + timedelta(seconds=self.delay_seconds)


Schedule = SpecSchedule | ConstantDelaySchedule


def _weekday(local: datetime) -> int:
    return (local.weekday() + 1) % 7  # Go's Weekday: Sunday is 0


def _local(t: datetime, zone: ZoneInfo) -> datetime:
    return t.astimezone(zone)


def _truncate(t: datetime, seconds: int) -> datetime:
    """Go's Time.Truncate on the absolute time, as a UTC datetime."""
    epoch = int(t.timestamp() // 1)
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def _go_date(year: int, month: int, day: int, hour: int, minute: int, second: int,
             zone: ZoneInfo) -> datetime:
    """Go's time.Date in `zone`, normalising overflowing months and days, as a UTC instant.

    A wall time in a DST gap or overlap resolves as Go resolves it: with the offset in
    force at (wall time read as UTC) minus that offset.
    """
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    naive = datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour, minutes=minute,
                                                          seconds=second)
    first = naive.astimezone(zone).utcoffset() or timedelta(0)
    offset = (naive - first).astimezone(zone).utcoffset() or timedelta(0)
    return naive - offset


# --- parsing --------------------------------------------------------------------------


def load_location(name: str) -> ZoneInfo:
    """Go's time.LoadLocation for an IANA name ("" and "UTC" are UTC); ValueError with Go's message."""
    if name in ("", "UTC"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name}") from None


def parse_standard(spec: str) -> Schedule:
    """A schedule from a standard 5-field spec or a descriptor; CronParseError as robfig words it."""
    if not spec:
        raise CronParseError("empty spec string")
    location: ZoneInfo | None = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        name, _, rest = spec.partition(" ")
        zone_name = name.partition("=")[2]
        try:
            location = load_location(zone_name)
        except ValueError as err:
            raise CronParseError(f"provided bad location {zone_name}: {err}") from None
        spec = rest.strip()
    if spec.startswith("@"):
        return _parse_descriptor(spec, location)
    fields = spec.split()
    if len(fields) != 5:
        raise CronParseError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    return SpecSchedule(
        minute=_get_field(fields[0], _MINUTES), hour=_get_field(fields[1], _HOURS),
        dom=_get_field(fields[2], _DOM), month=_get_field(fields[3], _MONTHS),
        dow=_get_field(fields[4], _DOW), location=location)


def _parse_descriptor(descriptor: str, location: ZoneInfo | None) -> Schedule:
    every_day = dict(dom=_all(_DOM), month=_all(_MONTHS), dow=_all(_DOW))
    midnight = dict(minute=1, hour=1)
    match descriptor:
        case "@yearly" | "@annually":
            return SpecSchedule(**midnight, dom=1 << 1, month=1 << 1, dow=_all(_DOW), location=location)
        case "@monthly":
            return SpecSchedule(**midnight, dom=1 << 1, month=_all(_MONTHS), dow=_all(_DOW), location=location)
        case "@weekly":
            return SpecSchedule(**midnight, dom=_all(_DOM), month=_all(_MONTHS), dow=1, location=location)
        case "@daily" | "@midnight":
            return SpecSchedule(**midnight, **every_day, location=location)
        case "@hourly":
            return SpecSchedule(minute=1, hour=_all(_HOURS), **every_day, location=location)
    if descriptor.startswith("@every "):
        text = descriptor.removeprefix("@every ")
        try:
            seconds = parse_duration(text)
        except ValueError as err:
            raise CronParseError(f"failed to parse duration {descriptor}: {err}") from None
        return ConstantDelaySchedule(max(1, int(seconds)), location)  # whole seconds, at least one
    raise CronParseError(f"unrecognized descriptor: {descriptor}")


def _get_field(field: str, bounds: _Bounds) -> int:
    bits = 0
    for expr in (part for part in field.split(",") if part):
        bits |= _get_range(expr, bounds)
    return bits


def _get_range(expr: str, bounds: _Bounds) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = bounds.low, bounds.high, STAR_BIT
    else:
        start = _parse_int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronParseError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        if step > 1:
            extra = 0  # "*/2" restricts; "*/1" is still a star
    else:
        raise CronParseError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise CronParseError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronParseError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronParseError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronParseError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _parse_int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _must_parse_int(expr)


def _must_parse_int(expr: str) -> int:
    body = expr[1:] if expr[:1] in "+-" else expr
    if not body or not body.isascii() or not body.isdigit():
        raise CronParseError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax')
    number = int(expr)
    if number < 0:
        raise CronParseError(f"negative number ({number}) not allowed: {expr}")
    if number >= 1 << 63:
        raise CronParseError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": value out of range')
    return number


# --- the controller's question: which activation is due? -------------------------------


@dataclass(frozen=True)
class ScheduleTimes:
    """Activations in (earliest, now]: the latest one and how many there were.

    `missed` counts at most MAX_MISSED + 1; `too_many` says the count went beyond MAX_MISSED.
    """

    most_recent: datetime | None
    missed: int

    @property
    def too_many(self) -> bool:
        return self.missed > MAX_MISSED


def most_recent_schedule_time(schedule: Schedule, zone: ZoneInfo, earliest: datetime,
                              now: datetime) -> ScheduleTimes:
    """The latest activation after `earliest` and not after `now`, and how many were missed.

    `earliest` is the CronJob's lastScheduleTime (else its creation), moved up to
    now - startingDeadlineSeconds by the caller when that is later. Counting stops past
    MAX_MISSED; the latest activation is then searched backwards from `now` in doubling
    windows, so a clock decades off costs a few hundred steps, not millions.
    """
    most_recent: datetime | None = None
    missed = 0
    t = schedule.next(earliest, zone)
    while t is not None and t <= now:
        most_recent, missed = t, missed + 1
        if missed > MAX_MISSED:
            return ScheduleTimes(_latest_before(schedule, zone, t, now), missed)
        t = schedule.next(t, zone)
    return ScheduleTimes(most_recent, missed)


def _latest_before(schedule: Schedule, zone: ZoneInfo, known: datetime, now: datetime) -> datetime:
    """The last activation <= now, given `known` <= now is one."""
    window = timedelta(minutes=1)
    while True:
        start = max(known, now - window)
        latest = known if start == known else None
        t = schedule.next(start, zone)
        while t is not None and t <= now:
            latest, t = t, schedule.next(t, zone)
        if latest is not None:
            return latest
        window *= 2
