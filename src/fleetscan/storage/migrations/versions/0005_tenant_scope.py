"""tenant scope: whitelist entries per enterprise project, client tokens per project and operation

Revision ID: 0005_tenant_scope
Revises: 0004_paid_listing_index
Create Date: 2026-12-01 19:30:00

- `root_enterprise_projects`: the enterprise projects of each root task's hosts, filled from its subtasks.
- `alarm_whitelist.enterprise_project_id`: an entry holds on hosts of the enterprise project of the detection
  it was made from; existing entries take that host's.
- `client_token` columns hold a key of (project, operation, token) (core.ids.client_token_key): existing raw
  tokens are rewritten, so a token stays unique per account, project and operation under the same constraint.
- `schedules.enterprise_project_id` is recomputed by the rule of ControlPlane._enterprise_project: the one
  enterprise project of the hosts a schedule names, of its creator's scope when it scans every host, else `*`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005_tenant_scope"
down_revision = "0004_paid_listing_index"
branch_labels = None
depends_on = None

SEVERAL = "*"
OPERATIONS = {
    "root_tasks": "CreateVirusScanOnceTask",
    "ali_cycle": "CreateCycleTask",
    "hss_policy": "CreateAntiVirusPolicy",
}


def _key(project_id: str, operation: str, token: str) -> str:
    """core.ids.client_token_key as of this revision (copied: a migration must not change with the code)."""
    return hashlib.sha256("\0".join((project_id, operation, token)).encode()).hexdigest()


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    conn = op.get_bind()
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "root_enterprise_projects",
        sa.Column("root_id", id_type, nullable=False),
        sa.Column("enterprise_project_id", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["root_tasks.id"], name=op.f("fk_root_enterprise_projects_root_id_root_tasks")
        ),
        sa.PrimaryKeyConstraint("root_id", "enterprise_project_id", name=op.f("pk_root_enterprise_projects")),
    )
    conn.execute(
        sa.text(
            "INSERT INTO root_enterprise_projects (root_id, enterprise_project_id)"
            " SELECT DISTINCT subtasks.root_id, hosts.enterprise_project_id"
            " FROM subtasks JOIN hosts ON hosts.id = subtasks.host_pk"
        )
    )
    with op.batch_alter_table("alarm_whitelist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_project_id", sa.String(length=256), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE alarm_whitelist SET enterprise_project_id = (SELECT hosts.enterprise_project_id FROM detections"
            " JOIN hosts ON hosts.id = detections.host_pk WHERE detections.id = alarm_whitelist.detection_pk)"
        )
    )
    with op.batch_alter_table("alarm_whitelist", schema=None) as batch_op:
        batch_op.alter_column("enterprise_project_id", existing_type=sa.String(length=256), nullable=False)
        batch_op.drop_index("ix_alarm_whitelist_scope")
        batch_op.create_index(
            "ix_alarm_whitelist_scope", ["account_id", "project_id", "enterprise_project_id"], unique=False
        )

    for row in conn.execute(
        sa.text("SELECT id, project_id, client_token FROM root_tasks WHERE client_token IS NOT NULL")
    ):
        key = _key(row.project_id, OPERATIONS["root_tasks"], row.client_token)
        conn.execute(sa.text("UPDATE root_tasks SET client_token = :k WHERE id = :id"), {"k": key, "id": row.id})

    found = conn.execute(
        sa.text(
            "SELECT id, kind, account_id, project_id, client_token, template, enterprise_project_ids FROM schedules"
        )
    ).all()
    for row in found:
        values: dict[str, Any] = {"id": row.id, "eps": _schedule_eps(conn, row)}
        sets = "enterprise_project_id = :eps"
        if row.client_token is not None:
            values["k"] = _key(row.project_id, OPERATIONS[row.kind], row.client_token)
            sets += ", client_token = :k"
        conn.execute(sa.text(f"UPDATE schedules SET {sets} WHERE id = :id"), values)


def _schedule_eps(conn: Any, row: Any) -> str:
    template = _json(row.template)
    scope = _json(row.enterprise_project_ids)
    found: set[str] = set()
    if not template.get("all_hosts"):
        hosts = sa.table(
            "hosts",
            sa.column("account_id"),
            sa.column("project_id"),
            sa.column("host_id"),
            sa.column("group_id"),
            sa.column("enterprise_project_id"),
        )
        which = sa.or_(
            hosts.c.host_id.in_(list(template.get("host_ids") or [])),
            hosts.c.group_id.in_(list(template.get("group_ids") or [])),
        )
        conds = [hosts.c.account_id == row.account_id, hosts.c.project_id == row.project_id, which]
        if scope is not None:
            conds.append(hosts.c.enterprise_project_id.in_(list(scope)))
        found = set(conn.execute(sa.select(hosts.c.enterprise_project_id).where(*conds).distinct()).scalars())
    found = found or set(scope or ())
    return found.pop() if len(found) == 1 else SEVERAL


def downgrade() -> None:
    op.drop_table("root_enterprise_projects")
    with op.batch_alter_table("alarm_whitelist", schema=None) as batch_op:
        batch_op.drop_index("ix_alarm_whitelist_scope")
        batch_op.create_index("ix_alarm_whitelist_scope", ["account_id", "project_id"], unique=False)
        batch_op.drop_column("enterprise_project_id")
    # Client token keys and schedule labels stay as they are: the raw tokens are not kept, and an earlier
    # revision's code reads a key as a token that no request will send again.
