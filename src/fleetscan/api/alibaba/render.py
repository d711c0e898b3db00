"""Core objects to Alibaba JSON, with exactly the types the SDK's models read.

`int` for Integer/Long, `str` for String, lists for List; never None (a field with no value is
left out, which the SDK reads as None). Two fields are strings where one might expect numbers,
because the SDK says so: GetVirusScanLatestTaskStatistic `Progress` and DescribeScanTaskProgress
`TargetInfo` (a JSON-encoded array).
"""

from __future__ import annotations

import json
from typing import Any, Final

from ...core.listing import MachineRow, TaskHost, TaskRoot
from ...core.models import DetectionView, Host, Severity, Target
from . import status
from .lang import Lang, text

TASK_NAME: Final = "VIRUS_VUL_SCHEDULE_SCAN"  # the one TaskName Alibaba shows for virus scans

# Alibaba's event levels (DescribeSuspEvents and friends): serious, suspicious, remind.
EVENT_LEVEL: Final[dict[Severity, str]] = {
    Severity.CRITICAL: "serious",
    Severity.HIGH: "serious",
    Severity.MEDIUM: "suspicious",
    Severity.LOW: "remind",
}
# GetVirusScanLatestTaskStatistic RiskLevel, worst first: the severities each level stands for.
RISK_LEVELS: Final[tuple[tuple[str, frozenset[Severity]], ...]] = (
    ("high", frozenset({Severity.CRITICAL, Severity.HIGH})),
    ("medium", frozenset({Severity.MEDIUM})),
    ("low", frozenset({Severity.LOW})),
)


def page_info(current: int, size: int, total: int) -> dict[str, int]:
    return {"CurrentPage": current, "PageSize": size, "TotalCount": total}


def _host_fields(host: Host | TaskHost) -> dict[str, Any]:
    return {"InstanceName": host.name, "InternetIp": host.public_ip, "IntranetIp": host.private_ip}


def root_row(root: TaskRoot) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TaskId": root.task_id,
        "TaskName": TASK_NAME,
        "ScanType": root.origin,
        "Status": status.LIST_ROOT_STATUS.render(root.status),
        "StartTime": root.start_time,
        "Progress": root.progress,
        "ScanPath": list(root.scan_paths),
    }
    if root.end_time is not None:
        row["EndTime"] = root.end_time
    return row


def machine_row(machine: MachineRow) -> dict[str, Any]:
    sub = machine.host
    skipped = sub.skipped
    row: dict[str, Any] = {
        "TaskId": sub.subtask_id,
        "TaskName": TASK_NAME,
        "ScanType": machine.origin,
        "Status": status.LIST_SUBTASK_STATUS.render(sub.status),
        "StartTime": sub.start_time if sub.start_time is not None else machine.root_start_time,
        "Progress": sub.progress,
        "ScanPath": list(machine.scan_paths),
        "Uuid": sub.host_id,
        **_host_fields(sub),
        # fleetscan's own fields (Sas has none for them; the SDK model drops them, the raw JSON keeps them):
        # files the scan did not scan, by reason, with a few example paths (docs/agent-protocol.md).
        "NotScannedNum": sum(int(n["count"]) for n in skipped) if skipped else 0,
        "NotScanned": [
            {"Reason": n["reason"], "Count": int(n["count"]), "Examples": list(n["examples"])} for n in skipped
        ]
        if skipped
        else [],
    }
    if sub.end_time is not None:
        row["EndTime"] = sub.end_time
    return row


def target_info(targets: list[Target]) -> str:
    """DescribeScanTaskProgress TargetInfo: the JSON array, encoded as a string (the SDK's type is str)."""
    items = [{"type": t.type, "name": t.name, "target": t.target} for t in targets]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def machine(host: Host, event_count: int) -> dict[str, Any]:
    return {"Uuid": host.host_id, "InstanceId": host.host_id, "EventCount": event_count, **_host_fields(host)}


def event(view: DetectionView, lang: Lang) -> dict[str, Any]:
    d = view.detection
    details = [
        ("detail.virus_name", d.malware_name),
        ("detail.virus_type", d.malware_type),
        ("detail.file_path", d.file_path),
        ("detail.file_sha256", d.file_hash),
        ("detail.file_size", str(d.file_size)),
        ("detail.file_owner", d.file_owner),
        ("detail.file_mtime", str(d.file_mtime)),
    ]
    return {
        "EventId": d.id,
        "EventName": d.malware_name,
        "Level": EVENT_LEVEL[d.severity],
        "LastTimeStamp": d.occur_time,
        **_host_fields(view.host),
        "Details": [
            {"InfoType": "detail", "Type": "text", "NameDisplay": text(key, lang), "ValueDisplay": value}
            for key, value in details
        ],
    }
