"""One function per Alibaba action: parameters in, response body (without RequestId) out.

Each runs in a worker thread (ControlPlane calls block on the database) and only translates:
validate every parameter first (raising AliError before anything changes), then call ControlPlane,
then render. Decisions where the pages are silent:

* PageSize is bounded to 1..100 (default 20), CurrentPage to 1..2^31-1 (default 1).
* ListVirusScanTask: RootTask=true lists root tasks; otherwise one row per machine (subtask),
  whose TaskId is the subtask's own id. Status and StatusList.N both filter (they intersect).
  StartTime/EndTime bound the task's start time (ms, inclusive).
* DescribeScanTaskProgress on an unknown id, or another tenant's, answers 404
  `InvalidTaskId.NotFound` (the InvalidXxx.NotFound family of Alibaba's codes), the same for both.
* StartVirusScanTask / CreateVirusScanOnceTask refuse a target uuid that is not a host of the
  caller, or a group id with no host of the caller (400 InvalidParameter naming the parameter):
  nothing is created unless every target resolves.
* CreateVirusScanOnceTask: ScanType `system` (default) scans the whole host (core scan type full);
  `user` scans the ScanPath.N paths (core scan type custom, at least one path, at most 20 of
  1..1024 characters). ScanType is also the task's origin, so ListVirusScanTask ScanType finds it.
  Targets: `Param` {"targetInfo": [...]} (same shape as TargetInfo) if given; else SelectionKey,
  read as the id of a host group of the caller; else every host of the caller's scope.
  ClientToken (1..64 characters) makes it idempotent: the same token gives back the first task.
  DryRun=true validates everything, resolves the hosts, creates nothing and answers 400
  `DryRunOperation`, as Alibaba does (the SDK raises ClientException with that code).
* GetVirusScanLatestTaskStatistic with no task yet: `Data` with every count 0 and Progress "0",
  no TaskId/Status/ScanTime (the SDK reads those as None; `resp.body` and `resp.body.data` exist).
* ListVirusScanMachine lists every host of the caller's scope; EventCount is its open alerts (docs/alerts.md).
  InstanceId is the host uuid (fleetscan hosts have no cloud instance id).
* ListVirusScanMachineEvent Level uses Alibaba's event levels: serious (High, Critical),
  suspicious (Medium), remind (Low).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ...core import ids
from ...core.models import Host, Origin, ScanType, Scope, Target
from ...core.queries import DetectionFilter, HostFilter, HostMatch, Page, RootFilter, SubtaskFilter
from ...core.service import ControlPlane
from ...core.states import RootStatus, SubtaskStatus
from ...core.tasks import TaskRequest
from . import render, status
from .errors import dry_run, invalid
from .params import LONG_MAX, Params, is_name, parse_json

Body = dict[str, Any]
Operation = Callable[[ControlPlane, Scope, Params], Body]

MAX_TARGETS: Final = 1000
MAX_SCAN_PATHS: Final = 20
SCAN_TYPES: Final = ("system", "user")
_HOST_BATCH: Final = 1000


def _page(current: int, size: int) -> Page:
    return Page(offset=(current - 1) * size, limit=size)


def _scope_hosts(plane: ControlPlane, scope: Scope) -> list[Host]:
    """Every host the caller may see, read in batches."""
    out: list[Host] = []
    while True:
        total, batch = plane.list_hosts(scope, HostFilter(), Page(len(out), _HOST_BATCH))
        out.extend(batch)
        if not batch or len(out) >= total:
            return out


# ---------------------------------------------------------------------- ListVirusScanTask
def list_virus_scan_task(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    task_id = p.text("TaskId", max_len=64)
    scan_type = p.choice("ScanType", SCAN_TYPES)
    one = p.integer("Status", 1, 4)
    many = p.int_list("StatusList", 1, 4, max_items=10)
    start_from = p.integer("StartTime", 0, LONG_MAX)
    start_to = p.integer("EndTime", 0, LONG_MAX)
    if start_from is not None and start_to is not None and start_to < start_from:
        raise invalid("EndTime", "time_order")
    root_rows = bool(p.boolean("RootTask"))
    root_task_id = p.text("RootTaskId", max_len=64)
    name = p.text("MachineName", max_len=256)
    public_ip = p.text("InternetIp", max_len=64)
    private_ip = p.text("IntranetIp", max_len=64)
    current, size = p.page()
    p.lang()

    codes: set[int] | None = None
    for given in ({one} if one is not None else None, set(many) if many is not None else None):
        if given is not None:
            codes = given if codes is None else codes & given
    origins = frozenset({Origin(scan_type)}) if scan_type else None
    page = _page(current, size)

    if root_rows:
        if task_id and root_task_id and task_id != root_task_id:
            return {"PageInfo": render.page_info(current, size, 0), "List": []}
        root_statuses: frozenset[RootStatus] | None = None
        if codes is not None:
            root_statuses = frozenset(s for c in codes for s in status.LIST_ROOT_STATUS.parse(c))
        flt = RootFilter(
            task_id=task_id or root_task_id,
            origins=origins,
            statuses=root_statuses,
            start_from=start_from,
            start_to=start_to,
            hosts=HostMatch(host_name=name, private_ip=private_ip, public_ip=public_ip),
        )
        found = plane.task_page(scope, flt, page)
        return {
            "PageInfo": render.page_info(current, size, found.total),
            "List": [render.root_row(r) for r in found.roots],
        }

    sub_statuses: frozenset[SubtaskStatus] | None = None
    if codes is not None:
        sub_statuses = frozenset(s for c in codes for s in status.LIST_SUBTASK_STATUS.parse(c))
    sflt = SubtaskFilter(
        subtask_id=task_id,
        root_task_id=root_task_id,
        origins=origins,
        start_from=start_from,
        start_to=start_to,
        hosts=HostMatch(host_name=name, private_ip=private_ip, public_ip=public_ip, statuses=sub_statuses),
    )
    total, machines = plane.machine_page(scope, sflt, page)
    return {"PageInfo": render.page_info(current, size, total), "List": [render.machine_row(m) for m in machines]}


# ---------------------------------------------------------------------- GetVirusScanLatestTaskStatistic
def get_virus_scan_latest_task_statistic(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    root = plane.latest_root(scope)
    if root is None:
        zero = dict.fromkeys(
            ("SuspiciousCount", "SuspiciousMachine", "SafeMachine", "ScanMachine", "CompleteMachine"), 0
        )
        return {"Data": {**zero, "UnCompleteMachine": 0, "Progress": "0", "ScanPath": []}}
    views = plane.subtasks_of(scope, [root])[root.id]
    subs = [v.subtask for v in views]
    succeeded = sum(1 for s in subs if s.status is SubtaskStatus.SUCCEEDED)
    data: Body = {
        "TaskId": root.task_id,
        "ScanTime": root.start_time,
        "Status": status.LATEST_MAIN_STATUS.render(root.status),
        "SuspiciousCount": sum(s.viruses_found for s in subs),
        "SuspiciousMachine": sum(1 for s in subs if s.viruses_found > 0),
        "SafeMachine": sum(1 for s in subs if s.status is SubtaskStatus.SUCCEEDED and s.viruses_found == 0),
        "ScanMachine": len(subs),
        "CompleteMachine": succeeded,
        "UnCompleteMachine": len(subs) - succeeded,
        "ScanType": root.origin.value,
        "ScanPath": list(root.scan_paths),
        "Progress": str(root.progress),
    }
    if views:
        data["MachineName"] = views[0].host.name
    risk = _risk_level(plane, scope, root.task_id)
    if risk is not None:
        data["RiskLevel"] = risk
    return {"Data": data}


def _risk_level(plane: ControlPlane, scope: Scope, task_id: str) -> str | None:
    for level, severities in render.RISK_LEVELS:
        flt = DetectionFilter(root_task_id=task_id, severities=severities)
        total, _ = plane.list_detections(scope, flt, Page(0, 1))
        if total:
            return level
    return None


# ---------------------------------------------------------------------- DescribeScanTaskProgress
def describe_scan_task_progress(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    numeric = p.integer("TaskId", 1, LONG_MAX, required=True)
    assert numeric is not None
    root = plane.get_root(scope, numeric_id=numeric)
    return {
        "ScanTaskProgress": status.SCAN_TASK_PROGRESS.render(root.status),
        "TargetInfo": render.target_info(root.targets),
    }


# ---------------------------------------------------------------------- task creation
@dataclass(frozen=True)
class Targets:
    host_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()


def _parse_targets(name: str, value: object) -> list[tuple[str, str, str]]:
    """TargetInfo's JSON shape: [{"type": "uuid"|"groupId", "target": "...", "name": "..."}], 1..1000 items."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TARGETS:
        raise invalid(name, "json_array", max=MAX_TARGETS)
    out: list[tuple[str, str, str]] = []
    for index, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise invalid(name, "target_entry", index=index)
        kind, target, label = item.get("type"), item.get("target"), item.get("name", "")
        ok = kind in ("uuid", "groupId") and isinstance(target, str) and 1 <= len(target) <= 128
        ok = ok and isinstance(label, str) and len(label) <= 256
        if not ok or not is_name(str(target)) or not is_name(str(label)):
            raise invalid(name, "target_entry", index=index)
        assert isinstance(kind, str) and isinstance(target, str)
        if (kind, target) not in {(k, t) for k, t, _ in out}:
            out.append((kind, target, label))
    return out


