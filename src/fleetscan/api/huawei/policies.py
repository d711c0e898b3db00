"""HSS antivirus policies: scans that start now, once `later`, or every day / week / month.

ListAntiVirusPolicy, CreateAntiVirusPolicy, ChangeAntivirusPolicy, DeleteAntivirusPolicy over
`/v5/{project_id}/antivirus/policy[/batch-delete]`. A policy is a core `Schedule` (kind `hss_policy`); the
server's scheduler starts its root task when it is due (`start_type` later / period on the task, origin
`system` for a periodic one). A `now` policy starts its task at once, as the console does, and the
response carries that task's id.

Semantics where the pages are silent, from the SDK's model docs:
- `scan_period_date`: 1-7 = Sunday..Saturday for `week`, 1-28 for `month`; ignored for `day`.
- `timezone_offset`: minutes east of UTC (-720..840), the offset of `scan_hour`:`scan_minute`; fixed, no DST.
- `scan_time` (ms) is for `later` only and must be in the future when given. A `later` policy that has run,
  and a `now` policy, are `invalidate: true`; changing a `later` policy's scan_time re-arms it.
- `scan_dir` / `ignore_dir`: directories separated by `;`; a custom scan needs a scan_dir.
- Change is a partial update: fields left out keep their value; the result is validated as a whole.
- Host binding: `host_ids` (required); hosts that do not exist are reported in `fail_reasons`, none existing is
  a 400 (`ControlPlane.create_schedule` and `change_schedule` hold that rule, the enterprise project and the
  task a `now` policy starts). Delete is all-or-nothing: an unknown policy id is a 404 and deletes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...core import ids
from ...core.models import Action, Host, ScanType, Scope, StartType
from ...core.queries import Page
from ...core.schedules import (
    MAX_OFFSET_MINUTES,
    MIN_OFFSET_MINUTES,
    PERIODS,
    PolicyRule,
    Schedule,
    ScheduleFilter,
    ScheduleKind,
    TaskTemplate,
)
from ...core.service import ControlPlane
from .errors import invalid
from .operations import ACTIONS, FILE_TYPES, HOST_NOT_FOUND, MAX_OFFSET, SCAN_TYPES, Input, narrow
from .params import Body

START_TYPES = tuple(t.value for t in StartType)
KIND = ScheduleKind.HSS_POLICY


def _rule(body: Body, now: int, *, check_time: bool) -> PolicyRule:
    start = StartType(body.choice("start_type", START_TYPES, required=True) or "")
    period = body.choice("scan_period", PERIODS, required=start is StartType.PERIOD) or "day"
    date_hi = 7 if period == "week" else 28
    needs_date = start is StartType.PERIOD and period != "day"
    date = body.integer("scan_period_date", 1, date_hi, required=needs_date) or 1
    scan_time = body.integer("scan_time", 0, 2**63 - 1, required=start is StartType.LATER) or 0
    if start is StartType.LATER and check_time and scan_time <= now:
        raise invalid("scan_time", "must be in the future")
    hour = body.integer("scan_hour", 0, 23, required=start is StartType.PERIOD) or 0
    minute = body.integer("scan_minute", 0, 59, required=start is StartType.PERIOD) or 0
    offset = body.integer("timezone_offset", MIN_OFFSET_MINUTES, MAX_OFFSET_MINUTES) or 0
    return PolicyRule(start, period, date, scan_time, hour, minute, offset)


def _template(body: Body) -> TaskTemplate:
    scan_type = ScanType(body.choice("scan_type", SCAN_TYPES, required=True) or "")
    action = Action(body.choice("action", ACTIONS, required=True) or "")
    host_ids = body.strings("host_ids", 1, 64, required=True)
    scan_paths = body.dirs("scan_dir")
    if scan_type is ScanType.CUSTOM and not scan_paths:
        raise invalid("scan_dir", "is required for a custom scan")
    return TaskTemplate(
        scan_type=scan_type,
        action=action,
        scan_paths=scan_paths,
        ignore_paths=body.dirs("ignore_dir"),
        file_types=tuple(body.integers("file_types", *FILE_TYPES)),
        paid=bool(body.boolean("whether_paid_task")),
        host_ids=tuple(host_ids),
    )


def _parse(body: Body, now: int, *, check_time: bool) -> tuple[str, PolicyRule, TaskTemplate]:
    name = body.text("policy_name", 1, 255, required=True)
    assert name is not None
    return name, _rule(body, now, check_time=check_time), _template(body)


def create_policy(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """CreateAntiVirusPolicy; a `now` policy also starts its task, whose id the answer carries."""
    body = given.json()
    name, rule, template = _parse(body, plane.clock(), check_time=True)
    source_task = body.text("task_id", 1, 64)
    scope, _ = narrow(scope, given.query)
    if source_task is not None:
        plane.get_root(scope, task_id=source_task)  # a policy made from a task names one the caller can see
    made = plane.create_schedule(
        scope, Schedule(ids.hex_id(), KIND, scope.account_id, scope.project_id, name, rule, template)
    )
    reasons = [{"host_id": h, "reason": HOST_NOT_FOUND} for h in made.missing_host_ids]
    return {
        "task_id": made.task.task_id if made.task else "",
        "policy_id": made.schedule.schedule_id,
        "result": not reasons,
        "fail_reasons": reasons,
    }


def _when(rule: PolicyRule) -> dict[str, Any]:
    """When a policy fires, in the field names requests and responses share."""
    return {
        "start_type": rule.start_type.value,
        "scan_period": rule.scan_period,
        "scan_period_date": rule.scan_period_date,
        "scan_time": rule.scan_time,
        "scan_hour": rule.scan_hour,
        "scan_minute": rule.scan_minute,
    }


def _as_body(schedule: Schedule) -> dict[str, Any]:
    """A stored policy in the request's own field names, for a partial change to overlay."""
    rule, t = schedule.rule, schedule.template
    assert isinstance(rule, PolicyRule)
    return {
        "policy_name": schedule.name,
        **_when(rule),
        "timezone_offset": rule.timezone_offset,
        "scan_type": t.scan_type.value,
        "action": t.action.value,
        "host_ids": list(t.host_ids),
        "scan_dir": ";".join(t.scan_paths) or None,
        "ignore_dir": ";".join(t.ignore_paths) or None,
        "file_types": list(t.file_types),
        "whether_paid_task": t.paid,
    }


