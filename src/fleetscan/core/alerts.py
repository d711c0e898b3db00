"""Alerts: one per host and file identity (exact path, SHA-256) and signature, across scans (docs/alerts.md).

A detection is one occurrence of an alert: what one subtask found. Counting alerts rather than detections is
what makes a fleet's numbers mean "infected files": a tree scanned twice holds as many alerts as infected files.
These are the pure rules; storage applies them inside the transaction of the report that brings the finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .handling import IsolateTag, Operation
from .models import Detection, HandleStatus, NotScanned, RootTask, ScanType


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    """One infected file of one host, as every scan that found it saw it; `task_ids` are those scans' root tasks,
    oldest first, and `file_path` the display form of its path."""

    host_pk: int
    file_path: str
    file_hash: str
    malware_name: str
    first_seen: int
    last_seen: int
    occurrences: int
    status: AlertStatus
    resolved_by_task: str | None
    resolved_at: int | None
    handle_status: HandleStatus
    handle_method: str
    task_ids: tuple[str, ...]
    id: int


def _under(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or inside it, for either separator (a scan path names a folder or a file)."""
    folder = folder.rstrip("/\\")
    if not folder:
        return True  # "/" (or "\\"): everything
    return path == folder or (path.startswith(folder) and path[len(folder)] in "/\\")


def covers(root: RootTask, file_path: str) -> bool:
    """Whether `root`'s scan looked at `file_path`, as far as the server can tell.

    A full scan covers every path, a custom scan the paths under its scan paths, both minus their ignore
    paths. A quick scan's folders are the agent's choice, and a scan limited to some file types may have
    skipped the file: neither covers anything, so neither resolves an alert. Nor does a sweep (core/sweep.py),
    which looked for its hashes alone.
    """
    if root.file_types or root.scan_type is ScanType.QUICK or root.sweep:
        return False
    if any(_under(file_path, p) for p in root.ignore_paths):
        return False
    return root.scan_type is ScanType.FULL or any(_under(file_path, p) for p in root.scan_paths)


def resolves(root: RootTask, file_path: str, handle_method: str, not_scanned: Sequence[NotScanned]) -> bool:
    """Whether a succeeded scan of `root` that did not find an open alert's file resolves the alert.

    It does when the scan covered the path, unless the alert is whitelisted (the agent skips such files on
    purpose, so not finding them says nothing) or the scan named the file among those it could not scan.
    """
    if handle_method == Operation.ADD_TO_ALARM_WHITELIST.value:
        return False
    if any(file_path in n.examples for n in not_scanned):
        return False
    return covers(root, file_path)


def reopened(found: Detection) -> Detection:
    """An occurrence of a resolved alert: its file is back at its path, so whatever held it in quarantine
    no longer does; any other handling (ignored, marked handled) still stands."""
    if found.isolate_tag != IsolateTag.NONE.value:
        found.handle_status, found.handle_method, found.isolate_tag = HandleStatus.UNHANDLED, "", IsolateTag.NONE.value
    return found
