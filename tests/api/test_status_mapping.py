"""Every row of docs/status-mapping.md is what the adapters really render, and every core state has a row."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetscan.api.alibaba import status as ali
from fleetscan.api.huawei import status as hw
from fleetscan.core.states import RootStatus, SubtaskStatus

DOC = Path(__file__).parents[2] / "docs" / "status-mapping.md"


def _table(heading: str) -> list[list[str]]:
    """The first table under a heading, without its header and rule lines."""
    lines = DOC.read_text().split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return block[2:]


SUBTASK_ROWS = _table("## Subtask")
ROOT_ROWS = _table("## Root task")


def test_every_state_has_a_row() -> None:
    assert [r[0] for r in SUBTASK_ROWS] == [s.value for s in SubtaskStatus]
    assert [r[0] for r in ROOT_ROWS] == [s.value for s in RootStatus]


@pytest.mark.parametrize("row", SUBTASK_ROWS, ids=[r[0] for r in SUBTASK_ROWS])
def test_subtask_row(row: list[str]) -> None:
    state = SubtaskStatus(row[0])
    assert ali.LIST_SUBTASK_STATUS.render(state) == int(row[1])
    assert hw.HOST_TASK_STATUS[state] == row[2]
    # and each filter value finds this state again
    assert state in ali.LIST_SUBTASK_STATUS.parse(int(row[1]))
    assert state in hw.subtask_statuses({row[2]})


@pytest.mark.parametrize("row", ROOT_ROWS, ids=[r[0] for r in ROOT_ROWS])
def test_root_row(row: list[str]) -> None:
    state = RootStatus(row[0])
    assert ali.LIST_ROOT_STATUS.render(state) == int(row[2])
    assert ali.LATEST_MAIN_STATUS.render(state) == int(row[3])
    assert ali.SCAN_TASK_PROGRESS.render(state) == row[4]
    assert hw.TASK_STATUS[state] == row[5]
    assert state in ali.LIST_ROOT_STATUS.parse(int(row[2]))
    assert state in hw.root_statuses({row[5]})
