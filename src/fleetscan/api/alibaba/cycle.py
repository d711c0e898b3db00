"""Alibaba periodic virus scans: CreateCycleTask, ModifyCycleTask, DeleteCycleTask, DescribeCycleTaskList,
GetVirusScanConfig.

A cycle task is a core `Schedule` (kind `ali_cycle`). The server's scheduler starts its root task when it is
due; such a task has origin `system`, so ListVirusScanTask shows it with ScanType `system`. Decisions where
the SDK's model docs are silent:

* TaskType: only `VIRUS_VUL_SCHEDULE_SCAN` (virus scans are all fleetscan runs).
* FirstDateStr is the first run (ms); later runs every IntervalPeriod (1..365 days or 1..8760 hours) of
  PeriodUnit after it. TargetStartTime..TargetEndTime (hours 0..23, both inclusive, at UTC+8, the time of
  Alibaba's console; a window such as 22..4 wraps past midnight) is when runs may start: a run due outside
  it starts at the window's next opening. A first run in the past is not replayed: the next one after now is.
* Enable 0 keeps the task without runs; Modify with Enable 1 re-arms it from now.
* Param is a JSON object: `targetInfo` (required, an array of {type: uuid|groupId, target, name}; empty means
  every host of the caller's scope, as it is when the task runs), `scanType` system (default, whole host) or
  user with `scanPath` (1..20 paths). Targets must resolve when the task is created or modified.
* ClientToken (1..64 characters) makes CreateCycleTask idempotent; DryRun=true validates everything and
  answers 400 DryRunOperation, creating nothing.
* An unknown ConfigId, or another tenant's, is 404 InvalidTaskId.NotFound.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Final

from ...core import ids
from ...core.models import ScanType, Scope
from ...core.queries import Page
from ...core.schedules import CYCLE_UNITS, CycleRule, Schedule, ScheduleFilter, ScheduleKind, TaskTemplate
from ...core.service import ControlPlane
from . import render
from .errors import dry_run, invalid
from .operations import MAX_SCAN_PATHS, SCAN_TYPES, Body, Operation, _parse_targets, _resolve, _scope_hosts
from .params import LONG_MAX, Params, is_name, parse_json

KIND: Final = ScheduleKind.ALI_CYCLE
TASK_TYPES: Final = ("VIRUS_VUL_SCHEDULE_SCAN",)
UNITS: Final = tuple(CYCLE_UNITS)
MAX_INTERVAL: Final = {"day": 365, "hour": 8760}
WINDOW_TZ_MINUTES: Final = 480  # UTC+8
MAX_NAME: Final = 255  # the length of a task name


def _settings(plane: ControlPlane, scope: Scope, param: object) -> TaskTemplate:
    """Param's JSON: whom to scan and how."""
    if not isinstance(param, dict):
        raise invalid("Param", "json_object")
    raw = param.get("targetInfo")
    if isinstance(raw, str):
        raw = parse_json("Param.targetInfo", raw)
    if not isinstance(raw, list):
        raise invalid("Param", "core", detail="targetInfo must be a JSON array")
    scan_type = param.get("scanType", "system")
    if scan_type not in SCAN_TYPES:
        raise invalid("Param", "core", detail="scanType must be system or user")
    paths = param.get("scanPath", [])
    valid_paths = isinstance(paths, list) and len(paths) <= MAX_SCAN_PATHS
    valid_paths = valid_paths and all(isinstance(p, str) and 1 <= len(p) <= 1024 and is_name(p) for p in paths)
    if not valid_paths:
        raise invalid(
            "Param", "core", detail=f"scanPath must hold at most {MAX_SCAN_PATHS} paths of 1 to 1024 characters"
        )
    if scan_type == "user" and not paths:
        raise invalid("Param", "scan_path_needed")
    if scan_type == "system" and paths:
        raise invalid("Param", "scan_path_forbidden")
    scan = ScanType.CUSTOM if scan_type == "user" else ScanType.FULL
    if not raw:
        return TaskTemplate(scan_type=scan, scan_paths=tuple(paths), all_hosts=True)
    resolved = _resolve("Param", _parse_targets("Param", raw), _scope_hosts(plane, scope))
    return TaskTemplate(
        scan_type=scan,
        scan_paths=tuple(paths),
        host_ids=resolved.host_ids,
        group_ids=resolved.group_ids,
        targets=resolved.targets,
    )


def _param(template: TaskTemplate) -> str:
    """The stored settings as a Param string, the way they were given."""
    body: dict[str, Any] = {
        "targetInfo": [{"type": t.type, "target": t.target, "name": t.name} for t in template.targets],
        "scanType": "user" if template.scan_type is ScanType.CUSTOM else "system",
    }
    if template.scan_paths:
        body["scanPath"] = list(template.scan_paths)
    return json.dumps(body, ensure_ascii=False)


def _rule(p: Params, current: CycleRule | None) -> CycleRule:
    """The timing fields; on Modify, the ones left out keep their value."""
    required = current is None
    first = p.integer("FirstDateStr", 0, LONG_MAX, required=required)
    unit = p.choice("PeriodUnit", UNITS, required=required)
    interval = p.integer("IntervalPeriod", 1, MAX_INTERVAL["hour"], required=required)
    start = p.integer("TargetStartTime", 0, 23, required=required)
    end = p.integer("TargetEndTime", 0, 23, required=required)
    rule = CycleRule(
        first_at=first if first is not None else current.first_at if current else 0,
        interval=interval if interval is not None else current.interval if current else 1,
        unit=unit or (current.unit if current else "day"),
        window_start=start if start is not None else current.window_start if current else 0,
        window_end=end if end is not None else current.window_end if current else 23,
        window_tz=WINDOW_TZ_MINUTES,
    )
    if rule.interval > MAX_INTERVAL[rule.unit]:
        raise invalid("IntervalPeriod", "int_range", lo=1, hi=MAX_INTERVAL[rule.unit])
    return rule


