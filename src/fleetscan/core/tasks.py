"""Pure rules for scan tasks: how one is planned, and how each event changes a subtask.

No storage here: storage applies these functions under its own lock (Storage.change_subtask),
so the rules run once, whichever server replica received the event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import ids
from .errors import InvalidParameter
from .models import (
    Action,
    Detection,
    Host,
    NotScanned,
    Origin,
    RootTask,
    ScanType,
    Scope,
    StartType,
    Subtask,
    Target,
    merge_not_scanned,
)
from .states import SubtaskStatus, check_transition
from .sweep import SweepHash


@dataclass(frozen=True)
class TaskRequest:
    """Everything a caller of either dialect can ask of a new scan task."""

    name: str
    scan_type: ScanType
    host_ids: Sequence[str] = ()
    group_ids: Sequence[str] = ()
    targets: Sequence[Target] = ()
    origin: Origin = Origin.USER
    start_type: StartType = StartType.NOW
    action: Action = Action.MANUAL
    scan_paths: Sequence[str] = ()
    ignore_paths: Sequence[str] = ()
    file_types: Sequence[int] = ()
    paid: bool = False
    client_token: str | None = None
    enterprise_project_id: str | None = None
    start_at: int | None = None
    rescan_of: str | None = None
    sweep: Sequence[SweepHash] = ()
    """Hashes to sweep the hosts for (core/sweep.py): a hash-only scan."""


@dataclass(frozen=True)
class Counters:
    """What an agent reports about a scan in flight."""

    files_scanned: int = 0
    bytes_scanned: int = 0
    files_total: int = 0
    progress: int = 0
    checkpoint: str = ""
    not_scanned: tuple[NotScanned, ...] = ()


@dataclass(frozen=True)
class ReportOutcome:
    """What applying an agent's report did; `duplicate` when its idempotency key was seen before."""

    subtask: Subtask
    duplicate: bool
    detections_added: int


@dataclass(frozen=True)
class SubtaskReport:
    """One agent report as storage applies it (`TaskStore.change_subtasks`): `change` (one of this module's rules)
    applied to the subtask under its lock, unless `report` (host pk, idempotency key) was seen before."""

    subtask_pk: int
    change: Callable[[Subtask], Subtask]
    report: tuple[int, str]
    detections: Sequence[Detection] = ()
    reported_at: int | None = None
    quarantined: Sequence[tuple[Detection, dict[str, Any]]] = ()
    """The findings an `auto` task's agent quarantined itself, with its facts."""
    may_succeed: bool = False
    """`change` may end the subtask succeeded (a completion): storage reads what that resolves (the host's open
    alerts) together with the lock, not in another round trip while the task is locked."""


@dataclass(frozen=True)
class AgentReport:
    """A report as an agent sent it, its subtask found to be its host's (`ControlPlane.report_many`)."""

    host: Host
    subtask_pk: int
    report_key: str
    counters: Counters
    detections: Sequence[Detection] = ()
    finished: bool = False
    succeeded: bool = True
    reason: str = ""
    quarantined: Sequence[tuple[Detection, dict[str, Any]]] = ()


@dataclass
class Plan:
    root: RootTask
    subtasks: list[Subtask] = field(default_factory=list)
    missing_host_ids: list[str] = field(default_factory=list)


def no_hosts() -> InvalidParameter:
    """A task or a schedule that names hosts, none of which exists (or is the caller's)."""
    return InvalidParameter("host_ids", "none of the target hosts exists")


