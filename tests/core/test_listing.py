"""core.listing's rows read the values as each driver returns them: a unit test of pure logic."""

from __future__ import annotations

from dataclasses import fields

import pytest

from fleetscan.core.listing import TASK_ROOT_COUNTS, TaskHost, TaskRoot
from fleetscan.core.states import RootStatus, SubtaskCounts, SubtaskStatus

SKIPPED = [{"reason": "too_large", "count": 3, "examples": ["/a"]}]


def host(not_scanned: object, start: int | None = 1_000, end: int | None = None) -> TaskHost:
    return TaskHost(
        1,
        "s" * 32,
        "running",
        5,
        10,
        0,
        start,
        end,
        "",
        1,
        not_scanned,  # type: ignore[arg-type]
        "h",
        "n",
        "10.0.0.1",
        "",
        "common",
        "a",
        "Linux",
        "",
        "",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("stored", "seen"),
    [
        (None, []),
        ("null", []),
        ("[]", []),
        ([], []),
        ('[{"reason": "too_large", "count": 3, "examples": ["/a"]}]', SKIPPED),
        (SKIPPED, SKIPPED),
    ],
)
def test_not_scanned_as_sqlite3_and_psycopg_return_it(stored: object, seen: list[object]) -> None:
    assert host(stored).skipped == seen


def test_status_run_duration_and_counts() -> None:
    row = host(None, start=1_000, end=None)
    assert row.status is SubtaskStatus.RUNNING
    assert row.run_duration(now=11_500) == 10
    assert host(None, start=None).run_duration(now=11_500) == 0
    root = TaskRoot(
        1, "t", "n", "full", "user", "now", "manual", [], False, False, 0, None, "running", 0, 1, 2, 3, 4, 5, 6, 7
    )
    assert root.status is RootStatus.RUNNING
    assert root.counts == SubtaskCounts(1, 2, 3, 4, 5, 6, 7)
    assert tuple(f"n_{f.name}" for f in fields(SubtaskCounts)) == TASK_ROOT_COUNTS == TaskRoot._fields[-7:]