def create_cycle_task(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    name = p.text("TaskName", max_len=MAX_NAME, required=True)
    p.choice("TaskType", TASK_TYPES, required=True)
    enable = p.integer("Enable", 0, 1, required=True)
    rule = _rule(p, None)
    param = p.json_value("Param", max_len=200_000, required=True)
    p.text("Source", max_len=64)
    token = p.text("ClientToken", max_len=64)
    dry = bool(p.boolean("DryRun"))
    template = _settings(plane, scope, param)
    if dry:
        raise dry_run()
    assert name is not None
    schedule = Schedule(ids.hex_id(), KIND, scope.account_id, scope.project_id, name, rule, template)
    schedule.enabled = enable == 1
    schedule.client_token = ids.client_token_key(scope.project_id, "CreateCycleTask", token) if token else None
    return {"ConfigId": plane.create_schedule(scope, schedule).schedule.schedule_id}


def _get(plane: ControlPlane, scope: Scope, config_id: str) -> Schedule:
    return plane.get_schedule(scope, ScheduleFilter(KIND, schedule_id=config_id))


def modify_cycle_task(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    config_id = p.text("ConfigId", max_len=64, required=True)
    assert config_id is not None
    name = p.text("TaskName", max_len=MAX_NAME)
    p.choice("TaskType", TASK_TYPES)
    enable = p.integer("Enable", 0, 1)
    param = p.json_value("Param", max_len=200_000)
    current = _get(plane, scope, config_id)
    assert isinstance(current.rule, CycleRule)
    rule = _rule(p, current.rule)
    template = current.template if param is None else _settings(plane, scope, param)
    changed = replace(current, name=name or current.name, rule=rule, template=template)
    if enable is not None:
        changed.enabled = enable == 1
    plane.change_schedule(changed)
    return {}


def delete_cycle_task(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    config_id = p.text("ConfigId", max_len=64, required=True)
    assert config_id is not None
    plane.delete_schedules(scope, ScheduleFilter(KIND), [config_id])
    return {}


def _row(schedule: Schedule) -> dict[str, Any]:
    """One CycleScheduleResponseList entry."""
    rule = schedule.rule
    assert isinstance(rule, CycleRule)
    return {
        "ConfigId": schedule.schedule_id,
        "Enable": 1 if schedule.enabled else 0,
        "FirstDateStr": rule.first_at,
        "IntervalPeriod": rule.interval,
        "LastTaskId": schedule.last_task_id or "",
        "NextStartTimeStr": schedule.next_fire_at or 0,
        "Param": _param(schedule.template),
        "PeriodUnit": rule.unit,
        "TargetEndTime": rule.window_end,
        "TargetStartTime": rule.window_start,
        "TaskName": schedule.name,
        "TaskType": TASK_TYPES[0],
    }


def describe_cycle_task_list(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    config_id = p.text("ConfigId", max_len=64)
    name = p.text("TaskName", max_len=MAX_NAME)
    task_type = p.text("TaskType", max_len=64)
    current, size = p.page()
    flt = ScheduleFilter(KIND, schedule_id=config_id, name=name)
    total, found = plane.list_schedules(scope, flt, Page((current - 1) * size, size))
    if task_type is not None and task_type not in TASK_TYPES:
        total, found = 0, []
    return {
        "CycleScheduleResponseList": [_row(s) for s in found],
        "PageInfo": {**render.page_info(current, size, total), "Count": len(found)},
    }


def get_virus_scan_config(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    """The newest periodic virus scan's settings; `Data` with Enable 0 and nothing else when there is none."""
    p.choice("TaskType", TASK_TYPES)
    _, found = plane.list_schedules(scope, ScheduleFilter(KIND), Page(0, 1))
    if not found:
        return {"Data": {"Enable": 0, "TaskType": TASK_TYPES[0]}}
    schedule = found[0]
    rule, t = schedule.rule, schedule.template
    assert isinstance(rule, CycleRule)
    return {
        "Data": {
            "AdditionType": [],
            "ConfigId": schedule.schedule_id,
            "Enable": 1 if schedule.enabled else 0,
            "IntervalPeriod": rule.interval,
            "PeriodUnit": rule.unit,
            "ScanPath": list(t.scan_paths),
            "ScanType": "user" if t.scan_type is ScanType.CUSTOM else "system",
            "SelectionKey": "",
            "TargetEndTime": rule.window_end,
            "TargetStartTime": rule.window_start,
            "TaskType": TASK_TYPES[0],
        }
    }


CYCLE_ACTIONS: Final[dict[str, Operation]] = {
    "CreateCycleTask": create_cycle_task,
    "ModifyCycleTask": modify_cycle_task,
    "DeleteCycleTask": delete_cycle_task,
    "DescribeCycleTaskList": describe_cycle_task_list,
    "GetVirusScanConfig": get_virus_scan_config,
}
