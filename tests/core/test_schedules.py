"""The schedule rules: when an HSS policy or an Alibaba cycle task runs next. Pure arithmetic, no clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleetscan.core.models import Action, Origin, ScanType, StartType
from fleetscan.core.schedules import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    CycleRule,
    PolicyRule,
    Schedule,
    ScheduleKind,
    TaskTemplate,
    cycle_next,
    into_window,
    next_fire,
    policy_next,
)
from fleetscan.core.schedules_plane import starts_now, task_request


def ms(text: str) -> int:
    """'2026-02-27 10:00' in UTC, as milliseconds."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp() * 1000)


def period(kind: str, date: int = 1, hour: int = 0, minute: int = 0, tz: int = 0) -> PolicyRule:
    return PolicyRule(StartType.PERIOD, kind, date, 0, hour, minute, tz)


# ------------------------------------------------------------------------------------------- HSS policies
def test_now_policy_never_runs_again() -> None:
    assert policy_next(PolicyRule(StartType.NOW), ms("2026-01-01 00:00")) is None


def test_later_policy_runs_once_at_its_time() -> None:
    rule = PolicyRule(StartType.LATER, scan_time=ms("2026-03-01 08:30"))
    assert policy_next(rule, ms("2026-03-01 08:29")) == ms("2026-03-01 08:30")
    assert policy_next(rule, ms("2026-03-01 08:30")) is None  # fired: expired (`invalidate`)
    assert policy_next(rule, ms("2026-03-02 00:00")) is None


def test_daily_today_when_still_ahead_else_tomorrow() -> None:
    rule = period("day", hour=3, minute=15)
    assert policy_next(rule, ms("2026-05-10 03:14")) == ms("2026-05-10 03:15")
    assert policy_next(rule, ms("2026-05-10 03:15")) == ms("2026-05-11 03:15")  # strictly after
    assert policy_next(rule, ms("2026-05-10 23:59")) == ms("2026-05-11 03:15")


def test_daily_with_timezone_offsets() -> None:
    # 02:00 at UTC+8 is 18:00 UTC the day before; at UTC-5 it is 07:00 UTC the same day.
    assert policy_next(period("day", hour=2, tz=480), ms("2026-05-10 12:00")) == ms("2026-05-10 18:00")
    assert policy_next(period("day", hour=2, tz=-300), ms("2026-05-10 12:00")) == ms("2026-05-11 07:00")
    # half-hour offset (UTC+5:30): 00:00 local = 18:30 UTC the day before
    assert policy_next(period("day", hour=0, tz=330), ms("2026-05-10 18:29")) == ms("2026-05-10 18:30")


def test_weekly_days_run_sunday_to_saturday() -> None:
    # 2026-05-10 is a Sunday.
    after = ms("2026-05-10 00:00")
    assert policy_next(period("week", 1, hour=9), after) == ms("2026-05-10 09:00")  # Sunday
    assert policy_next(period("week", 2, hour=9), after) == ms("2026-05-11 09:00")  # Monday
    assert policy_next(period("week", 7, hour=9), after) == ms("2026-05-16 09:00")  # Saturday
    # past Sunday's time: next Sunday
    assert policy_next(period("week", 1, hour=9), ms("2026-05-10 09:00")) == ms("2026-05-17 09:00")


def test_weekly_day_is_the_local_day() -> None:
    # Monday 01:00 at UTC+8 is Sunday 17:00 UTC.
    assert policy_next(period("week", 2, hour=1, tz=480), ms("2026-05-10 00:00")) == ms("2026-05-10 17:00")


def test_monthly_across_month_ends_and_years() -> None:
    assert policy_next(period("month", 28, hour=12), ms("2026-02-27 10:00")) == ms("2026-02-28 12:00")
    assert policy_next(period("month", 28, hour=12), ms("2026-02-28 12:00")) == ms("2026-03-28 12:00")
    assert policy_next(period("month", 1), ms("2026-12-15 00:00")) == ms("2027-01-01 00:00")
    assert policy_next(period("month", 31 - 3), ms("2024-02-29 00:00")) == ms("2024-03-28 00:00")  # leap year


def test_monthly_on_the_first_at_utc_plus_14_is_the_day_before_in_utc() -> None:
    assert policy_next(period("month", 1, hour=0, tz=840), ms("2026-05-15 00:00")) == ms("2026-05-31 10:00")


