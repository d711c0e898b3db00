"""Schedules: scans that start later or again and again, and the pure rules for when they are due.

Two clouds, one shape. A Huawei HSS scan policy (`PolicyRule`: start now, once `later` at a millisecond
timestamp, or every day / week / month at a local hour and minute) and an Alibaba periodic virus scan
(`CycleRule`: first at a timestamp, then every N days or hours, only inside an hour-of-day window) are
both a `Schedule`: a rule, a template of the task it starts, and `next_fire_at`. The server's scheduler
claims a due schedule and inserts its root task in one transaction (`Storage.fire_schedule`), so a due
time fires once however many replicas look at it.

Everything here is arithmetic on integer milliseconds with fixed offsets from UTC (no DST tables: both
clouds send an offset, not a zone name), so it is deterministic and tested without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from .models import DEFAULT_ENTERPRISE_PROJECT, Action, ScanType, Scope, StartType, Target

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
PERIODS = ("day", "week", "month")
CYCLE_UNITS = {"day": DAY_MS, "hour": HOUR_MS}
MIN_OFFSET_MINUTES, MAX_OFFSET_MINUTES = -12 * 60, 14 * 60  # UTC-12 .. UTC+14


class ScheduleKind(StrEnum):
    HSS_POLICY = "hss_policy"  # a Huawei antivirus policy
    ALI_CYCLE = "ali_cycle"  # an Alibaba cycle task (TaskType VIRUS_VUL_SCHEDULE_SCAN)


@dataclass(frozen=True)
class PolicyRule:
    """When an HSS policy runs. `timezone_offset` is minutes east of UTC (480 for UTC+8).

    scan_period_date: 1-7 = Sunday..Saturday for `week`, 1-28 = day of the month for `month`, unused for `day`.
    """

    start_type: StartType
    scan_period: str = "day"
    scan_period_date: int = 1
    scan_time: int = 0  # ms, `later` only
    scan_hour: int = 0
    scan_minute: int = 0
    timezone_offset: int = 0


@dataclass(frozen=True)
class CycleRule:
    """When an Alibaba cycle task runs: `first_at`, then every `interval` `unit`s, each run moved forward to
    the next instant whose hour (at `window_tz` minutes east of UTC) is within window_start..window_end
    (inclusive hours; a window like 22..4 wraps past midnight)."""

    first_at: int
    interval: int
    unit: str  # "day" | "hour"
    window_start: int = 0
    window_end: int = 23
    window_tz: int = 0


Rule = PolicyRule | CycleRule


def _sunday_first_weekday(day_start_ms: int) -> int:
    """1 for Sunday .. 7 for Saturday, as HSS numbers the days of a week."""
    return datetime.fromtimestamp(day_start_ms / 1000, UTC).isoweekday() % 7 + 1


def _day_of_month(day_start_ms: int) -> int:
    return datetime.fromtimestamp(day_start_ms / 1000, UTC).day


def policy_next(rule: PolicyRule, after: int) -> int | None:
    """The first run strictly after `after`, or None when the policy will not run again."""
    if rule.start_type is StartType.NOW:
        return None  # runs once, when created
    if rule.start_type is StartType.LATER:
        return rule.scan_time if rule.scan_time > after else None
    offset = rule.timezone_offset * MINUTE_MS
    local_after = after + offset
    first_day = local_after // DAY_MS * DAY_MS
    at = rule.scan_hour * HOUR_MS + rule.scan_minute * MINUTE_MS
    for n in range(0, 64):  # a month and a bit covers every period
        day = first_day + n * DAY_MS
        if day + at <= local_after:
            continue
        if rule.scan_period == "week" and _sunday_first_weekday(day) != rule.scan_period_date:
            continue
        if rule.scan_period == "month" and _day_of_month(day) != rule.scan_period_date:
            continue
        return day + at - offset
    return None  # unreachable with a valid rule


def _in_window(hour: int, start: int, end: int) -> bool:
    return start <= hour <= end if start <= end else (hour >= start or hour <= end)


def into_window(at: int, rule: CycleRule) -> int:
    """The earliest instant at or after `at` inside the rule's hour window."""
    offset = rule.window_tz * MINUTE_MS
    local = at + offset
    for _ in range(25):
        if _in_window(local // HOUR_MS % 24, rule.window_start, rule.window_end):
            return local - offset
        local = (local // HOUR_MS + 1) * HOUR_MS
    raise ValueError("empty hour window")  # unreachable: every window holds at least one hour


def cycle_next(rule: CycleRule, after: int) -> int:
    """The first run strictly after `after`: the first nominal time first_at + k*step whose move into the
    window lands after `after` (moving into the window never reorders runs, so the first such k is the
    earliest)."""
    step = rule.interval * CYCLE_UNITS[rule.unit]
    k = max(0, (after - rule.first_at) // step)
    while True:
        candidate = into_window(rule.first_at + k * step, rule)
        if candidate > after:
            return candidate
        k += 1


def next_fire(rule: Rule, after: int) -> int | None:
    if isinstance(rule, PolicyRule):
        return policy_next(rule, after)
    return cycle_next(rule, after)


@dataclass(frozen=True)
class TaskTemplate:
    """The root task a schedule starts. `all_hosts`: every host of the scope at the time it fires."""

    scan_type: ScanType
    action: Action = Action.MANUAL
    scan_paths: tuple[str, ...] = ()
    ignore_paths: tuple[str, ...] = ()
    file_types: tuple[int, ...] = ()
    paid: bool = False
    host_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()
    all_hosts: bool = False


@dataclass
class Schedule:
    schedule_id: str  # HSS policy_id, Alibaba ConfigId
    kind: ScheduleKind
    account_id: int
    project_id: str
    name: str
    rule: Rule
    template: TaskTemplate
    enterprise_project_id: str = DEFAULT_ENTERPRISE_PROJECT
    enterprise_project_ids: frozenset[str] | None = None  # what its creator could see: it fires within that
    enabled: bool = True
    next_fire_at: int | None = None
    last_fired_at: int | None = None
    last_task_id: str | None = None
    client_token: str | None = None
    created_at: int = 0
    updated_at: int = 0
    id: int = 0

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.project_id, self.enterprise_project_ids)

    @property
    def periodic(self) -> bool:
        return isinstance(self.rule, CycleRule) or self.rule.start_type is StartType.PERIOD

    def arm(self, now: int) -> None:
        """Set the next run from the rule, as of now (a disabled schedule has none)."""
        self.next_fire_at = next_fire(self.rule, now) if self.enabled else None


@dataclass(frozen=True)
class ScheduleFilter:
    kind: ScheduleKind
    schedule_id: str | None = None
    name: str | None = None  # substring
    scan_type: ScanType | None = None
