"""Response bodies with the names and exact JSON types the HSS SDK models read.

The Python SDK coerces silently (`bool("false")` is True, `int("abc")` raises a bare ValueError), so
every field is emitted in its documented type: ints for Integer/Long, real booleans, and strings where
the model says str (`scan_progress` is "50%", not 50).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...core.beats import is_online
from ...core.handling import allowed_operations
from ...core.listing import TaskHost, TaskRoot
from ...core.models import Detection, DetectionView, Host
from .status import HOST_TASK_STATUS_OF_VALUE, TASK_STATUS_OF_VALUE

Online = Callable[[Host | TaskHost], bool]


def agent_status(host: Host | TaskHost, online: Online) -> str:
    return "online" if online(host) else "offline"


def host_info(row: TaskHost, root_start: int, now: int, online_since: int) -> dict[str, Any]:
    """One AntiVirusTaskHostResponseInfo: a host's part in a task (`root_start`: the task's start time).

    A page holds up to 2,000 of these, so each is one dict made from the row's values, with no call per field:
    the status by its stored value, the online test on plain values (`online_since`: ControlPlane.online_since).
    """
    skipped = row.skipped if row.not_scanned is not None else None  # None: nothing skipped, nothing to decode
    return {
        "host_id": row.host_id,
        "host_name": row.name,
        "private_ip": row.private_ip,
        "public_ip": row.public_ip,
        "asset_value": row.asset_value,
        "start_time": root_start if row.start_time is None else row.start_time,
        "run_duration": row.run_duration(now),
        "scan_progress": f"{row.progress}%",
        "virus_num": row.viruses_found,
        "scan_file_num": row.files_scanned,
        "host_task_status": HOST_TASK_STATUS_OF_VALUE[row.status_value],
        "fail_reason": row.fail_reason,
        "deleted": False,
        "whether_using_quota": 1 if row.using_quota else 0,
        "agent_id": row.agent_id,
        "os_type": row.os_type,
        "host_status": "ACTIVE",
        "agent_status": "online" if is_online(row.last_seen, row.stopped_at, online_since) else "offline",
        "protect_status": "opened",
        "os_name": row.os_name,
        "os_version": row.os_version,
        # fleetscan's own fields (HSS has none for them; the SDK model drops them, the raw JSON keeps them):
        # files the scan did not scan, by reason, with a few example paths (docs/agent-protocol.md).
        "not_scanned_num": sum(int(n["count"]) for n in skipped) if skipped else 0,
        "not_scanned": [
            {"reason": n["reason"], "count": int(n["count"]), "examples": list(n["examples"])} for n in skipped
        ]
        if skipped
        else [],
    }


def task(root: TaskRoot, hosts: Sequence[TaskHost], now: int, online_since: int) -> dict[str, Any]:
    """One AntiVirusTaskResponseInfo; `hosts` are the hosts to show (all, or those a host filter matched)."""
    counts = root.counts
    start = root.start_time
    return {
        "task_id": root.task_id,
        "task_name": root.name,
        "scan_type": root.scan_type,
        "start_type": root.start_type,
        "action": root.action,
        "start_time": start,
        "task_status": TASK_STATUS_OF_VALUE[root.status_value],
        "host_num": counts.total,
        "success_host_num": counts.succeeded,
        "fail_host_num": counts.failed + counts.timed_out,
        "cancel_host_num": counts.cancelled,
        "host_info_list": [host_info(h, start, now, online_since) for h in hosts],
        "rescan": root.rescan,
        "whether_paid_task": root.paid,
    }


def resource(host: Host, online: Online) -> dict[str, Any]:
    """ResultResourceResponseInfo: the host a detection was found on."""
    return {
        "host_name": host.name,
        "host_id": host.host_id,
        "agent_id": host.agent_id,
        "private_ip": host.private_ip,
        "public_ip": host.public_ip,
        "os_type": host.os_type,
        "host_status": "ACTIVE",
        "agent_status": agent_status(host, online),
        "protect_status": "opened",
        "asset_value": host.asset_value,
        "os_name": host.os_name,
        "os_version": host.os_version,
    }


def file_info(d: Detection) -> dict[str, Any]:
    """A result's file fields: AntiVirusResultResponseInfo nests them, the isolated-file detail spreads them."""
    return {
        "file_path": d.file_path,
        "file_hash": d.file_hash,
        "file_size": d.file_size,
        "file_owner": d.file_owner,
        "file_attr": d.file_attr,
        "file_ctime": d.file_ctime,
        "file_mtime": d.file_mtime,
    }


def detection(view: DetectionView, online: Online) -> dict[str, Any]:
    """One AntiVirusResultResponseInfo."""
    d = view.detection
    return {
        "result_id": d.result_id,
        "malware_type": d.malware_type,
        "malware_name": d.malware_name,
        "severity": d.severity.value,
        "task_id": view.root.task_id,
        "task_name": view.root.name,
        "file_info": file_info(d),
        "resource_info": resource(view.host, online),
        "event_type": d.event_type,
        "occur_time": d.occur_time,
        "handle_status": d.handle_status.value,
        "handle_method": d.handle_method,
        "memo": d.memo,
        # what ChangeAntivirusResult accepts for it now (an action already under way is refused when asked)
        "operate_accept_list": [op.value for op in allowed_operations(d)],
        "operate_detail_list": [{"keyword": d.file_path, "hash": d.file_hash}],
        "isolate_tag": d.isolate_tag,
        # fleetscan's own field: the project signature version it was found with (null: the agent's local ones)
        "signature_version": d.signature_version,
    }


def host(h: Host, online: Online, open_alerts: int = 0) -> dict[str, Any]:
    """One AntiVirusHostResponseInfo: a host that can be scanned, with fleetscan's own fields for the console."""
    return {
        "host_id": h.host_id,
        "host_name": h.name,
        "public_ip": h.public_ip,
        "private_ip": h.private_ip,
        "agent_id": h.agent_id,
        "os_name": h.os_name,
        "host_status": "ACTIVE",
        "agent_status": agent_status(h, online),
        "asset_value": h.asset_value,
        "os_type": h.os_type,
        "group_id": h.group_id or "",
        # fleetscan's own field: the project signature version of its last scan (null: local signatures only)
        "signature_version": h.signature_version,
        # fleetscan's own fields: the agent's version, and the host's open alerts (docs/alerts.md)
        "agent_version": h.agent_version,
        "open_alert_num": open_alerts,
    }
