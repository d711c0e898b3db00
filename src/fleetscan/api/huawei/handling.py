"""HSS handling operations: HandleAntiVirusResult, ListAntivirusHandleHistory, ListIsolatedFile, ChangeIsolatedFile.

Translation only: parameters in (validated before anything changes), core/handling.py decides, names out.

- HandleAntiVirusResult acts on the `result_id`s of `operate_results` (the other fields of each item are
  accepted and ignored: the server knows each detection's host, path and hash). All of them or none: one
  result in a state that does not allow the operation refuses the whole request (409 HSS.0003).
  `add_to_alarm_whitelist` whitelists each detection's file hash, or its path and/or hash when
  `event_white_rules` name `field_key` `file_path` / `file_hash`. Isolating and restoring are done by the
  host's agent: the detection changes when it reports the action done (ListIsolatedFile shows `isolating`
  / `restoring` meanwhile).
- ChangeIsolatedFile restores the files of `data_list` (by host, hash and path).
"""

from __future__ import annotations

from typing import Any

from ...core import handling as h
from ...core.models import Scope
from ...core.queries import Page
from ...core.service import ControlPlane
from ...core.validation import INT64_MAX
from . import render
from .errors import invalid
from .operations import ASSET_VALUES, SEVERITIES, Input, narrow
from .params import check_sha256

OPERATIONS = tuple(o.value for o in h.Operation)
MAX_RESULTS = 200
WHITE_KEYS = {"file_hash": h.WhitelistField.HASH, "file_path": h.WhitelistField.PATH}
# HSS isolation_status <-> ours; a failed restore leaves the file isolated, a failed isolation is not listed.
ISOLATION = {
    "isolating": frozenset({h.QuarantineStatus.ISOLATING}),
    "isolated": h.HELD,
    "restoring": frozenset({h.QuarantineStatus.RESTORING}),
    "restored": frozenset({h.QuarantineStatus.RESTORED}),
}
ISOLATION_OF = {status: name for name, statuses in ISOLATION.items() for status in statuses}


