"""Rows to dataclasses and back: the only place that knows both shapes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from ..core.models import (
    AccessKey,
    Action,
    Credential,
    Detection,
    HandleStatus,
    Host,
    NotScanned,
    Origin,
    RootTask,
    ScanType,
    Scope,
    Severity,
    StartType,
    Subtask,
    Target,
)
from ..core.schedules import CycleRule, PolicyRule, Schedule, ScheduleKind, TaskTemplate
from ..core.states import RootStatus, SubtaskCounts, SubtaskStatus
from ..core.sweep import SweepHash

Row = Mapping[Any, Any]


def scope_of(row: Row) -> Scope:
    eps = row["enterprise_project_ids"]
    return Scope(row["account_id"], row["project_id"], None if eps is None else frozenset(eps))


def access_key(row: Row) -> AccessKey:
    return AccessKey(row["access_key_id"], row["secret"], scope_of(row), row["created_at"])


def credential(row: Row) -> Credential:
    return Credential(
        row["token_hash"], scope_of(row), row["expires_at"], row["group_id"], row["enterprise_project_id"]
    )


def host(row: Row, prefix: str = "") -> Host:
    values = {name: row[prefix + name] for name in HOST_COLUMNS}
    # Written by reports, never at enrollment (core/signature_sets.py): not among the columns an insert writes.
    return Host(**values, signature_version=row.get(prefix + "signature_version"))


HOST_COLUMNS = (
    "host_id account_id project_id name enterprise_project_id group_id private_ip public_ip os_type os_name "
    "os_version agent_id agent_version asset_value last_seen stopped_at created_at id"
).split()


def root(row: Row) -> RootTask:
    counts = SubtaskCounts.of({status: row[f"n_{status.value}"] for status in SubtaskStatus})
    return RootTask(
        task_id=row["task_id"],
        account_id=row["account_id"],
        project_id=row["project_id"],
        name=row["name"],
        scan_type=ScanType(row["scan_type"]),
        origin=Origin(row["origin"]),
        start_type=StartType(row["start_type"]),
        action=Action(row["action"]),
        enterprise_project_id=row["enterprise_project_id"],
        scan_paths=list(row["scan_paths"]),
        ignore_paths=list(row["ignore_paths"]),
        file_types=list(row["file_types"]),
        targets=[Target(t["type"], t["target"], t.get("name", "")) for t in row["targets"]],
        paid=bool(row["paid"]),
        rescan=bool(row["rescan"]),
        rescan_of=row["rescan_of"],
        client_token=row["client_token"],
        created_at=row["created_at"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        status=RootStatus(row["status"]),
        counts=counts,
        progress=row["progress"],
        files_scanned=row["files_scanned"],
        viruses_found=row["viruses_found"],
        id=row["id"],
        sweep=[SweepHash(h["sha256"], h.get("size")) for h in row["sweep"] or ()],
    )


def root_values(task: RootTask) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "account_id": task.account_id,
        "project_id": task.project_id,
        "enterprise_project_id": task.enterprise_project_id,
        "name": task.name,
        "scan_type": task.scan_type.value,
        "origin": task.origin.value,
        "start_type": task.start_type.value,
        "action": task.action.value,
        "scan_paths": task.scan_paths,
        "ignore_paths": task.ignore_paths,
        "file_types": task.file_types,
        "targets": [{"type": t.type, "target": t.target, "name": t.name} for t in task.targets],
        "paid": task.paid,
        "rescan": task.rescan,
        "rescan_of": task.rescan_of,
        "client_token": task.client_token,
        "sweep": [{"sha256": h.sha256, "size": h.size} for h in task.sweep] or None,
        "created_at": task.created_at,
        "start_time": task.start_time,
        "end_time": task.end_time,
        "status": task.status.value,
        **counts_values(task.counts),
        "progress": task.progress,
        "files_scanned": task.files_scanned,
        "viruses_found": task.viruses_found,
    }


def counts_values(counts: SubtaskCounts) -> dict[str, int]:
    return {f"n_{status.value}": getattr(counts, status.value) for status in SubtaskStatus}


SUBTASK_FIELDS = (
    "subtask_id root_id host_pk status progress files_scanned bytes_scanned files_total viruses_found start_time "
    "end_time fail_reason using_quota cancel_requested checkpoint updated_at"
).split()


def subtask(row: Row, prefix: str = "") -> Subtask:
    values = {name: row[prefix + name] for name in SUBTASK_FIELDS}
    values["status"] = SubtaskStatus(values["status"])
    values["using_quota"] = bool(values["using_quota"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    skipped = row.get(prefix + "not_scanned") or []
    values["not_scanned"] = tuple(NotScanned(n["reason"], int(n["count"]), tuple(n["examples"])) for n in skipped)
    return Subtask(**values, id=row[prefix + "id"])


def subtask_values(task: Subtask) -> dict[str, Any]:
    values = {name: getattr(task, name) for name in SUBTASK_FIELDS}
    values["status"] = task.status.value
    values["not_scanned"] = [
        {"reason": n.reason, "count": n.count, "examples": list(n.examples)} for n in task.not_scanned
    ] or None
    return values


DETECTION_FIELDS = (
    "result_id root_id subtask_id host_pk malware_name malware_type severity file_path file_hash file_size "
    "file_owner file_attr file_ctime file_mtime offset occur_time handle_status handle_method memo isolate_tag "
    "event_type file_path_raw signature_version alert_id"
).split()


def detection(row: Row) -> Detection:
    values = {name: row[name] for name in DETECTION_FIELDS}
    values["severity"] = Severity(values["severity"])
    values["handle_status"] = HandleStatus(values["handle_status"])
    return Detection(**values, id=row["id"])


def detection_values(found: Detection) -> dict[str, Any]:
    values = {name: getattr(found, name) for name in DETECTION_FIELDS}
    values["severity"] = found.severity.value
    values["handle_status"] = found.handle_status.value
    values["path_digest"] = path_digest(found.exact_path)
    return values


def path_digest(exact: bytes) -> str:
    """The key a finding is stored once under: the sha256 of its exact path (any length fits an index)."""
    return hashlib.sha256(exact).hexdigest()


def _rule_values(rule: PolicyRule | CycleRule) -> dict[str, Any]:
    if isinstance(rule, PolicyRule):
        return {"type": "policy", **asdict(rule), "start_type": rule.start_type.value}
    return {"type": "cycle", **asdict(rule)}


def _rule(values: Mapping[str, Any]) -> PolicyRule | CycleRule:
    fields = {k: v for k, v in values.items() if k != "type"}
    if values["type"] == "policy":
        return PolicyRule(**{**fields, "start_type": StartType(fields["start_type"])})
    return CycleRule(**fields)


def _template_values(template: TaskTemplate) -> dict[str, Any]:
    values = asdict(template)
    values["scan_type"] = template.scan_type.value
    values["action"] = template.action.value
    values["targets"] = [{"type": t.type, "target": t.target, "name": t.name} for t in template.targets]
    return values


def _template(values: Mapping[str, Any]) -> TaskTemplate:
    return TaskTemplate(
        scan_type=ScanType(values["scan_type"]),
        action=Action(values["action"]),
        scan_paths=tuple(values["scan_paths"]),
        ignore_paths=tuple(values["ignore_paths"]),
        file_types=tuple(values["file_types"]),
        paid=bool(values["paid"]),
        host_ids=tuple(values["host_ids"]),
        group_ids=tuple(values["group_ids"]),
        targets=tuple(Target(t["type"], t["target"], t.get("name", "")) for t in values["targets"]),
        all_hosts=bool(values["all_hosts"]),
    )


def schedule(row: Row) -> Schedule:
    eps = row["enterprise_project_ids"]
    return Schedule(
        schedule_id=row["schedule_id"],
        kind=ScheduleKind(row["kind"]),
        account_id=row["account_id"],
        project_id=row["project_id"],
        name=row["name"],
        rule=_rule(row["rule"]),
        template=_template(row["template"]),
        enterprise_project_id=row["enterprise_project_id"],
        enterprise_project_ids=None if eps is None else frozenset(eps),
        enabled=bool(row["enabled"]),
        next_fire_at=row["next_fire_at"],
        last_fired_at=row["last_fired_at"],
        last_task_id=row["last_task_id"],
        client_token=row["client_token"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        id=row["id"],
    )


def schedule_values(item: Schedule) -> dict[str, Any]:
    eps = item.enterprise_project_ids
    return {
        "schedule_id": item.schedule_id,
        "kind": item.kind.value,
        "account_id": item.account_id,
        "project_id": item.project_id,
        "enterprise_project_id": item.enterprise_project_id,
        "enterprise_project_ids": None if eps is None else sorted(eps),
        "name": item.name,
        "rule": _rule_values(item.rule),
        "template": _template_values(item.template),
        "enabled": item.enabled,
        "next_fire_at": item.next_fire_at,
        "last_fired_at": item.last_fired_at,
        "last_task_id": item.last_task_id,
        "client_token": item.client_token,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }
