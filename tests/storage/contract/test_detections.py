"""DetectionStore: what the scans found, row by row, and the project's statistics (core/ports.py)."""

from __future__ import annotations

from fleetscan.core.models import HandleStatus, ScanType, Severity
from fleetscan.core.queries import DetectionFilter, Page, Statistics
from fleetscan.core.service import ControlPlane
from fleetscan.core.tasks import TaskRequest
from fleetscan.storage import SqlStorage

from .world import HASH, Clock, enrolled, scanned


def test_rows_per_task_newest_first_with_their_host_and_task(plane: ControlPlane, store: SqlStorage) -> None:
    [web, db] = enrolled(plane, 2, "e1")
    scope = plane.create_access_key("acct", "p1").scope
    first = scanned(plane, scope, web, ["/srv/a", "/srv/b"])
    second = scanned(plane, scope, web, ["/srv/a"])  # the same file again: a row of its own task
    scanned(plane, scope, db, ["/var/c"])
    total, views = store.list_detections(scope, DetectionFilter(), Page(0, 10))
    assert total == 4 and [v.detection.file_path for v in views][0] == "/var/c"
    assert [v.detection.occur_time for v in views] == sorted((v.detection.occur_time for v in views), reverse=True)

    def paths(**flt: object) -> list[str]:
        found = store.list_detections(scope, DetectionFilter(**flt), Page(0, 10))[1]  # type: ignore[arg-type]
        return sorted(v.detection.file_path for v in found)

    assert paths(root_task_id=first) == ["/srv/a", "/srv/b"] and paths(root_task_id=second) == ["/srv/a"]
    assert paths(host_id=db.host_id) == ["/var/c"] and paths(host_name=web.name) == ["/srv/a", "/srv/a", "/srv/b"]
    assert paths(file_path="srv/b") == ["/srv/b"] and paths(file_hashes=frozenset({"b" * 64})) == []
    assert len(paths(file_hashes=frozenset({HASH}))) == 4
    assert paths(severities=frozenset({Severity.LOW})) == [] and len(paths(malware_name="Eic")) == 4
    assert len(paths(handle_status=HandleStatus.UNHANDLED)) == 4
    [view] = store.list_detections(scope, DetectionFilter(root_task_id=second), Page(0, 10))[1]
    assert (view.host.host_id, view.root.task_id) == (web.host_id, second)
    assert paths(result_ids=frozenset({view.detection.result_id})) == ["/srv/a"]
    assert store.list_detections(scope, DetectionFilter(), Page(3, 10))[0] == 4  # the total whatever the page


def test_rows_are_seen_in_scope_only(plane: ControlPlane, store: SqlStorage) -> None:
    [host] = enrolled(plane, 1, "e1")
    scope = plane.create_access_key("acct", "p1").scope
    scanned(plane, scope, host, ["/x"])
    for other in (plane.create_access_key("acct", "p2").scope, plane.create_access_key("acct", "p1", ["e2"]).scope):
        assert store.list_detections(other, DetectionFilter(), Page(0, 10)) == (0, [])


def test_statistics_count_alerts_not_rows(plane: ControlPlane, store: SqlStorage, clock: Clock) -> None:
    [web, db] = enrolled(plane, 2)
    scope = plane.create_access_key("acct", "p1").scope
    assert store.statistics(scope) == Statistics(0, 0, 0, 0, 0)
    scanned(plane, scope, web, ["/a", "/b"])
    scanned(plane, scope, web, ["/a", "/b"])  # the same two files: still two alerts
    clock.now += 1_000
    plane.create_task(scope, TaskRequest("pending", ScanType.QUICK, host_ids=[db.host_id]))
    assert store.statistics(scope) == Statistics(
        open_alerts=2, infected_hosts=1, tasks=3, scanning_tasks=1, latest_scan_time=clock.now
    )
    assert store.statistics(plane.create_access_key("acct", "p2").scope) == Statistics(0, 0, 0, 0, 0)
