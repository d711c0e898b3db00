"""a root task's tally (core.states.Tally): its totals moved by each report instead of recounted

Revision ID: 0011_root_tally
Revises: 0010_sweep
Create Date: 2026-12-01 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_root_tally"
down_revision = "0010_sweep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Left NULL on existing roots: the first change of each recounts its subtasks and fills them.
    with op.batch_alter_table("root_tasks") as batch:
        batch.add_column(sa.Column("open_progress", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_end", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("root_tasks") as batch:
        batch.drop_column("last_end")
        batch.drop_column("open_progress")