def handle_results(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """HandleAntiVirusResult."""
    body = given.json()
    operation = body.choice("operate_type", OPERATIONS, required=True)
    memo = body.text("memo", 0, 512, free=True) or ""
    result_ids = []
    for item in body.objects("operate_results", required=True, max_items=MAX_RESULTS):
        result_id = item.text("result_id", 1, 64, required=True)
        for name in ("agent_id", "file_path", "file_attr"):
            item.text(name, 0, 4096)
        if (file_hash := item.text("file_hash", 0, 64)) not in (None, ""):
            check_sha256("operate_results.file_hash", file_hash)
        item.integer("event_type", 0, INT64_MAX)
        item.integer("occur_time", 0, INT64_MAX)
        result_ids.append(str(result_id))
    fields: list[h.WhitelistField] = []
    for rule in body.objects("event_white_rules", required=False, max_items=20):
        key = rule.text("field_key", 1, 64)
        if key is not None:
            if key not in WHITE_KEYS:
                raise invalid("event_white_rules.field_key", f"must be one of {', '.join(WHITE_KEYS)}")
            fields.append(WHITE_KEYS[key])
        rule.text("field_value", 0, 4096)
        judge = rule.text("judge_type", 1, 32)
        if judge is not None and judge != "equal":
            raise invalid("event_white_rules.judge_type", "must be equal")
    scope, _ = narrow(scope, given.query)
    request = h.HandleRequest(
        h.Operation(str(operation)),
        tuple(dict.fromkeys(result_ids)),
        memo,
        given.caller,
        tuple(dict.fromkeys(fields)) or (h.WhitelistField.HASH,),
    )
    plane.handle(scope, request)
    return {}


def _page(given: Input) -> Page:
    offset = given.query.integer("offset", 0, 2_000_000, default=0)
    limit = given.query.integer("limit", 10, 200, default=10)
    assert offset is not None and limit is not None
    return Page(offset, limit)


def list_history(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ListAntivirusHandleHistory: newest first (`sort_dir=asc` for oldest first), by handling time."""
    q = given.query
    page = _page(given)
    severities = set(q.choices("severity_list", SEVERITIES) or ())
    severities |= q.choices("severities", SEVERITIES) or set()
    q.choice("sort_key", ("handle_time",))
    flt = h.HistoryFilter(
        malware_name=q.text("malware_name", 1, 256),
        file_path=q.text("file_path", 1, 4096),
        severities=frozenset(severities) or None,
        host_name=q.text("host_name", 1, 256),
        private_ip=q.text("private_ip", 1, 128),
        public_ip=q.public_ip(),
        asset_value=q.choice("asset_value", ASSET_VALUES),
        handle_method=q.text("handle_method", 1, 64),
        user_name=q.text("user_name", 1, 128),
        event_type=q.integer("event_type", 0, 2**31 - 1),
        ascending=q.choice("sort_dir", ("asc", "desc")) == "asc",
    )
    scope, _ = narrow(scope, q)
    total, found = plane.handle_history(scope, flt, page)
    return {"total_num": total, "data_list": [_history(v) for v in found]}


def _history(view: h.HistoryView) -> dict[str, Any]:
    d, host, record = view.detection, view.host, view.record
    return {
        "result_id": d.result_id,
        "malware_type": d.malware_type,
        "malware_name": d.malware_name,
        "severity": d.severity.value,
        "file_path": d.file_path,
        "host_name": host.name,
        "private_ip": host.private_ip,
        "public_ip": host.public_ip,
        "asset_value": host.asset_value,
        "occur_time": d.occur_time,
        "handle_status": record.handle_status.value,
        "handle_method": record.operation,
        "notes": record.memo,
        "handle_time": record.handle_time,
        "user_name": record.user_name,
    }


def list_isolated(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ListIsolatedFile: files in the hosts' quarantines (and restored ones), newest change first."""
    q = given.query
    page = _page(given)
    status = q.choice("isolation_status", tuple(ISOLATION))
    last_days = q.integer("last_days", 1, 30)
    begin = q.integer("begin_time", 0, 2**63 - 1)
    end = q.integer("end_time", 0, 2**63 - 1)
    if begin is not None and end is not None and end < begin:
        raise invalid("end_time", "must not be earlier than begin_time")
    now = plane.clock()
    flt = h.QuarantineFilter(
        file_path=q.text("file_path", 1, 4096),
        file_hash=q.sha256("file_hash"),
        host_name=q.text("host_name", 1, 256),
        private_ip=q.text("private_ip", 1, 128),
        public_ip=q.public_ip(),
        asset_value=q.choice("asset_value", ASSET_VALUES),
        statuses=ISOLATION[status] if status else frozenset(ISOLATION_OF),
        updated_from=now - last_days * 86_400_000 if last_days is not None else begin,
        updated_to=None if last_days is not None else end,
    )
    scope, _ = narrow(scope, q)
    total, found = plane.quarantined(scope, flt, page)
    return {"total_num": total, "data_list": [_isolated(v, plane) for v in found]}


def _isolated(view: h.QuarantineView, plane: ControlPlane) -> dict[str, Any]:
    f, host = view.file, view.host
    return {
        "os_type": host.os_type,
        "host_id": host.host_id,
        "host_name": host.name,
        "file_hash": f.file_hash,
        "file_path": f.file_path,
        "file_attr": view.detection.file_attr if view.detection is not None else oct(f.mode)[2:].zfill(4),
        "isolation_status": ISOLATION_OF.get(f.status, "isolated"),
        "private_ip": host.private_ip,
        "public_ip": host.public_ip,
        "asset_value": host.asset_value,
        "update_time": f.updated_at,
        "agent_version": host.agent_version,
        "isolate_source": "antivirus",
        "event_name": f.malware_name,
        "agent_event_info": _event_info(view, plane) if view.detection is not None else None,
        "antivirus_result_info": _result_info(view) if view.detection is not None else None,
    }


def _event_info(view: h.QuarantineView, plane: ControlPlane) -> dict[str, Any]:
    """IsolateEventResponseInfo: the alert behind the isolated file, as HSS's event listings show one."""
    d, host = view.detection, view.host
    assert d is not None
    return {
        "event_id": d.result_id,
        "event_class_id": "antivirus",
        "event_type": d.event_type,
        "event_name": d.malware_name,
        "severity": d.severity.value,
        "host_name": host.name,
        "host_id": host.host_id,
        "private_ip": host.private_ip,
        "public_ip": host.public_ip,
        "os_type": host.os_type,
        "host_status": "ACTIVE",
        "agent_status": "online" if plane.agent_online(host) else "offline",
        "protect_status": "opened",
        "asset_value": host.asset_value,
        "occur_time": d.occur_time,
        "recent_time": d.occur_time,
        "handle_status": d.handle_status.value,
        "handle_method": d.handle_method,
        "memo": d.memo,
        "operate_accept_list": [op.value for op in h.allowed_operations(d)],
        "operate_detail_list": [
            {
                "agent_id": host.agent_id,
                "file_path": d.file_path,
                "file_hash": d.file_hash,
                "file_attr": d.file_attr,
                "keyword": d.file_path,
                "hash": d.file_hash,
            }
        ],
        "event_count": 1,
    }


def _result_info(view: h.QuarantineView) -> dict[str, Any]:
    """AntivirusResultDetailInfo: the scan result the file was isolated from."""
    d = view.detection
    assert d is not None
    return {
        "result_id": d.result_id,
        "malware_name": d.malware_name,
        **render.file_info(d),
        "update_time": view.file.updated_at,
        "agent_id": view.host.agent_id,
    }


def restore_isolated(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    """ChangeIsolatedFile: restore the listed files; every one must be isolated, or nothing is done."""
    body = given.json()
    wanted = []
    for item in body.objects("data_list", required=True, max_items=MAX_RESULTS):
        host_id = item.text("host_id", 1, 64, required=True)
        file_hash = check_sha256("data_list.file_hash", item.text("file_hash", 64, 64, required=True) or "")
        file_path = item.text("file_path", 1, 4096, required=True)
        item.text("file_attr", 0, 64)
        wanted.append((host_id, file_hash, file_path))
    scope, _ = narrow(scope, given.query)
    result_ids: list[str] = []
    for host_id, file_hash, file_path in wanted:
        flt = h.QuarantineFilter(host_id=host_id, file_hash=file_hash, file_path=file_path, statuses=h.HELD)
        _, found = plane.quarantined(scope, flt, Page(0, 100))
        exact = [v for v in found if v.file.file_path == file_path and v.detection is not None]
        if not exact:
            raise invalid("data_list", f"no isolated file {file_path} on host {host_id}")
        result_ids.extend(v.detection.result_id for v in exact if v.detection is not None)
    request = h.HandleRequest(h.Operation.DO_NOT_ISOLATE_OR_KILL, tuple(dict.fromkeys(result_ids)), "", given.caller)
    plane.handle(scope, request)
    return {}
