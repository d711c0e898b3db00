"""The Alembic history is one line, and it builds exactly the schema the code declares."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, inspect

from fleetscan.storage import open_storage
from fleetscan.storage.migrate import alembic_config
from fleetscan.storage.schema import metadata


def test_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    storage = open_storage(database_url)
    try:
        with storage.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        storage.dispose()


def test_tenant_scope_migration_keeps_what_was_stored(database_url: str) -> None:
    """0005: whitelist entries take their detection's host's enterprise project, client tokens become keys, and
    a task's enterprise projects are those of its hosts."""
    from sqlalchemy import insert, select

    from fleetscan.core import ids
    from fleetscan.core.models import Detection, ScanType, Severity
    from fleetscan.core.service import ControlPlane, HostFacts
    from fleetscan.core.tasks import TaskRequest, plan_task
    from fleetscan.storage import rows
    from fleetscan.storage.migrate import upgrade
    from fleetscan.storage.schema import alarm_whitelist, detections, root_tasks, subtasks

    storage = open_storage(database_url, migrate=False)
    try:
        upgrade(storage.engine, "0004_paid_listing_index")
        plane = ControlPlane(storage)
        scope = plane.create_access_key("acct", "p1").scope
        token, _ = plane.create_credential("enroll", "acct", "p1", enterprise_project_id="e1")
        host = plane.enroll(token, HostFacts("h1")).host
        request = TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id], client_token="tok")
        plan = plan_task(scope, request, [host], 0)
        found = Detection("r" * 32, 0, 0, host.id, "Eicar", "virus", Severity.HIGH, "/x", "a" * 64)
        with storage.engine.begin() as conn:  # as 0004's code stored them: only the columns 0004 has
            root_pk = conn.execute(
                insert(root_tasks).values(**_at_0004(conn, root_tasks, rows.root_values(plan.root)))
                .returning(root_tasks.c.id)
            )
            found.root_id = plan.subtasks[0].root_id = root_pk.scalar_one()
            sub = conn.execute(
                insert(subtasks).values(**_at_0004(conn, subtasks, rows.subtask_values(plan.subtasks[0])))
                .returning(subtasks.c.id)
            )
            found.subtask_id = sub.scalar_one()
            pk = conn.execute(
                insert(detections).values(**_at_0004(conn, detections, rows.detection_values(found)))
                .returning(detections.c.id)
            )
            conn.execute(
                insert(alarm_whitelist).values(
                    account_id=scope.account_id,
                    project_id="p1",
                    field="file_hash",
                    value="a" * 64,
                    detection_pk=pk.scalar_one(),
                    created_at=0,
                )
            )
        upgrade(storage.engine)
        with storage.engine.connect() as conn:
            assert conn.execute(select(alarm_whitelist.c.enterprise_project_id)).scalar_one() == "e1"
            stored = conn.execute(select(root_tasks.c.client_token)).scalar_one()
        assert stored == ids.client_token_key("p1", "CreateVirusScanOnceTask", "tok")
        assert plane.get_root(replace(scope, enterprise_project_ids=frozenset({"e1"})), task_id=plan.root.task_id)
        assert not plane.storage.get_root(
            replace(scope, enterprise_project_ids=frozenset({"e2"})), task_id=plan.root.task_id
        )
        assert plane.whitelist_of(host) and not plane.whitelist_of(replace(host, enterprise_project_id="e2"))
    finally:
        storage.dispose()


def _at_0004(conn: Connection, table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """`values` less the columns later migrations added: the row as the code of that time wrote it."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    return {k: v for k, v in values.items() if k in present}


def test_alerts_migration_makes_one_alert_per_identity(database_url: str) -> None:
    """0008: detections stored before alerts existed become occurrences of one open alert per host, exact path,
    SHA-256 and signature, which takes the handling of its newest occurrence."""
    from sqlalchemy import insert, select

    from fleetscan.core.models import Detection, HandleStatus, ScanType, Severity
    from fleetscan.core.service import ControlPlane, HostFacts
    from fleetscan.core.tasks import TaskRequest, plan_task
    from fleetscan.storage import rows
    from fleetscan.storage.migrate import upgrade
    from fleetscan.storage.schema import alerts, detections, root_tasks, subtasks

    storage = open_storage(database_url, migrate=False)
    try:
        upgrade(storage.engine, "0007_signature_sets")
        plane = ControlPlane(storage)
        scope = plane.create_access_key("acct", "p1").scope
        token, _ = plane.create_credential("enroll", "acct", "p1")
        host = plane.enroll(token, HostFacts("h1")).host
        with storage.engine.begin() as conn:  # two scans found /x, the first also /y
            for n, (when, paths) in enumerate([(1000, ["/x", "/y"]), (2000, ["/x"])]):
                plan = plan_task(scope, TaskRequest(f"t{n}", ScanType.FULL, host_ids=[host.host_id]), [host], 0)
                root_pk = conn.execute(
                    insert(root_tasks)
                    .values(**_at_0004(conn, root_tasks, rows.root_values(plan.root)))
                    .returning(root_tasks.c.id)
                ).scalar_one()
                plan.subtasks[0].root_id = root_pk
                sub_pk = conn.execute(
                    insert(subtasks)
                    .values(**_at_0004(conn, subtasks, rows.subtask_values(plan.subtasks[0])))
                    .returning(subtasks.c.id)
                ).scalar_one()
                for path in paths:
                    found = Detection(
                        f"{n}{path[1]}" * 16, root_pk, sub_pk, host.id, "Eicar", "virus", Severity.HIGH, path, "a" * 64
                    )
                    found.occur_time = when
                    if n == 1:
                        found.handle_status, found.handle_method = HandleStatus.HANDLED, "ignore"
                    conn.execute(insert(detections).values(**_at_0004(conn, detections, rows.detection_values(found))))
        upgrade(storage.engine)
        with storage.engine.connect() as conn:
            got = {r.path_digest: r for r in conn.execute(select(alerts))}
            linked = conn.execute(select(detections.c.alert_id, detections.c.file_path)).all()
        x, y = got[rows.path_digest(b"/x")], got[rows.path_digest(b"/y")]
        assert (x.occurrences, x.first_seen, x.last_seen, x.status, x.handle_method) == (
            2,
            1000,
            2000,
            "open",
            "ignore",
        )
        assert (y.occurrences, y.handle_status) == (1, "unhandled")
        assert sorted((a, p) for a, p in linked) == sorted([(x.id, "/x"), (x.id, "/x"), (y.id, "/y")])
    finally:
        storage.dispose()
