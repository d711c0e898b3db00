"""alerts: one per host, exact path, SHA-256 and signature across scans; detections become their occurrences

Revision ID: 0008_alerts
Revises: 0007_signature_sets
Create Date: 2026-12-01 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_alerts"
down_revision = "0007_signature_sets"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
IDENTITY = ("host_pk", "path_digest", "file_hash", "malware_name")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("host_pk", Id, nullable=False),
        sa.Column("path_digest", sa.String(length=64), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("malware_name", sa.String(length=256), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_by_task", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("handle_status", sa.String(length=16), nullable=False),
        sa.Column("handle_method", sa.String(length=64), nullable=False),
        sa.Column("memo", sa.String(length=512), nullable=False),
        sa.Column("isolate_tag", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["host_pk"], ["hosts.id"], name="fk_alerts_host_pk_hosts"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint(*IDENTITY, name="uq_alerts_identity"),
    )
    op.create_index("ix_alerts_host_status", "alerts", ["host_pk", "status"], unique=False)
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_id", Id, nullable=True))
        batch_op.create_foreign_key("fk_detections_alert_id_alerts", "alerts", ["alert_id"], ["id"])
        batch_op.create_index("ix_detections_alert", ["alert_id"], unique=False)
    _backfill()


def _backfill() -> None:
    """One alert per identity among the stored detections, open, with its newest occurrence's handling."""
    d = sa.table(
        "detections",
        *(sa.column(c) for c in IDENTITY),
        sa.column("id", Id),
        sa.column("occur_time", sa.BigInteger()),
        sa.column("alert_id", Id),
        sa.column("handle_status", sa.String()),
        sa.column("handle_method", sa.String()),
        sa.column("memo", sa.String()),
        sa.column("isolate_tag", sa.String()),
    )
    a = sa.table(
        "alerts",
        *(sa.column(c) for c in IDENTITY),
        sa.column("id", Id),
        sa.column("first_seen", sa.BigInteger()),
        sa.column("last_seen", sa.BigInteger()),
        sa.column("occurrences", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("handle_status", sa.String()),
        sa.column("handle_method", sa.String()),
        sa.column("memo", sa.String()),
        sa.column("isolate_tag", sa.String()),
    )
    grouped = sa.select(
        *(d.c[c] for c in IDENTITY),
        sa.func.min(d.c.occur_time),
        sa.func.max(d.c.occur_time),
        sa.func.count(),
        sa.literal("open"),
        sa.literal("unhandled"),
        sa.literal(""),
        sa.literal(""),
        sa.literal("none"),
    ).group_by(*(d.c[c] for c in IDENTITY))
    columns = [*IDENTITY, "first_seen", "last_seen", "occurrences", "status"]
    columns += ["handle_status", "handle_method", "memo", "isolate_tag"]
    conn = op.get_bind()
    conn.execute(sa.insert(a).from_select(columns, grouped))
    same = sa.and_(*(a.c[c] == d.c[c] for c in IDENTITY))
    conn.execute(sa.update(d).values(alert_id=sa.select(a.c.id).where(same).scalar_subquery()))
    d2 = d.alias("newest")
    newest = (
        sa.select(d2.c.id)
        .where(d2.c.alert_id == a.c.id)
        .order_by(d2.c.occur_time.desc(), d2.c.id.desc())
        .limit(1)
        .correlate(a)
    )
    handling = ("handle_status", "handle_method", "memo", "isolate_tag")
    conn.execute(
        sa.update(a).values(
            **{c: sa.select(d.c[c]).where(d.c.id == newest.scalar_subquery()).scalar_subquery() for c in handling}
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_index("ix_detections_alert")
        batch_op.drop_constraint("fk_detections_alert_id_alerts", type_="foreignkey")
        batch_op.drop_column("alert_id")
    op.drop_index("ix_alerts_host_status", table_name="alerts")
    op.drop_table("alerts")
