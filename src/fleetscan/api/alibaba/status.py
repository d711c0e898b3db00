"""Alibaba's status vocabularies as data: each is one table from a core state to a wire value.

The core has one state machine (SubtaskStatus, with RootStatus derived from it); Alibaba shows it
through four different vocabularies. Keeping them as tables, not as if-chains, lets the adapter
render (core → wire) and parse filters (wire → set of core states) from the same rows, and lets
docs/status-mapping.md be generated and tested row by row::

    from fleetscan.api.alibaba.status import VOCABULARIES
    for vocab in VOCABULARIES:
        for core_value, wire_value in vocab.rows():
            ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from ...core.states import RootStatus, SubtaskStatus

__all__ = [
    "VOCABULARIES",
    "Vocabulary",
    "LIST_SUBTASK_STATUS",
    "LIST_ROOT_STATUS",
    "LATEST_MAIN_STATUS",
    "SCAN_TASK_PROGRESS",
]

S = TypeVar("S", SubtaskStatus, RootStatus)
W = TypeVar("W", int, str)

_S = SubtaskStatus
_R = RootStatus


@dataclass(frozen=True)
class Vocabulary(Generic[S, W]):
    """One wire vocabulary: where it appears, and the wire value of every core state."""

    name: str
    operation: str
    field: str
    core: type[S]
    table: Mapping[S, W]

    def __post_init__(self) -> None:
        missing = set(self.core) - set(self.table)
        if missing:  # a new core state must be given a wire value here before it can ship
            raise ValueError(f"{self.name}: no wire value for {sorted(m.value for m in missing)}")

    def render(self, state: S) -> W:
        """The wire value of a core state."""
        return self.table[state]

    def parse(self, wire: W) -> frozenset[S]:
        """Every core state shown as `wire` (empty when the wire value is not in the vocabulary)."""
        return frozenset(state for state, value in self.table.items() if value == wire)

    def wire_values(self) -> list[W]:
        """The distinct wire values, in the order of the core states."""
        seen: list[W] = []
        for state in self.core:
            if self.table[state] not in seen:
                seen.append(self.table[state])
        return seen

    def rows(self) -> list[tuple[str, W]]:
        """(core state, wire value) for every core state, in the core's order: one row of the doc each."""
        return [(state.value, self.table[state]) for state in self.core]


LIST_SUBTASK_STATUS: Vocabulary[SubtaskStatus, int] = Vocabulary(
    "ListVirusScanTask Status (machine rows)",
    "ListVirusScanTask",
    "Status / StatusList.N",
    SubtaskStatus,
    {
        _S.PENDING: 1,
        _S.DISPATCHED: 1,
        _S.RUNNING: 1,
        _S.SUCCEEDED: 2,
        _S.FAILED: 3,
        _S.CANCELLED: 3,
        _S.TIMED_OUT: 4,
    },
)

LIST_ROOT_STATUS: Vocabulary[RootStatus, int] = Vocabulary(
    "ListVirusScanTask Status (root rows, RootTask=true)",
    "ListVirusScanTask",
    "Status / StatusList.N",
    RootStatus,
    {
        _R.PENDING: 1,
        _R.RUNNING: 1,
        _R.SUCCEEDED: 2,
        _R.FAILED: 3,
        _R.CANCELLED: 3,
        _R.TIMED_OUT: 4,
    },
)

LATEST_MAIN_STATUS: Vocabulary[RootStatus, int] = Vocabulary(
    "GetVirusScanLatestTaskStatistic Status (main task)",
    "GetVirusScanLatestTaskStatistic",
    "Data.Status",
    RootStatus,
    {
        _R.PENDING: 0,
        _R.RUNNING: 10,
        _R.SUCCEEDED: 100,
        _R.FAILED: 100,
        _R.TIMED_OUT: 100,
        _R.CANCELLED: 100,
    },
)

SCAN_TASK_PROGRESS: Vocabulary[RootStatus, str] = Vocabulary(
    "DescribeScanTaskProgress ScanTaskProgress",
    "DescribeScanTaskProgress",
    "ScanTaskProgress",
    RootStatus,
    {
        _R.PENDING: "init",
        _R.RUNNING: "Processing",
        _R.SUCCEEDED: "Success",
        _R.FAILED: "Failed",
        _R.TIMED_OUT: "Failed",
        _R.CANCELLED: "Failed",
    },
)

VOCABULARIES: tuple[Vocabulary[SubtaskStatus, int] | Vocabulary[RootStatus, int] | Vocabulary[RootStatus, str], ...] = (
    LIST_SUBTASK_STATUS,
    LIST_ROOT_STATUS,
    LATEST_MAIN_STATUS,
    SCAN_TASK_PROGRESS,
)
