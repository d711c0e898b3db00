"""a sweep's wanted hashes on its root task

Revision ID: 0010_sweep
Revises: 0009_lifecycle
Create Date: 2026-12-01 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_sweep"
down_revision = "0009_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("root_tasks") as batch:
        batch.add_column(sa.Column("sweep", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("root_tasks") as batch:
        batch.drop_column("sweep")