def change_policy(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ChangeAntivirusPolicy: change the fields given, re-arm from now."""
    body = given.json()
    policy_id = body.text("policy_id", 1, 64, required=True)
    changes = {k: v for k, v in body.data.items() if v is not None and k != "policy_id"}
    scope, _ = narrow(scope, given.query)
    current = plane.get_schedule(scope, ScheduleFilter(KIND, schedule_id=policy_id))
    merged = Body({**_as_body(current), **changes})
    rearmed = "scan_time" in changes or changes.get("start_type") == StartType.LATER.value
    name, rule, template = _parse(merged, plane.clock(), check_time=rearmed)
    plane.change_schedule(replace(current, name=name, rule=rule, template=template))
    return {}


def delete_policies(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """DeleteAntivirusPolicy: all of the ids, or none when one is unknown. Tasks already started stay."""
    body = given.json()
    policy_ids = body.strings("policy_ids", 1, 64, required=True, max_items=200)
    scope, _ = narrow(scope, given.query)
    plane.delete_schedules(scope, ScheduleFilter(KIND), policy_ids)
    return {}


def _host(h: Host) -> dict[str, Any]:
    """One AntiVirusPolicyHostResponseInfo."""
    return {
        "host_id": h.host_id,
        "host_name": h.name,
        "private_ip": h.private_ip,
        "public_ip": h.public_ip,
        "asset_value": h.asset_value,
    }


def render(schedule: Schedule, hosts: list[Host]) -> dict[str, Any]:
    """One AntiVirusPolicyResponseInfo, in the SDK's types (ints, booleans, `;`-joined directories)."""
    rule, t = schedule.rule, schedule.template
    assert isinstance(rule, PolicyRule)
    return {
        "policy_id": schedule.schedule_id,
        "policy_name": schedule.name,
        **_when(rule),
        "next_start_time": schedule.next_fire_at or 0,
        "scan_dir": ";".join(t.scan_paths),
        "ignore_dir": ";".join(t.ignore_paths),
        "action": t.action.value,
        "invalidate": rule.start_type is not StartType.PERIOD and schedule.next_fire_at is None,
        "host_num": len(hosts),
        "host_info_list": [_host(h) for h in hosts],
        "whether_paid_task": t.paid,
        "file_type_list": list(t.file_types),
    }


def list_policies(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ListAntiVirusPolicy: newest first."""
    q = given.query
    offset = q.integer("offset", 0, MAX_OFFSET, required=True)
    limit = q.integer("limit", 10, 200, required=True)
    assert offset is not None and limit is not None
    name = q.text("policy_name", 1, 255)
    scan_type = q.choice("scan_type", SCAN_TYPES)
    scope, _ = narrow(scope, q)
    flt = ScheduleFilter(KIND, name=name, scan_type=ScanType(scan_type) if scan_type else None)
    total, found = plane.list_schedules(scope, flt, Page(offset, limit))
    return {"total_num": total, "data_list": [render(s, plane.schedule_hosts(s)) for s in found]}
