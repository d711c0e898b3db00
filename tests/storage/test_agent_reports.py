"""The agent's side in storage: exact paths, not-scanned counts, one transaction per report, /work's order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from fleetscan.core.models import Detection, Host, NotScanned, RootTask, ScanType, Severity, Subtask
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.states import SubtaskStatus
from fleetscan.core.tasks import Counters, TaskRequest
from fleetscan.storage import open_storage


@pytest.fixture
def plane(database_url: str) -> Iterator[ControlPlane]:
    storage = open_storage(database_url)
    yield ControlPlane(storage, lambda: 1_700_000_000_000)
    storage.dispose()


def _task(plane: ControlPlane) -> tuple[Host, int]:
    token, _ = plane.create_credential("enroll", "acct", "p1")
    host = plane.enroll(token, HostFacts("h", private_ip="10.0.0.1")).host
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))
    [(sub, _)] = plane.work(host)
    return host, sub.id


def _found(path: str, raw: bytes | None = None) -> Detection:
    return Detection("", 0, 0, 0, "Eicar", "virus", Severity.HIGH, path, "a" * 64, file_path_raw=raw)


def test_two_names_with_one_display_form_are_two_findings(plane: ControlPlane) -> None:
    host, sub = _task(plane)
    shown = "/srv/bad-\\xff"
    first = plane.report(host, sub, "r1", Counters(), [_found(shown, b"/srv/bad-\xff"), _found(shown)])
    assert first.detections_added == 2
    long = "/srv/" + "m" * 70_000  # beyond a btree entry: the key is the path's digest
    assert plane.report(host, sub, "r2", Counters(), [_found(long), _found(long)]).detections_added == 1


def test_not_scanned_counts_only_grow(plane: ControlPlane) -> None:
    host, sub = _task(plane)
    first = (NotScanned("read_error", 2, ("/a", "/b")), NotScanned("symlink", 1, ("/l",)))
    plane.report(host, sub, "r1", Counters(not_scanned=first), [])
    later = (NotScanned("read_error", 1, ("/c",)), NotScanned("permission_denied", 4, ()))
    out = plane.report(host, sub, "r2", Counters(not_scanned=later), [])
    assert out.subtask.not_scanned == (
        NotScanned("permission_denied", 4, ()),
        NotScanned("read_error", 2, ("/a", "/b")),
        NotScanned("symlink", 1, ("/l",)),
    )
    assert out.subtask.not_scanned_num == 7


def test_work_renders_before_it_dispatches(plane: ControlPlane) -> None:
    token, _ = plane.create_credential("enroll", "acct", "p1")
    host = plane.enroll(token, HostFacts("h", private_ip="10.0.0.1")).host
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))

    def broken(sub: Subtask, root: RootTask) -> None:
        raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")

    with pytest.raises(UnicodeEncodeError):
        plane.take_work(host, broken)
    [(sub, _)] = plane.storage.agent_subtasks(host.id)
    assert sub.status is SubtaskStatus.PENDING
    [(taken, _)] = plane.work(host)
    assert taken.status is SubtaskStatus.DISPATCHED


def test_auto_quarantine_is_part_of_the_report(plane: ControlPlane) -> None:
    """Facts that storage cannot hold roll the whole report back: detections, counters and the report key."""
    host, sub = _task(plane)
    found = _found("/srv/evil.com")
    facts = {"quarantine_id": "q1", "size": 1, "mtime": 2**64}
    with pytest.raises(Exception):  # noqa: B017 - the backend's own overflow error
        plane.report(host, sub, "r1", Counters(files_scanned=9), [found], quarantined=[(found, facts)])
    [(sub_after, _)] = plane.storage.agent_subtasks(host.id)
    assert sub_after.files_scanned == 0
    ok = {**facts, "mtime": 5}
    again = plane.report(host, sub, "r1", Counters(files_scanned=9), [replace(found)], quarantined=[(found, ok)])
    assert not again.duplicate and again.detections_added == 1


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