def _resolve(name: str, entries: Sequence[tuple[str, str, str]], hosts: Sequence[Host]) -> Targets:
    """Check every entry names the caller's host or a group with the caller's hosts; nothing is created yet."""
    by_id = {h.host_id: h for h in hosts}
    groups = {h.group_id for h in hosts if h.group_id}
    host_ids: list[str] = []
    group_ids: list[str] = []
    targets: list[Target] = []
    for kind, target, label in entries:
        if kind == "uuid":
            if target not in by_id:
                raise invalid(name, "unknown_host", target=target)
            host_ids.append(target)
            targets.append(Target("uuid", target, label or by_id[target].name))
        else:
            if target not in groups:
                raise invalid(name, "unknown_group", target=target)
            group_ids.append(target)
            targets.append(Target("groupId", target, label))
    return Targets(tuple(host_ids), tuple(group_ids), tuple(targets))


def _create(plane: ControlPlane, scope: Scope, request: TaskRequest) -> int:
    return plane.create_task(scope, request).root.id


def start_virus_scan_task(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    entries = _parse_targets("TargetInfo", p.json_value("TargetInfo", max_len=200_000, required=True))
    resolved = _resolve("TargetInfo", entries, _scope_hosts(plane, scope))
    request = TaskRequest(
        name=render.TASK_NAME,
        scan_type=ScanType.FULL,
        host_ids=resolved.host_ids,
        group_ids=resolved.group_ids,
        targets=resolved.targets,
        origin=Origin.USER,
    )
    return {"ScanTaskId": _create(plane, scope, request)}


def create_virus_scan_once_task(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    scan_type = p.choice("ScanType", SCAN_TYPES) or "system"
    paths = p.text_list("ScanPath", max_len=1024, max_items=MAX_SCAN_PATHS)
    if scan_type == "user" and not paths:
        raise invalid("ScanPath", "scan_path_needed")
    if scan_type == "system" and paths:
        raise invalid("ScanPath", "scan_path_forbidden")
    selection = p.text("SelectionKey", max_len=128)
    param = p.json_value("Param", max_len=200_000)
    if param is not None and not isinstance(param, dict):
        raise invalid("Param", "json_object")
    token = p.text("ClientToken", max_len=64)
    dry = bool(p.boolean("DryRun"))

    hosts = _scope_hosts(plane, scope)
    raw_targets = param.get("targetInfo") if isinstance(param, dict) else None
    if isinstance(raw_targets, str):
        raw_targets = parse_json("Param.targetInfo", raw_targets)
    if raw_targets is not None:
        if selection is not None:
            raise invalid("SelectionKey", "both_targets")
        resolved = _resolve("Param", _parse_targets("Param", raw_targets), hosts)
    elif selection is not None:
        resolved = _resolve("SelectionKey", [("groupId", selection, "")], hosts)
    else:
        if not hosts:
            raise invalid("SelectionKey", "no_hosts")
        resolved = Targets(host_ids=tuple(h.host_id for h in hosts))
    if dry:
        raise dry_run()
    request = TaskRequest(
        name=render.TASK_NAME,
        scan_type=ScanType.CUSTOM if scan_type == "user" else ScanType.FULL,
        host_ids=resolved.host_ids,
        group_ids=resolved.group_ids,
        targets=resolved.targets,
        origin=Origin(scan_type),
        scan_paths=tuple(paths or ()),
        client_token=ids.client_token_key(scope.project_id, "CreateVirusScanOnceTask", token) if token else None,
    )
    _create(plane, scope, request)
    return {}


# ---------------------------------------------------------------------- machines and their events
def list_virus_scan_machine(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    current, size = p.page(required=True)
    remark = p.text("Remark", max_len=256)
    uuid = p.text("Uuid", max_len=64)
    total, hosts = plane.list_hosts(scope, HostFilter(host_id=uuid, remark=remark), _page(current, size))
    counts = plane.open_alert_counts(scope, [h.host_id for h in hosts])  # alerts, not occurrences
    rows = [render.machine(host, counts.get(host.host_id, 0)) for host in hosts]
    return {"PageInfo": render.page_info(current, size, total), "Data": rows}


def list_virus_scan_machine_event(plane: ControlPlane, scope: Scope, p: Params) -> Body:
    uuid = p.text("Uuid", max_len=64)
    task_id = p.text("OperateTaskId", max_len=64)
    current, size = p.page()
    lang = p.lang()
    flt = DetectionFilter(host_id=uuid, root_task_id=task_id)
    total, views = plane.list_detections(scope, flt, _page(current, size))
    return {"PageInfo": render.page_info(current, size, total), "Data": [render.event(v, lang) for v in views]}


ACTIONS: Final[dict[str, Operation]] = {
    "ListVirusScanTask": list_virus_scan_task,
    "GetVirusScanLatestTaskStatistic": get_virus_scan_latest_task_statistic,
    "DescribeScanTaskProgress": describe_scan_task_progress,
    "StartVirusScanTask": start_virus_scan_task,
    "CreateVirusScanOnceTask": create_virus_scan_once_task,
    "ListVirusScanMachine": list_virus_scan_machine,
    "ListVirusScanMachineEvent": list_virus_scan_machine_event,
}

__all__ = ["ACTIONS", "Operation"]
