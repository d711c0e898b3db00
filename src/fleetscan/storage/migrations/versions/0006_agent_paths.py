"""exact file paths (bytes) beside their display form, a path digest as the findings' key, not-scanned counts

Revision ID: 0006_agent_paths
Revises: 0005_tenant_scope
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006_agent_paths"
down_revision = "0005_tenant_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subtasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_scanned", sa.JSON(), nullable=True))
    with op.batch_alter_table("agent_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_path_raw", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_path_raw", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("path_digest", sa.String(length=64), nullable=True))
    # Every stored path so far was valid UTF-8 text: its exact bytes are its UTF-8.
    conn = op.get_bind()
    found = sa.table(
        "detections",
        sa.column("id", sa.BigInteger()),
        sa.column("file_path", sa.Text()),
        sa.column("path_digest", sa.String(64)),
    )
    for pk, path in conn.execute(sa.select(found.c.id, found.c.file_path)).all():
        digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()
        conn.execute(sa.update(found).where(found.c.id == pk).values(path_digest=digest))
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.alter_column("path_digest", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_detections_finding", type_="unique")
        batch_op.create_unique_constraint(
            "uq_detections_finding", ["subtask_id", "path_digest", "file_hash", "malware_name"]
        )


def downgrade() -> None:
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_constraint("uq_detections_finding", type_="unique")
        batch_op.create_unique_constraint(
            "uq_detections_finding", ["subtask_id", "file_path", "file_hash", "malware_name"]
        )
        batch_op.drop_column("path_digest")
        batch_op.drop_column("file_path_raw")
    with op.batch_alter_table("agent_actions", schema=None) as batch_op:
        batch_op.drop_column("file_path_raw")
    with op.batch_alter_table("subtasks", schema=None) as batch_op:
        batch_op.drop_column("not_scanned")