# ------------------------------------------------------------------------------------------- Alibaba cycles
def test_cycle_first_run_then_every_interval() -> None:
    first = ms("2026-05-10 06:00")
    rule = CycleRule(first, 2, "day")
    assert cycle_next(rule, first - 1) == first
    assert cycle_next(rule, first) == first + 2 * DAY_MS
    assert cycle_next(rule, first + 5 * DAY_MS) == first + 6 * DAY_MS
    assert cycle_next(CycleRule(first, 3, "hour"), first + 1) == first + 3 * HOUR_MS


def test_cycle_runs_move_into_the_hour_window() -> None:
    # every 1 hour from 05:00 UTC, window 02..04 at UTC+0: runs at 02:00, 03:00, 04:00 each day
    rule = CycleRule(ms("2026-05-10 05:00"), 1, "hour", 2, 4)
    assert cycle_next(rule, ms("2026-05-10 04:59")) == ms("2026-05-11 02:00")
    assert cycle_next(rule, ms("2026-05-11 02:00")) == ms("2026-05-11 03:00")
    assert cycle_next(rule, ms("2026-05-11 04:00")) == ms("2026-05-12 02:00")


def test_cycle_window_is_in_its_own_offset_and_may_wrap_midnight() -> None:
    # window 0..5 at UTC+8 is 16:00..21:59 UTC
    rule = CycleRule(ms("2026-05-10 10:00"), 1, "day", 0, 5, 480)
    assert cycle_next(rule, ms("2026-05-10 00:00")) == ms("2026-05-10 16:00")
    wrapped = CycleRule(ms("2026-05-10 12:00"), 1, "day", 22, 3)
    assert into_window(ms("2026-05-10 12:00"), wrapped) == ms("2026-05-10 22:00")
    assert into_window(ms("2026-05-11 02:30"), wrapped) == ms("2026-05-11 02:30")
    assert into_window(ms("2026-05-11 03:59"), wrapped) == ms("2026-05-11 03:59")
    assert into_window(ms("2026-05-11 04:00"), wrapped) == ms("2026-05-11 22:00")


@pytest.mark.parametrize("unit", ["day", "hour"])
def test_cycle_runs_strictly_increase(unit: str) -> None:
    rule = CycleRule(ms("2026-05-10 05:17"), 5, unit, 20, 2, 120)
    at = ms("2026-05-09 00:00")
    seen = []
    for _ in range(30):
        nxt = cycle_next(rule, at)
        assert nxt > at
        seen.append(nxt)
        at = nxt
    assert seen == sorted(set(seen))


def test_next_fire_dispatches_on_the_rule() -> None:
    assert next_fire(period("day", hour=1), ms("2026-05-10 00:30")) == ms("2026-05-10 01:00")
    assert next_fire(CycleRule(ms("2026-05-10 00:00"), 1, "hour"), ms("2026-05-10 00:30")) == ms("2026-05-10 01:00")
    assert MINUTE_MS * 60 == HOUR_MS


@pytest.mark.parametrize(
    ("rule", "start_type", "origin"),
    [
        (PolicyRule(StartType.NOW), StartType.NOW, Origin.USER),
        (PolicyRule(StartType.LATER, scan_time=1), StartType.LATER, Origin.USER),
        (period("day"), StartType.PERIOD, Origin.SYSTEM),
        (CycleRule(1, 1, "hour"), StartType.PERIOD, Origin.SYSTEM),
    ],
)
def test_the_task_a_schedule_starts_is_one_step_for_both_dialects(
    rule: PolicyRule | CycleRule, start_type: StartType, origin: Origin
) -> None:
    template = TaskTemplate(ScanType.CUSTOM, Action.AUTO, ("/srv",), ("/srv/tmp",), (1,), True, ("h1",))
    schedule = Schedule(
        "s" * 32, ScheduleKind.HSS_POLICY, 1, "p", "nightly", rule, template, enterprise_project_id="e1"
    )
    request = task_request(schedule)
    assert (request.start_type, request.origin, request.enterprise_project_id) == (start_type, origin, "e1")
    assert (request.name, request.scan_type, request.action, tuple(request.host_ids)) == (
        "nightly",
        ScanType.CUSTOM,
        Action.AUTO,
        ("h1",),
    )
    assert (tuple(request.scan_paths), tuple(request.ignore_paths), request.paid) == (("/srv",), ("/srv/tmp",), True)
    assert starts_now(schedule) == (start_type is StartType.NOW)
