"""signature sets managed by the server: versions, their files, contents by sha256; the version each detection
was found with and each host last scanned with

Revision ID: 0007_signature_sets
Revises: 0006_agent_paths
Create Date: 2026-12-01 20:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_signature_sets"
down_revision = "0006_agent_paths"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signature_versions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_signature_versions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_versions")),
        sa.UniqueConstraint("account_id", "project_id", "version", name="uq_signature_versions_version"),
    )
    op.create_table(
        "signature_files",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("version_pk", _ID, nullable=False),
        sa.Column("set_name", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_pk"], ["signature_versions.id"], name=op.f("fk_signature_files_version_pk_signature_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_files")),
    )
    op.create_index("ix_signature_files_version", "signature_files", ["version_pk"], unique=False)
    op.create_table(
        "signature_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_signature_blobs")),
    )
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("signature_version")
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_column("signature_version")
    op.drop_table("signature_blobs")
    op.drop_index("ix_signature_files_version", table_name="signature_files")
    op.drop_table("signature_files")
    op.drop_table("signature_versions")