def plan_task(scope: Scope, request: TaskRequest, hosts: Sequence[Host], now: int) -> Plan:
    """Turn a request and the hosts it resolved to into a root task and one subtask per host."""
    known = {h.host_id for h in hosts}
    missing = [h for h in request.host_ids if h not in known]
    if not hosts:
        raise no_hosts()
    for host in hosts:
        if not scope.allows(host.enterprise_project_id):
            raise InvalidParameter("host_ids", f"host {host.host_id} is not in a granted enterprise project")
    eps = request.enterprise_project_id or scope.enterprise_project_of(hosts)  # a label: rows go by their hosts
    root = RootTask(
        task_id=ids.hex_id(),
        account_id=scope.account_id,
        project_id=scope.project_id,
        name=request.name,
        scan_type=request.scan_type,
        origin=request.origin,
        start_type=request.start_type,
        action=request.action,
        enterprise_project_id=eps,
        scan_paths=list(request.scan_paths),
        ignore_paths=list(request.ignore_paths),
        file_types=list(request.file_types),
        targets=list(request.targets) or [Target("uuid", h.host_id, h.name) for h in hosts],
        paid=request.paid,
        rescan=request.rescan_of is not None,
        rescan_of=request.rescan_of,
        client_token=request.client_token,
        created_at=now,
        start_time=request.start_at or now,
        sweep=list(request.sweep),
    )
    subs = [
        Subtask(subtask_id=ids.hex_id(), root_id=0, host_pk=h.id, using_quota=request.paid, updated_at=now)
        for h in hosts
    ]
    return Plan(root, subs, missing)


def dispatch(sub: Subtask, now: int) -> Subtask:
    if sub.status is not SubtaskStatus.PENDING:
        return sub
    check_transition(sub.status, SubtaskStatus.DISPATCHED)
    return replace(sub, status=SubtaskStatus.DISPATCHED, updated_at=now)


def _merge(sub: Subtask, counters: Counters, now: int) -> Subtask:
    """Counters only grow: a retried or reordered report never moves progress backwards."""
    return replace(
        sub,
        files_scanned=max(sub.files_scanned, counters.files_scanned),
        bytes_scanned=max(sub.bytes_scanned, counters.bytes_scanned),
        files_total=max(sub.files_total, counters.files_total),
        progress=min(100, max(sub.progress, counters.progress)),
        checkpoint=counters.checkpoint or sub.checkpoint,
        not_scanned=merge_not_scanned(sub.not_scanned, counters.not_scanned),
        updated_at=now,
    )


def _late(sub: Subtask, counters: Counters, now: int) -> Subtask:
    """A report that arrives after the subtask ended (cancelled, timed out): its detections are kept, so its
    counters are too, or a task would show viruses in files it never scanned. The state and times stay."""
    return _merge(sub, counters, now)


def progress(sub: Subtask, counters: Counters, now: int) -> Subtask:
    if sub.status.terminal:
        return _late(sub, counters, now)
    check_transition(sub.status, SubtaskStatus.RUNNING)
    started = sub.start_time if sub.start_time is not None else now
    return replace(_merge(sub, counters, now), status=SubtaskStatus.RUNNING, start_time=started)


def finish(sub: Subtask, succeeded: bool, reason: str, counters: Counters, now: int) -> Subtask:
    """End a subtask as its agent reported. `reason` is at most 512 characters (`subtasks.fail_reason`): the
    agent protocol refuses a longer one, and storage's validation layer refuses it rather than cut it."""
    if sub.status.terminal:
        return _late(sub, counters, now)
    target = SubtaskStatus.SUCCEEDED if succeeded else SubtaskStatus.FAILED
    check_transition(sub.status, target)
    merged = _merge(sub, counters, now)
    return replace(
        merged,
        status=target,
        progress=100 if succeeded else merged.progress,
        start_time=sub.start_time if sub.start_time is not None else now,
        end_time=now,
        fail_reason="" if succeeded else reason,
    )


def cancel(sub: Subtask, now: int) -> Subtask:
    if sub.status.terminal:
        return sub
    check_transition(sub.status, SubtaskStatus.CANCELLED)
    return replace(sub, status=SubtaskStatus.CANCELLED, cancel_requested=True, end_time=now, updated_at=now)


def expire(sub: Subtask, timed_out: bool, reason: str, now: int) -> Subtask:
    """End a subtask whose agent went silent (failed) or that outlived its time limit (timed out).

    `reason` is the sweeper's own short sentence; like every fail_reason it must fit 512 characters.
    """
    if sub.status.terminal:
        return sub
    target = SubtaskStatus.TIMED_OUT if timed_out else SubtaskStatus.FAILED
    check_transition(sub.status, target)
    return replace(sub, status=target, end_time=now, updated_at=now, fail_reason=reason)
