"""The Alembic history is one line, it builds exactly the schema the code declares, and it keeps what was stored."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, inspect

from fleetscan.core.models import Detection, Severity
from fleetscan.storage import open_storage
from fleetscan.storage.migrate import alembic_config
from fleetscan.storage.schema import metadata


def test_migration_is_idempotent(database_url: str) -> None:
    open_storage(database_url).dispose()
    open_storage(database_url).dispose()


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


def test_migration_0006_keys_existing_findings_by_their_path(database_url: str) -> None:
    """A database at 0004 with findings: each gets the digest of its path, and the key still refuses a duplicate."""
    from sqlalchemy import create_engine, text

    from fleetscan.storage.migrate import upgrade
    from fleetscan.storage.rows import path_digest

    engine = create_engine(database_url)
    upgrade(engine, "0004_paid_listing_index")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0)"))
        conn.execute(
            text(
                "INSERT INTO hosts (id, host_id, account_id, project_id, enterprise_project_id, name, private_ip, "
                "public_ip, os_type, os_name, os_version, agent_id, agent_secret_hash, agent_version, asset_value, "
                "created_at) VALUES (1, 'h', 1, 'p', '0', 'h', '', '', 'Linux', '', '', 'ag', 'x', '', 'common', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO root_tasks (id, task_id, account_id, project_id, enterprise_project_id, name, scan_type, "
                "origin, start_type, action, scan_paths, ignore_paths, file_types, targets, paid, rescan, created_at, "
                "start_time, status, n_pending, n_dispatched, n_running, n_succeeded, n_failed, n_timed_out, "
                "n_cancelled, progress, files_scanned, viruses_found) VALUES (1, 't', 1, 'p', '0', 't', 'quick', "
                "'user', 'now', 'manual', '[]', '[]', '[]', '[]', false, false, 0, 0, 'running', 0, 0, 1, 0, 0, 0, "
                "0, 0, 0, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO subtasks (id, subtask_id, root_id, host_pk, status, progress, files_scanned, "
                "bytes_scanned, files_total, viruses_found, fail_reason, using_quota, cancel_requested, checkpoint, "
                "updated_at) VALUES (1, 's', 1, 1, 'running', 0, 0, 0, 0, 1, '', false, false, '', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO detections (id, result_id, root_id, subtask_id, host_pk, malware_name, malware_type, "
                "severity, file_path, file_hash, file_size, file_owner, file_attr, file_ctime, file_mtime, "
                "occur_time, handle_status, handle_method, memo, isolate_tag, event_type) VALUES (1, 'r', 1, 1, 1, "
                "'Eicar', 'virus', 'High', '/srv/caf\u00e9', :hash, 0, '', '', 0, 0, 0, 'unhandled', '', '', 'none', "
                "1001)"
            ),
            {"hash": "a" * 64},
        )
    upgrade(engine)
    with engine.connect() as conn:
        digest = conn.execute(text("SELECT path_digest FROM detections WHERE id = 1")).scalar_one()
    assert digest == path_digest("/srv/caf\u00e9".encode())
    engine.dispose()
    storage = open_storage(database_url)
    try:
        [(sub, _)] = storage.agent_subtasks(1)
        again = Detection("r2", 1, 1, 1, "Eicar", "virus", Severity.HIGH, "/srv/caf\u00e9", "a" * 64)
        out = storage.change_subtask(sub.id, lambda s: s, detections=[again])
        assert out.detections_added == 0
    finally:
        storage.dispose()
