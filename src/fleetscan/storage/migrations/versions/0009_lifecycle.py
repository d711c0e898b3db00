"""when an agent said goodbye (a host stopped cleanly is offline at once); the md5 of a quarantined file

Revision ID: 0009_lifecycle
Revises: 0008_alerts
Create Date: 2026-12-01 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_lifecycle"
down_revision = "0008_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stopped_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("quarantined_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("md5", sa.String(length=32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("quarantined_files", schema=None) as batch_op:
        batch_op.drop_column("md5")
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("stopped_at")
