"""Cron schedules: robfig/cron's standard parser, its messages, Next across DST, missed runs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tinykube.api.cron import (
    ConstantDelaySchedule, CronParseError, SpecSchedule, load_location, most_recent_schedule_time, parse_standard,
)

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def at(*parts: int, zone: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def runs(spec: str, start: datetime, count: int, zone: ZoneInfo = UTC_ZONE) -> list[datetime]:
    schedule = parse_standard(spec)
    out: list[datetime] = []
    t: datetime | None = start
    for _ in range(count):
        assert t is not None
        t = schedule.next(t, zone)
        assert t is not None
        out.append(t)
    return out


@pytest.mark.parametrize(("spec", "start", "expected"), [
    ("* * * * *", at(2026, 1, 1, 10, 7, 30), [at(2026, 1, 1, 10, 8), at(2026, 1, 1, 10, 9)]),
    ("*/15 * * * *", at(2026, 1, 1, 10, 7), [at(2026, 1, 1, 10, 15), at(2026, 1, 1, 10, 30)]),
    ("5 * * * *", at(2026, 1, 1, 10, 5), [at(2026, 1, 1, 11, 5), at(2026, 1, 1, 12, 5)]),
    ("0 9-17/4 * * *", at(2026, 1, 1, 10), [at(2026, 1, 1, 13), at(2026, 1, 1, 17), at(2026, 1, 2, 9)]),
    ("10/20 * * * *", at(2026, 1, 1, 10), [at(2026, 1, 1, 10, 10), at(2026, 1, 1, 10, 30), at(2026, 1, 1, 10, 50)]),
    ("0,30 8 * * *", at(2026, 1, 1, 8, 0), [at(2026, 1, 1, 8, 30), at(2026, 1, 2, 8, 0)]),
    ("0 0 * JAN,mar *", at(2026, 1, 31, 1), [at(2026, 3, 1), at(2026, 3, 2)]),
    ("0 12 * * MON-fri", at(2026, 1, 2, 13), [at(2026, 1, 5, 12), at(2026, 1, 6, 12)]),  # Fri -> Mon
    ("0 0 13 * 5", at(2026, 2, 1), [at(2026, 2, 6), at(2026, 2, 13), at(2026, 2, 20)]),  # Friday OR the 13th
    ("0 0 13 * *", at(2026, 2, 1), [at(2026, 2, 13), at(2026, 3, 13)]),
    ("0 0 ? * 0", at(2026, 1, 1), [at(2026, 1, 4), at(2026, 1, 11)]),  # ? is a star: Sundays only
    ("0 0 */1 * 0", at(2026, 1, 1), [at(2026, 1, 4), at(2026, 1, 11)]),  # */1 is still a star
    ("0 0 */2 * 0", at(2026, 1, 1), [at(2026, 1, 3), at(2026, 1, 4), at(2026, 1, 5)]),  # */2 restricts: OR
    ("0 0 31 * *", at(2026, 1, 31, 1), [at(2026, 3, 31), at(2026, 5, 31)]),
    ("0 0 29 2 *", at(2026, 1, 1), [at(2028, 2, 29)]),
    ("@hourly", at(2026, 1, 1, 10, 0), [at(2026, 1, 1, 11), at(2026, 1, 1, 12)]),
    ("@daily", at(2026, 1, 1, 10), [at(2026, 1, 2), at(2026, 1, 3)]),
    ("@midnight", at(2026, 1, 1, 10), [at(2026, 1, 2)]),
    ("@weekly", at(2026, 1, 1), [at(2026, 1, 4), at(2026, 1, 11)]),
    ("@monthly", at(2026, 1, 1), [at(2026, 2, 1), at(2026, 3, 1)]),
    ("@yearly", at(2026, 1, 1), [at(2027, 1, 1)]),
    ("@annually", at(2026, 6, 1), [at(2027, 1, 1)]),
    ("@every 90s", at(2026, 1, 1, 10, 0, 0), [at(2026, 1, 1, 10, 1, 30), at(2026, 1, 1, 10, 3)]),
])
def test_next_activations(spec: str, start: datetime, expected: list[datetime]) -> None:
    assert runs(spec, start, len(expected)) == expected


def test_an_impossible_date_has_no_next_activation() -> None:
    assert parse_standard("0 0 30 2 *").next(at(2026, 1, 1), UTC_ZONE) is None


def test_every_rounds_down_to_whole_seconds_and_at_least_one() -> None:
    assert parse_standard("@every 1m30.5s") == ConstantDelaySchedule(90)
    assert parse_standard("@every 10ms") == ConstantDelaySchedule(1)


def test_spring_forward_skips_a_wall_time_that_does_not_exist() -> None:
    # 2026-03-08: New York's clocks go from 02:00 EST to 03:00 EDT; 02:30 does not exist.
    assert runs("30 2 * * *", at(2026, 3, 7, 3, zone=NEW_YORK), 2, NEW_YORK) == [
        at(2026, 3, 9, 2, 30, zone=NEW_YORK), at(2026, 3, 10, 2, 30, zone=NEW_YORK)]


def test_fall_back_runs_a_repeated_wall_time_twice() -> None:
    # 2026-11-01: 01:00-02:00 happens twice in New York (EDT, then EST).
    first, second, third = runs("30 1 * * *", at(2026, 10, 31, 12, zone=NEW_YORK), 3, NEW_YORK)
    assert (first, second) == (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC))
    assert third == at(2026, 11, 2, 1, 30, zone=NEW_YORK)


def test_daily_runs_follow_the_zones_wall_clock_across_dst() -> None:
    days = runs("0 9 * * *", at(2026, 3, 27, 10, zone=BERLIN), 3, BERLIN)
    assert [d.astimezone(BERLIN).hour for d in days] == [9, 9, 9]
    assert [d.hour for d in days] == [8, 7, 7]  # 2026-03-29 Berlin moves from UTC+1 to UTC+2


def test_hourly_in_a_zone_keeps_absolute_hours_across_fall_back() -> None:
    hours = runs("0 * * * *", datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 3, NEW_YORK)
    assert hours == [datetime(2026, 11, 1, h, tzinfo=UTC) for h in (5, 6, 7)]


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("0 * * * * *", "expected exactly 5 fields, found 6: [0 * * * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("* 24 * * *", "end of range (24) above maximum (23): 24"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * * 13 *", "end of range (13) above maximum (12): 13"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/2/3 * * * *", "too many slashes: */2/3"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("* * * foo *", 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'),
    ("*/x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("@every x", 'failed to parse duration @every x: time: invalid duration "x"'),
    ("TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
])
def test_parse_errors_carry_robfigs_messages(spec: str, message: str) -> None:
    with pytest.raises(CronParseError) as caught:
        parse_standard(spec)
    assert str(caught.value) == message


def test_names_lists_and_tz_prefix_parse() -> None:
    schedule = parse_standard("CRON_TZ=Europe/Berlin 0 0 1,15 jan-mar,Dec sun")
    assert isinstance(schedule, SpecSchedule)
    assert schedule.location == BERLIN
    assert schedule.month == (1 << 1 | 1 << 2 | 1 << 3 | 1 << 12)
    assert schedule.dom == (1 << 1 | 1 << 15)


def test_load_location_names_utc_and_refuses_unknown_zones() -> None:
    assert load_location("") == UTC_ZONE and load_location("UTC") == UTC_ZONE
    assert load_location("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    for bad in ("Mars/Olympus", "../etc/passwd", "/etc/localtime"):
        with pytest.raises(ValueError, match=f"unknown time zone {bad}"):
            load_location(bad)


# --- most_recent_schedule_time ------------------------------------------------------------

EVERY_MINUTE = parse_standard("* * * * *")
HOURLY = parse_standard("0 * * * *")


def test_nothing_due_before_the_first_activation() -> None:
    times = most_recent_schedule_time(HOURLY, UTC_ZONE, at(2026, 1, 1, 10, 5), at(2026, 1, 1, 10, 59, 59))
    assert (times.most_recent, times.missed, times.too_many) == (None, 0, False)


def test_an_activation_exactly_at_now_is_due() -> None:
    times = most_recent_schedule_time(HOURLY, UTC_ZONE, at(2026, 1, 1, 10, 5), at(2026, 1, 1, 11))
    assert (times.most_recent, times.missed) == (at(2026, 1, 1, 11), 1)


def test_the_latest_of_several_missed_activations_is_due() -> None:
    times = most_recent_schedule_time(HOURLY, UTC_ZONE, at(2026, 1, 1, 10), at(2026, 1, 1, 14, 30))
    assert (times.most_recent, times.missed, times.too_many) == (at(2026, 1, 1, 14), 4, False)


def test_an_activation_at_earliest_itself_is_not_missed_again() -> None:
    times = most_recent_schedule_time(HOURLY, UTC_ZONE, at(2026, 1, 1, 11), at(2026, 1, 1, 11, 30))
    assert times.most_recent is None


def test_exactly_one_hundred_missed_is_not_too_many() -> None:
    times = most_recent_schedule_time(EVERY_MINUTE, UTC_ZONE, at(2026, 1, 1, 10), at(2026, 1, 1, 11, 40))
    assert (times.most_recent, times.missed, times.too_many) == (at(2026, 1, 1, 11, 40), 100, False)


@pytest.mark.parametrize("now", [
    at(2026, 1, 1, 11, 41),
    at(2036, 7, 4, 3, 2, 1),  # a clock ten years off still finds the latest minute quickly
])
def test_more_than_one_hundred_missed_is_too_many_and_still_finds_the_latest(now: datetime) -> None:
    times = most_recent_schedule_time(EVERY_MINUTE, UTC_ZONE, at(2026, 1, 1, 10), now)
    assert times.too_many
    assert times.most_recent == now.replace(second=0)


def test_too_many_with_a_sparse_schedule_finds_the_last_weekday_run() -> None:
    weekdays = parse_standard("30 6 * * 1-5")
    now = at(2026, 12, 6, 12)  # a Sunday; the last run was Friday 2026-12-04 06:30
    times = most_recent_schedule_time(weekdays, UTC_ZONE, at(2026, 1, 1), now)
    assert times.too_many and times.most_recent == at(2026, 12, 4, 6, 30)


def test_activations_are_counted_in_the_given_zone() -> None:
    daily_nine = parse_standard("0 9 * * *")
    now = at(2026, 1, 2, 14)  # 09:00 in New York
    times = most_recent_schedule_time(daily_nine, NEW_YORK, now - timedelta(days=2), now)
    assert (times.most_recent, times.missed) == (now, 2)
