"""The one state machine: every edge allowed, every other refused, root status derived from counts."""

from __future__ import annotations

import itertools

import pytest

from fleetscan.core.errors import IllegalTransition
from fleetscan.core.states import (
    TERMINAL,
    TRANSITIONS,
    RootStatus,
    SubtaskCounts,
    SubtaskStatus,
    check_transition,
    root_status,
)

S = SubtaskStatus


@pytest.mark.parametrize("current,target", list(itertools.product(S, S)))
def test_transition_table_is_enforced(current: S, target: S) -> None:
    allowed = target in TRANSITIONS[current] or (current == target and current not in TERMINAL)
    if allowed:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, target)
        assert info.value.current == current.value and info.value.target == target.value


def test_terminal_states_have_no_way_out() -> None:
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()
        assert state.terminal


@pytest.mark.parametrize(
    "counts,expected",
    [
        (SubtaskCounts(pending=3), RootStatus.PENDING),
        (SubtaskCounts(pending=2, dispatched=1), RootStatus.RUNNING),
        (SubtaskCounts(pending=1, succeeded=1), RootStatus.RUNNING),
        (SubtaskCounts(running=1, failed=2), RootStatus.RUNNING),
        (SubtaskCounts(succeeded=1, failed=2), RootStatus.SUCCEEDED),
        (SubtaskCounts(succeeded=1, cancelled=1), RootStatus.SUCCEEDED),
        (SubtaskCounts(failed=2, timed_out=1), RootStatus.TIMED_OUT),
        (SubtaskCounts(failed=2, cancelled=1), RootStatus.FAILED),
        (SubtaskCounts(cancelled=3), RootStatus.CANCELLED),
        (SubtaskCounts(), RootStatus.SUCCEEDED),
    ],
)
def test_root_status_is_derived_from_subtask_counts(counts: SubtaskCounts, expected: RootStatus) -> None:
    assert root_status(counts) is expected


def test_counts_from_mapping() -> None:
    counts = SubtaskCounts.of({S.RUNNING: 2, S.SUCCEEDED: 1})
    assert (counts.total, counts.finished, counts.unfinished) == (3, 1, 2)


def test_summarize_is_the_root_totals_rule() -> None:
    from fleetscan.core.states import StatusGroup, summarize

    empty = summarize(())
    assert (empty.status, empty.progress, empty.end_time) == (RootStatus.SUCCEEDED, 100, None)
    running = summarize([StatusGroup(S.RUNNING, 1, 40, 10, 1, None), StatusGroup(S.SUCCEEDED, 1, 100, 5, 0, 7)])
    assert (running.status, running.progress, running.files_scanned, running.end_time) == (
        RootStatus.RUNNING,
        70,
        15,
        None,
    )
    # a cancelled host counts what it scanned; the root ends at its last host's end
    ended = summarize([StatusGroup(S.CANCELLED, 1, 30, 0, 0, 9), StatusGroup(S.FAILED, 1, 10, 0, 0, 5)])
    assert (ended.status, ended.progress, ended.end_time) == (RootStatus.FAILED, 65, 9)
