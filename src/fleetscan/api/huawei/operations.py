"""The HSS antivirus operations: read parameters, call the ControlPlane, render. Nothing else.

Each operation is a blocking function (the ControlPlane talks to the database) that the routes run in
a thread. They all validate every parameter before calling the plane, so a refused request changes nothing.

Enterprise projects: `enterprise_project_id` absent or `0` means the default enterprise project,
`all_granted_eps` everything the key may see, any other value that one enterprise project, which the key
must be granted (403 otherwise, as the Chinese page says). The caller's Scope is narrowed accordingly,
so every listing, count and host lookup below sees only that enterprise project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ...core.models import (
    ALL_ENTERPRISE_PROJECTS,
    DEFAULT_ENTERPRISE_PROJECT,
    Action,
    HandleStatus,
    ScanType,
    Scope,
    Severity,
)
from ...core.queries import DetectionFilter, HostFilter, HostMatch, Page, RootFilter
from ...core.schedules import ScheduleFilter, ScheduleKind
from ...core.service import ControlPlane
from ...core.tasks import Plan, TaskRequest
from . import render
from .errors import forbidden, invalid
from .params import Body, Query, check_sha256, time_range
from .status import HOST_TASK_STATUS_FILTER, TASK_STATUS_FILTER, root_statuses, subtask_statuses

MAX_OFFSET = 2_000_000
SEVERITIES = ("Low", "Medium", "High", "Critical")
ASSET_VALUES = ("important", "common", "test")
SCAN_TYPES = tuple(t.value for t in ScanType)
ACTIONS = tuple(a.value for a in Action)
FILE_TYPES = (0, 6)  # 0 all, 1 executable, 2 archive, 3 script, 4 document, 5 image, 6 audio/video
# manual_isolate=true: detections isolated with the manual button; false: the others.
MANUAL_ISOLATE = {True: frozenset({"manual"}), False: frozenset({"auto_isolate", "none"})}
HOST_NOT_FOUND = "host not found or not in the requested enterprise project"


@dataclass(frozen=True)
class Input:
    query: Query
    body: bytes
    caller: str = ""  # the access key id (or `token`), as handling history records who acted

    def json(self) -> Body:
        return Body.parse(self.body)


Operation = Callable[[ControlPlane, Scope, Input], dict[str, Any]]


def narrow(scope: Scope, query: Query) -> tuple[Scope, str | None]:
    """The caller's scope limited to the requested enterprise project, and that project (None for all)."""
    eps = query.text("enterprise_project_id", 1, 256) or DEFAULT_ENTERPRISE_PROJECT
    if eps == ALL_ENTERPRISE_PROJECTS:
        return scope, None
    if not scope.allows(eps):
        raise forbidden(f"enterprise project {eps} is not granted to this key")
    return replace(scope, enterprise_project_ids=frozenset({eps})), eps


def _page(query: Query, *, offset_required: bool) -> Page:
    offset = query.integer("offset", 0, MAX_OFFSET, required=offset_required, default=0)
    limit = query.integer("limit", 10, 200, required=True)
    assert offset is not None and limit is not None
    return Page(offset, limit)


