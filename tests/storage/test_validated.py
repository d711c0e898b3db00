"""The validation layer in front of storage, over a real SQLite file.

SQLite would keep a NUL, a lone surrogate's escape or a 300-character name where PostgreSQL refuses them, so
each case here is one that only this layer stops on SQLite: the refusal comes before any SQL and leaves the
database as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from fleetscan.core import handling, tasks
from fleetscan.core.errors import InvalidParameter, UnknownSubtask
from fleetscan.core.models import Detection, Host, ScanType, Severity
from fleetscan.core.ports import PORTS
from fleetscan.core.queries import DetectionFilter, HostFilter, Page, RootFilter
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.tasks import AgentReport, Counters, TaskRequest
from fleetscan.storage import SqlStorage, open_storage
from fleetscan.storage.validated import ValidatedStorage, validated


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[SqlStorage]:
    store = open_storage(f"sqlite:///{tmp_path / 'fleetscan.db'}")
    yield store
    store.dispose()


@pytest.fixture
def plane(raw: SqlStorage) -> ControlPlane:
    return ControlPlane(validated(raw), lambda: 1_700_000_000_000)


def _host(plane: ControlPlane) -> Host:
    token, _ = plane.create_credential("enroll", "acct", "p1")
    return plane.enroll(token, HostFacts("web-01", private_ip="10.0.0.1")).host


def _detection(path: str, **fields: object) -> Detection:
    return replace(Detection("", 0, 0, 0, "Eicar", "virus", Severity.HIGH, path, "a" * 64), **fields)


def _roots(raw: SqlStorage, plane: ControlPlane) -> int:
    scope = plane.create_access_key("acct", "p1").scope
    return raw.list_roots(scope, RootFilter(), Page(0, 100))[0]


def test_every_interface_method_is_checked_and_the_rest_passes_through(raw: SqlStorage) -> None:
    wrapped = ValidatedStorage(raw)
    members = {n for p in PORTS for n in vars(p) if not n.startswith("_")}
    assert members and all(getattr(wrapped, n) is not getattr(raw, n) for n in members)
    assert wrapped.engine is raw.engine and wrapped.is_sqlite


@pytest.mark.parametrize(
    "fields",
    [
        {"scan_paths": ["/x\udfff"]},
        {"ignore_paths": ["/srv/\x00"]},
        {"name": "n" * 256},  # root_tasks.name is 255 wide
        {"name": "a\x00b"},
    ],
)
def test_a_task_no_backend_can_store_is_refused_before_sql(plane: ControlPlane, raw: SqlStorage, fields: dict) -> None:
    host = _host(plane)
    scope = plane.create_access_key("acct", "p1").scope
    request = replace(TaskRequest("t", ScanType.CUSTOM, host_ids=[host.host_id], scan_paths=["/srv"]), **fields)
    with pytest.raises(InvalidParameter):
        plane.create_task(scope, request)
    assert _roots(raw, plane) == 0
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))
    assert _roots(raw, plane) == 1


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda p, s: p.list_hosts(s, HostFilter(name="a\x00b"), Page(0, 10)), "flt.name"),
        (lambda p, s: p.list_roots(s, RootFilter(start_from=2**63), Page(0, 10)), "flt.start_from"),
        (lambda p, s: p.list_roots(s, RootFilter(), Page(0, 2**64)), "page.limit"),
        (lambda p, s: p.get_root(s, task_id="\udfff"), "task_id"),
    ],
)
def test_reads_are_checked_too(plane: ControlPlane, call: object, where: str) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    with pytest.raises(InvalidParameter) as caught:
        call(plane.storage, scope)  # type: ignore[operator]
    assert caught.value.parameter == where


@pytest.mark.parametrize(
    "bad",
    [
        {"file_mtime": 10**25},  # the mtime any user can give a file on tmpfs
        {"file_path": "/tmp/\udcff-eicar"},  # a non-UTF-8 name decoded with surrogateescape
        {"event_type": 2**31},  # detections.event_type is a 32-bit column
        {"file_attr": "7" * 65},  # and file_attr 64 wide
    ],
)
def test_a_report_with_a_detection_no_backend_can_store_changes_nothing(plane: ControlPlane, bad: dict) -> None:
    host = _host(plane)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id])).root
    sub = plane.work(host)[0][0]
    with pytest.raises(InvalidParameter):
        plane.report(host, sub.id, "r1", Counters(files_scanned=5), [_detection("/tmp/a", **bad)])
    assert plane.get_root(scope, task_id=root.task_id).files_scanned == 0
    out = plane.report(host, sub.id, "r1", Counters(files_scanned=5), [_detection("/tmp/a")])
    assert not out.duplicate and out.detections_added == 1  # the refused report did not spend its key


def test_what_a_change_returns_is_checked_inside_the_transaction(plane: ControlPlane) -> None:
    host = _host(plane)
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))
    sub = plane.work(host)[0][0]
    too_long = partial(tasks.finish, succeeded=False, reason="r" * 513, counters=Counters(), now=1)
    with pytest.raises(InvalidParameter, match="fail_reason"):
        plane.storage.change_subtask(sub.id, too_long, report=(host.id, "k1"))
    fine = partial(tasks.finish, succeeded=False, reason="disk\nfull", counters=Counters(), now=1)
    out = plane.storage.change_subtask(sub.id, fine, report=(host.id, "k1"))
    assert not out.duplicate and out.subtask.fail_reason == "disk\nfull"


def test_in_a_batch_a_change_no_column_takes_is_refused_alone(plane: ControlPlane) -> None:
    """Reports written together (`change_subtasks`): what each one's rule made of its subtask is checked, and a
    checkpoint no backend can store refuses that report alone; the one beside it is written."""
    token, _ = plane.create_credential("enroll", "acct", "p1")
    good, bad = (plane.enroll(token, HostFacts(name)).host for name in ("web-01", "web-02"))
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[good.host_id, bad.host_id])).root
    subs = {v.host.id: v.subtask.id for v in plane.subtasks_of(scope, [root])[root.id]}
    out = plane.report_many(
        [
            AgentReport(good, subs[good.id], "g-1", Counters(files_scanned=5, checkpoint="/srv/ok")),
            AgentReport(bad, subs[bad.id], "b-1", Counters(files_scanned=6, checkpoint="/srv/\udcff")),
        ]
    )
    assert not isinstance(out[0], Exception) and isinstance(out[1], InvalidParameter)
    files = {v.host.id: v.subtask.files_scanned for v in plane.subtasks_of(scope, [root])[root.id]}
    assert files == {good.id: 5, bad.id: 0}
    assert not plane.report(bad, subs[bad.id], "b-1", Counters(files_scanned=6), []).duplicate  # key not spent


def test_a_subtask_id_no_column_takes_is_unknown_alone(plane: ControlPlane) -> None:
    """Reports' subtasks are looked up many per read: an id no backend can store (a hostile URL path) is simply
    nobody's subtask, and the others asked with it are still found."""
    host = _host(plane)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id])).root
    sub = plane.work(host)[0][0]
    keys = plane.subtask_keys([(host, "bad-\x7f-id"), (host, sub.subtask_id), (host, "\udcff")])
    assert isinstance(keys[0], UnknownSubtask) and isinstance(keys[2], UnknownSubtask)
    assert keys[1] == (sub.id, root.id)


def test_handling_memo_is_refused_past_its_column_not_cut(plane: ControlPlane) -> None:
    host = _host(plane)
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))
    sub = plane.work(host)[0][0]
    plane.report(host, sub.id, "r1", Counters(), [_detection("/tmp/a")])
    result_id = plane.list_detections(scope, DetectionFilter(), Page(0, 1))[1][0].detection.result_id
    op = handling.Operation.MARK_AS_HANDLED
    with pytest.raises(InvalidParameter, match="memo"):
        plane.handle(scope, handling.HandleRequest(op, (result_id,), "m" * 513, "ak"))
    assert plane.handle_history(scope, handling.HistoryFilter(), Page(0, 10))[0] == 0
    plane.handle(scope, handling.HandleRequest(op, (result_id,), "m" * 512, "ak"))
    history = plane.handle_history(scope, handling.HistoryFilter(), Page(0, 10))[1]
    assert [v.record.memo for v in history] == ["m" * 512]
