"""Huawei HSS's two status vocabularies, as data, in both directions.

HSS shows a host's scan as `host_task_status` (scanning, success, fail, cancel) and a whole task as
`task_status` (scanning, finish, fail, cancel). fleetscan keeps one state machine (core.states); these
tables say how each core state is rendered, and which core states a filter value stands for. The reverse
tables are derived from the forward ones, so the two directions can never disagree. docs/status-mapping.md
is generated from `HOST_TASK_STATUS` and `TASK_STATUS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

from ...core.states import RootStatus, SubtaskStatus

__all__ = [
    "HOST_TASK_STATUS",
    "TASK_STATUS",
    "HOST_TASK_STATUS_FILTER",
    "HOST_TASK_STATUS_OF_VALUE",
    "TASK_STATUS_OF_VALUE",
    "TASK_STATUS_FILTER",
    "host_task_status",
    "task_status",
    "subtask_statuses",
    "root_statuses",
]

_S = SubtaskStatus
_R = RootStatus

HOST_TASK_STATUS: Mapping[SubtaskStatus, str] = MappingProxyType(
    {
        _S.PENDING: "scanning",
        _S.DISPATCHED: "scanning",
        _S.RUNNING: "scanning",
        _S.SUCCEEDED: "success",
        _S.FAILED: "fail",
        _S.TIMED_OUT: "fail",
        _S.CANCELLED: "cancel",
    }
)
"""Core subtask state -> `host_task_status` of AntiVirusTaskHostResponseInfo."""

TASK_STATUS: Mapping[RootStatus, str] = MappingProxyType(
    {
        _R.PENDING: "scanning",
        _R.RUNNING: "scanning",
        _R.SUCCEEDED: "finish",
        _R.FAILED: "fail",
        _R.TIMED_OUT: "fail",
        _R.CANCELLED: "cancel",
    }
)
"""Core root state -> `task_status` of AntiVirusTaskResponseInfo."""


K = TypeVar("K")
V = TypeVar("V")


def _invert(table: Mapping[K, V]) -> Mapping[V, frozenset[K]]:
    out: dict[V, set[K]] = {}
    for core, wire in table.items():
        out.setdefault(wire, set()).add(core)
    return MappingProxyType({wire: frozenset(cores) for wire, cores in out.items()})


HOST_TASK_STATUS_FILTER: Mapping[str, frozenset[SubtaskStatus]] = _invert(HOST_TASK_STATUS)
"""`host_task_status` filter value -> the core subtask states it selects."""

TASK_STATUS_FILTER: Mapping[str, frozenset[RootStatus]] = _invert(TASK_STATUS)
"""`task_status` filter value -> the core root states it selects."""


HOST_TASK_STATUS_OF_VALUE: Mapping[str, str] = {state.value: wire for state, wire in HOST_TASK_STATUS.items()}
"""The same, keyed by the stored state (core.listing rows keep it as stored): a plain dict, read per listed host."""

TASK_STATUS_OF_VALUE: Mapping[str, str] = {state.value: wire for state, wire in TASK_STATUS.items()}
"""`TASK_STATUS` keyed by the stored state."""


def host_task_status(status: SubtaskStatus) -> str:
    return HOST_TASK_STATUS[status]


def task_status(status: RootStatus) -> str:
    return TASK_STATUS[status]


def subtask_statuses(values: frozenset[str] | set[str]) -> frozenset[SubtaskStatus]:
    """The union of the core states behind some `host_task_status` values (already validated)."""
    return frozenset(s for v in values for s in HOST_TASK_STATUS_FILTER[v])


def root_statuses(values: frozenset[str] | set[str]) -> frozenset[RootStatus]:
    return frozenset(s for v in values for s in TASK_STATUS_FILTER[v])