# ---------------------------------------------------------------------------------------- tasks
def list_tasks(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ListAntiVirusTask: root tasks, each with its hosts (only the matching ones when a host filter is given)."""
    q = given.query
    page = _page(q, offset_required=True)
    paid = q.boolean("whether_paid_task", required=True)
    name = q.text("task_name", 1, 128)
    wanted_task = q.choice("task_status", TASK_STATUS_FILTER)
    wanted_hosts = q.choices("host_task_status", HOST_TASK_STATUS_FILTER)
    hosts = HostMatch(
        host_name=q.text("host_name", 1, 256),
        private_ip=q.text("private_ip", 1, 128),
        public_ip=q.public_ip(),
        statuses=subtask_statuses(wanted_hosts) if wanted_hosts is not None else None,
    )
    window = time_range(q, plane.clock())
    scope, _ = narrow(scope, q)
    flt = RootFilter(
        name=name,
        statuses=root_statuses({wanted_task}) if wanted_task is not None else None,
        start_from=window.start_from,
        start_to=window.start_to,
        paid=paid,
        hosts=hosts,
    )
    found = plane.task_page(scope, flt, page, with_hosts=True)
    now, since = plane.clock(), plane.online_since()
    return {
        "total_num": found.total,
        "data_list": [render.task(r, found.hosts[r.id], now, since) for r in found.roots],
    }


def _plan_body(plan: Plan) -> dict[str, Any]:
    return {
        "task_id": plan.root.task_id,
        "policy_id": "",  # a one-off task belongs to no scan policy
        "result": not plan.missing_host_ids,
        "fail_reasons": [{"host_id": h, "reason": HOST_NOT_FOUND} for h in plan.missing_host_ids],
    }


def _create(plane: ControlPlane, scope: Scope, given: Input, *, paid: bool) -> dict[str, Any]:
    body = given.json()
    task_id = body.text("task_id", 1, 64)
    name = body.text("task_name", 1, 255, required=task_id is None)
    scan_type = body.choice("scan_type", SCAN_TYPES, required=task_id is None)
    action = body.choice("action", ACTIONS, required=task_id is None)
    host_ids = body.strings("host_ids", 1, 64, required=task_id is None)
    scan_paths: tuple[str, ...] = ()
    ignore_paths: tuple[str, ...] = ()
    file_types: list[int] = []
    if paid:
        file_types = body.integers("file_types", *FILE_TYPES)
        scan_paths = body.dirs("scan_dir")
        ignore_paths = body.dirs("ignore_dir")
    if scan_type == ScanType.CUSTOM.value and not scan_paths and task_id is None:
        # CreateAntiVirusTask has no scan_dir at all: its custom scan could only fail on the host
        raise invalid("scan_dir", "is required for a custom scan (CreateAntiVirusPaidTask takes one)")
    scope, eps = narrow(scope, given.query)
    if task_id is not None:
        return _plan_body(plane.rescan(scope, task_id, host_ids, name))
    assert name is not None and scan_type is not None and action is not None
    request = TaskRequest(
        name=name,
        scan_type=ScanType(scan_type),
        host_ids=host_ids,
        action=Action(action),
        scan_paths=scan_paths,
        ignore_paths=ignore_paths,
        file_types=file_types,
        paid=paid,
        enterprise_project_id=eps,
    )
    return _plan_body(plane.create_task(scope, request))


def create_task(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """CreateAntiVirusTask; with a `task_id` in the body, a rescan of that task."""
    return _create(plane, scope, given, paid=False)


def create_paid_task(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """CreateAntiVirusPaidTask: the same, pay-per-scan, with file types and directories."""
    return _create(plane, scope, given, paid=True)


def cancel_task(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """SwitchAntivirusTask: cancel some hosts of a task, or all of them when host_ids is empty."""
    body = given.json()
    task_id = body.text("task_id", 1, 64, required=True)
    body.text("task_name", 0, 255)
    host_ids = body.strings("host_ids", 1, 64)
    assert task_id is not None
    scope, _ = narrow(scope, given.query)
    plane.cancel(scope, task_id, host_ids)
    return {}


# ---------------------------------------------------------------------------------------- results
def list_results(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ListAntiVirusResult: detections, newest first."""
    q = given.query
    page = _page(q, offset_required=False)
    severities = set(q.choices("severity_list", SEVERITIES) or ())
    severities |= q.choices("severities", SEVERITIES) or set()
    handle = q.choice("handle_status", tuple(h.value for h in HandleStatus))
    hashes = _all_of(
        {h} if (h := q.sha256("file_hash")) else None,
        _sha256_list(q.many("file_hash_list")),
    )
    manual = q.boolean("manual_isolate")
    isolate_tags = None if manual is None else MANUAL_ISOLATE[manual]
    flt = DetectionFilter(
        task_name=q.text("task_name", 1, 128),
        host_name=q.text("host_name", 1, 256),
        private_ip=q.text("private_ip", 1, 128),
        public_ip=q.public_ip(),
        handle_status=HandleStatus(handle) if handle else None,
        severities=frozenset(Severity(s) for s in severities) or None,
        malware_name=q.text("malware_name", 1, 256),
        file_path=q.text("file_path", 1, 4096),
        file_hashes=hashes,
        result_ids=_ids(q.many("id_list")),
        asset_value=q.choice("asset_value", ASSET_VALUES),
        isolate_tags=isolate_tags,
    )
    scope, _ = narrow(scope, q)
    total, found = plane.list_detections(scope, flt, page)
    return {"total_num": total, "data_list": [render.detection(v, plane.agent_online) for v in found]}


def _sha256_list(items: list[str] | None) -> frozenset[str] | None:
    return None if items is None else frozenset(check_sha256("file_hash_list", i) for i in items)


def _ids(items: list[str] | None) -> frozenset[str] | None:
    if items is None:
        return None
    for item in items:
        if len(item) > 64:
            raise invalid("id_list", "items must be 1 to 64 characters")
    return frozenset(items)


def _all_of(*sets: set[str] | frozenset[str] | None) -> frozenset[str] | None:
    given = [frozenset(s) for s in sets if s is not None]
    if not given:
        return None
    out = given[0]
    for s in given[1:]:
        out &= s
    return out


def statistic(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ShowAntivirusStatistic: detections, affected hosts, tasks, running tasks, the latest scan."""
    scope, _ = narrow(scope, given.query)
    stats = plane.statistics(scope)
    latest = plane.latest_root(scope)
    return {
        "total_malware_num": stats.open_alerts,
        "malware_host_num": stats.infected_hosts,
        "total_task_num": stats.tasks,
        "scanning_task_num": stats.scanning_tasks,
        "latest_scan_time": stats.latest_scan_time,
        "scan_type": latest.scan_type.value if latest is not None else "",
    }


# ---------------------------------------------------------------------------------------- hosts
def list_hosts(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ListAntiVirusHost: hosts that can be scanned.

    Every host can take a one-off scan of any type, so `scan_type` and `start_type=now` filter nothing.
    `policy_id`, `start_type=period` and `next_start_time` keep the hosts that antivirus policies scan: that
    policy, any periodic policy, the policies whose next run is at that time.
    """
    q = given.query
    page = _page(q, offset_required=True)
    q.choice("scan_type", SCAN_TYPES)
    start_type = q.choice("start_type", ("now", "period"))
    policy_id = q.text("policy_id", 1, 64)
    next_start = q.integer("next_start_time", 0, 2**63 - 1)
    scope, _ = narrow(scope, q)
    host_ids = None
    if policy_id is not None or next_start is not None or start_type == "period":
        host_ids = frozenset(
            host.host_id
            for schedule in plane.list_schedules(
                scope, ScheduleFilter(ScheduleKind.HSS_POLICY, schedule_id=policy_id), Page(0, 100_000)
            )[1]
            if (start_type != "period" or schedule.periodic)
            and (next_start is None or schedule.next_fire_at == next_start)
            for host in plane.schedule_hosts(schedule)
        )
    flt = HostFilter(
        host_id=q.text("host_id", 1, 64),
        name=q.text("host_name", 1, 256),
        private_ip=q.text("private_ip", 1, 128),
        public_ip=q.public_ip(),
        group_id=q.text("group_id", 1, 64),
        host_ids=host_ids,
    )
    total, found = plane.list_hosts(scope, flt, page)
    alerts = plane.open_alert_counts(scope, [h.host_id for h in found])
    rows = [render.host(h, plane.agent_online, alerts.get(h.host_id, 0)) for h in found]
    return {"total_num": total, "data_list": rows}
