"""One state machine for host subtasks; a root task's state is derived from its subtasks.

Every status vocabulary of both clouds (Alibaba's 1/2/3/4, 0/10/100,
init/Processing/Success/Failed; Huawei's task_status and host_task_status) is a rendering of
these states, done in the API adapters. See docs/status-mapping.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .errors import IllegalTransition


class SubtaskStatus(StrEnum):
    PENDING = "pending"  # created, not yet handed to the agent
    DISPATCHED = "dispatched"  # the agent has taken it (Alibaba: "scan script sent")
    RUNNING = "running"  # the agent reported it is scanning
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: frozenset[SubtaskStatus] = frozenset(
    {SubtaskStatus.SUCCEEDED, SubtaskStatus.FAILED, SubtaskStatus.TIMED_OUT, SubtaskStatus.CANCELLED}
)
ACTIVE: frozenset[SubtaskStatus] = frozenset(set(SubtaskStatus) - TERMINAL)

_S = SubtaskStatus
TRANSITIONS: Mapping[SubtaskStatus, frozenset[SubtaskStatus]] = {
    _S.PENDING: frozenset({_S.DISPATCHED, _S.RUNNING, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED}),
    # An agent that restarts may take a dispatched subtask again, or report straight to the end.
    _S.DISPATCHED: frozenset({_S.RUNNING, _S.SUCCEEDED, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED}),
    _S.RUNNING: frozenset({_S.SUCCEEDED, _S.FAILED, _S.TIMED_OUT, _S.CANCELLED}),
    _S.SUCCEEDED: frozenset(),
    _S.FAILED: frozenset(),
    _S.TIMED_OUT: frozenset(),
    _S.CANCELLED: frozenset(),
}


def check_transition(current: SubtaskStatus, target: SubtaskStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is an edge of the machine.

    Staying in the same non-terminal state is allowed (a progress report while running).
    """
    if current == target and not current.terminal:
        return
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current.value, target.value)


class RootStatus(StrEnum):
    PENDING = "pending"  # no host has started
    RUNNING = "running"  # some host has started, some host has not finished
    SUCCEEDED = "succeeded"  # every host finished, at least one succeeded
    FAILED = "failed"  # every host finished, none succeeded, none timed out
    TIMED_OUT = "timed_out"  # every host finished, none succeeded, some timed out
    CANCELLED = "cancelled"  # every host was cancelled

    @property
    def terminal(self) -> bool:
        return self not in (RootStatus.PENDING, RootStatus.RUNNING)


@dataclass(frozen=True)
class SubtaskCounts:
    """How many of a root task's subtasks are in each state: all a root's status depends on."""

    pending: int = 0
    dispatched: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, statuses: Mapping[SubtaskStatus, int]) -> SubtaskCounts:
        return cls(**{status.value: statuses.get(status, 0) for status in SubtaskStatus})

    @property
    def total(self) -> int:
        return (
            self.pending
            + self.dispatched
            + self.running
            + self.succeeded
            + self.failed
            + self.timed_out
            + self.cancelled
        )

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.timed_out + self.cancelled

    @property
    def unfinished(self) -> int:
        return self.total - self.finished


def root_status(counts: SubtaskCounts) -> RootStatus:
    if counts.total == 0 or counts.pending == counts.total:
        return RootStatus.PENDING if counts.total else RootStatus.SUCCEEDED
    if counts.unfinished:
        return RootStatus.RUNNING
    if counts.succeeded:
        return RootStatus.SUCCEEDED
    if counts.cancelled == counts.total:
        return RootStatus.CANCELLED
    if counts.timed_out:
        return RootStatus.TIMED_OUT
    return RootStatus.FAILED


@dataclass(frozen=True)
class StatusGroup:
    """A root's subtasks in one status, summed: the one thing storage reads to total a root."""

    status: SubtaskStatus
    count: int
    progress: int = 0
    files_scanned: int = 0
    viruses_found: int = 0
    end_time: int | None = None


@dataclass(frozen=True)
class RootTotals:
    """A root task's state and totals, derived from its subtasks (or from those a caller may see)."""

    counts: SubtaskCounts
    status: RootStatus
    progress: int
    files_scanned: int
    viruses_found: int
    end_time: int | None


def _done(status: SubtaskStatus) -> bool:
    """An ended host counts 100 towards its root's progress, except a cancelled one (what it scanned)."""
    return status in TERMINAL and status is not SubtaskStatus.CANCELLED


@dataclass(frozen=True)
class Tally:
    """What `summarize` needs of a root's subtasks, kept with the root so that a report moves it by the one subtask
    it changed instead of recounting them all. `summarize(tally.groups())` is the root's totals."""

    per_status: Mapping[SubtaskStatus, int]
    open_progress: int  # the progress summed over subtasks that do not count as done (see _done)
    files_scanned: int
    viruses_found: int
    last_end: int | None

    @classmethod
    def of(cls, groups: Iterable[StatusGroup]) -> Tally:
        empty = cls({}, 0, 0, 0, None)
        return empty.moved(None, *groups)

    def moved(self, before: StatusGroup | None, *after: StatusGroup) -> Tally:
        """The tally with `before` (one subtask as it was, if it was counted) taken out and `after` put in. End
        times only ever get set, so the last end is the latest seen."""
        per_status = dict(self.per_status)
        open_progress, files, viruses, last_end = (
            self.open_progress,
            self.files_scanned,
            self.viruses_found,
            self.last_end,
        )
        for sign, group in [(-1, before)] + [(1, g) for g in after]:
            if group is None:
                continue
            per_status[group.status] = per_status.get(group.status, 0) + sign * group.count
            open_progress += 0 if _done(group.status) else sign * group.progress
            files += sign * group.files_scanned
            viruses += sign * group.viruses_found
            if sign > 0 and group.end_time is not None:
                last_end = max(last_end or 0, group.end_time)
        return Tally({k: v for k, v in per_status.items() if v}, open_progress, files, viruses, last_end)

    def groups(self) -> list[StatusGroup]:
        """The tally as groups for `summarize`: one per status, the sums carried by an empty open group."""
        carrier = StatusGroup(
            SubtaskStatus.PENDING, 0, self.open_progress, self.files_scanned, self.viruses_found, self.last_end
        )
        return [StatusGroup(status, n) for status, n in self.per_status.items()] + [carrier]


def summarize(groups: Iterable[StatusGroup]) -> RootTotals:
    """The one rule for a root's totals: storage only reads the groups and writes what this returns.

    An ended host counts as done (100), except a cancelled one: it counts what it scanned before it
    stopped. A root without subtasks has nothing left to do (100). Its end time is its last host's end,
    once it has ended.
    """
    per_status: dict[SubtaskStatus, int] = {}
    progress_sum = files = viruses = 0
    last_end: int | None = None
    for group in groups:
        per_status[group.status] = per_status.get(group.status, 0) + group.count
        progress_sum += group.count * 100 if _done(group.status) else group.progress
        files += group.files_scanned
        viruses += group.viruses_found
        if group.end_time is not None:
            last_end = max(last_end or 0, group.end_time)
    counts = SubtaskCounts.of(per_status)
    status = root_status(counts)
    progress = progress_sum // counts.total if counts.total else 100
    return RootTotals(counts, status, progress, files, viruses, last_end if status.terminal else None)
