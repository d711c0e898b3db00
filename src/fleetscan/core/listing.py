"""Listing rows: the columns the cloud listings render, as tuples straight from SQL.

A listing page is hundreds to thousands of rows rendered once and thrown away. Building a `RootTask`,
`Subtask` and `Host` for each row (every column, JSON decoded, enums and nested dataclasses made) cost
more than the query itself (bench/api_list.py), so the listings read these instead: one named tuple per
row, made from the SQL row without a per-field step, holding only what either dialect shows. The
dataclasses stay the model for everything that decides or writes.

Values are kept as the driver returns them, so that building a row costs one tuple and no per-value call:
statuses as stored (the enums' values, read as enums through properties), `using_quota` as 0/1 or a bool,
and `not_scanned` as its JSON (a list from psycopg, text from sqlite3; null when the scan skipped nothing),
decoded by `skipped` only where a scan did skip files.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, NamedTuple

from .states import RootStatus, SubtaskCounts, SubtaskStatus


class TaskRoot(NamedTuple):
    """A root task as both dialects list it (HSS ListAntiVirusTask, Sas ListVirusScanTask RootTask=true)."""

    id: int
    task_id: str
    name: str
    scan_type: str
    origin: str
    start_type: str
    action: str
    scan_paths: list[str]
    paid: bool
    rescan: bool
    start_time: int
    end_time: int | None
    status_value: str
    progress: int
    n_pending: int
    n_dispatched: int
    n_running: int
    n_succeeded: int
    n_failed: int
    n_timed_out: int
    n_cancelled: int

    @property
    def status(self) -> RootStatus:
        return RootStatus(self.status_value)

    @property
    def counts(self) -> SubtaskCounts:
        return SubtaskCounts(*self[-7:])


TASK_ROOT_COUNTS = tuple(f"n_{status.value}" for status in SubtaskStatus)
assert TASK_ROOT_COUNTS == TaskRoot._fields[-7:], "TaskRoot's counts follow SubtaskStatus"
assert tuple(f"n_{f.name}" for f in fields(SubtaskCounts)) == TASK_ROOT_COUNTS, "and so do SubtaskCounts' fields"


class TaskHost(NamedTuple):
    """A host's part in a task: HSS `host_info_list` items and Sas machine rows (`start_time` is the subtask's)."""

    root_id: int
    subtask_id: str
    status_value: str
    progress: int
    files_scanned: int
    viruses_found: int
    start_time: int | None
    end_time: int | None
    fail_reason: str
    using_quota: int
    not_scanned: list[dict[str, Any]] | str | None
    host_id: str
    name: str
    private_ip: str
    public_ip: str
    asset_value: str
    agent_id: str
    os_type: str
    os_name: str
    os_version: str
    last_seen: int | None
    stopped_at: int | None

    @property
    def status(self) -> SubtaskStatus:
        return SubtaskStatus(self.status_value)

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """The files not scanned, by reason: `[{"reason", "count", "examples"}]` (core.models.NotScanned)."""
        found = self.not_scanned
        if found is None or found == "null":  # SQL NULL, or the JSON null SQLite keeps as text
            return []
        items: list[dict[str, Any]] | None = json.loads(found) if isinstance(found, str) else found
        return items or []

    def run_duration(self, now: int) -> int:
        """Seconds spent scanning: until the end, or until now while it runs (as `Subtask.run_duration`)."""
        if self.start_time is None:
            return 0
        return max(0, ((self.end_time or now) - self.start_time) // 1000)


class MachineRow(NamedTuple):
    """A Sas machine row (ListVirusScanTask without RootTask): a host's part, and what it shows of its task."""

    host: TaskHost
    origin: str
    scan_paths: list[str]
    root_start_time: int


class TaskPage(NamedTuple):
    """A page of root tasks, the total that matched, and (when asked) each one's hosts by root id."""

    total: int
    roots: list[TaskRoot]
    hosts: dict[int, list[TaskHost]]
