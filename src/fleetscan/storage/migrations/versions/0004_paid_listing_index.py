"""index for listings filtered on paid (Huawei ListAntiVirusTask)

Revision ID: 0004_paid_listing_index
Revises: 0003_schedules
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_paid_listing_index"
down_revision = "0003_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("root_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_root_tasks_paid_listing", ["account_id", "project_id", "paid", "start_time", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("root_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_root_tasks_paid_listing")
