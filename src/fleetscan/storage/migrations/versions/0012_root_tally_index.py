"""the root tasks' state and subtask counts in one narrow index, for the fleet's gauges (/metrics)

A scrape sums every root task's subtask counts and finds the tasks not yet ended. A root task's row is wide (its
targets, paths, sweep), so on SQLite a scan of the table reads overflow pages for every row: 0.5 s at 20,000
tasks of 50 hosts. From this covering index it is one narrow scan (25 ms), and a task's counts change only when a
subtask changes state, never on a progress report.

Revision ID: 0012_root_tally_index
Revises: 0011_root_tally
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0012_root_tally_index"
down_revision = "0011_root_tally"
branch_labels = None
depends_on = None

COLUMNS = ["status", *(f"n_{s}" for s in "pending dispatched running succeeded failed timed_out cancelled".split())]


def upgrade() -> None:
    op.create_index("ix_root_tasks_tally", "root_tasks", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_root_tasks_tally", "root_tasks")
