"""Filters the adapters build from request parameters and storage turns into SQL.

Every field left at None filters nothing. Text fields match as substrings, as both consoles do.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import HandleStatus, Origin, Severity
from .states import RootStatus, SubtaskStatus


@dataclass(frozen=True)
class HostMatch:
    """Conditions on a subtask's host and state; a root task matches when any of its subtasks does."""

    host_name: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    host_id: str | None = None
    statuses: frozenset[SubtaskStatus] | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.host_name, self.private_ip, self.public_ip, self.host_id, self.statuses))


@dataclass(frozen=True)
class RootFilter:
    task_id: str | None = None
    name: str | None = None
    origins: frozenset[Origin] | None = None
    statuses: frozenset[RootStatus] | None = None
    start_from: int | None = None  # start_time >= start_from
    start_to: int | None = None  # start_time <= start_to
    paid: bool | None = None
    enterprise_project_id: str | None = None
    hosts: HostMatch = HostMatch()


@dataclass(frozen=True)
class SubtaskFilter:
    subtask_id: str | None = None
    root_task_id: str | None = None
    origins: frozenset[Origin] | None = None
    start_from: int | None = None
    start_to: int | None = None
    hosts: HostMatch = HostMatch()


@dataclass(frozen=True)
class HostFilter:
    host_id: str | None = None
    name: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    group_id: str | None = None
    remark: str | None = None  # Alibaba's Remark: name or either IP
    enterprise_project_id: str | None = None
    host_ids: frozenset[str] | None = None  # one of these (e.g. the hosts a policy scans)


@dataclass(frozen=True)
class DetectionFilter:
    root_task_id: str | None = None
    task_name: str | None = None
    host_id: str | None = None
    host_name: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    handle_status: HandleStatus | None = None
    severities: frozenset[Severity] | None = None
    malware_name: str | None = None
    file_path: str | None = None
    file_hashes: frozenset[str] | None = None
    result_ids: frozenset[str] | None = None
    enterprise_project_id: str | None = None
    asset_value: str | None = None  # the host's
    isolate_tags: frozenset[str] | None = None


@dataclass(frozen=True)
class Page:
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class Statistics:
    """A project's numbers at a glance; each dialect names them its own way (HSS: ShowAntivirusStatistic)."""

    open_alerts: int  # alerts, not occurrences: one per infected file (docs/alerts.md)
    infected_hosts: int  # hosts with an open alert
    tasks: int
    scanning_tasks: int  # pending or running, for the caller's hosts
    latest_scan_time: int  # the newest task's start, 0 when there is none
