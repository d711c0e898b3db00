"""Alerts in storage (docs/alerts.md), on SQLite and PostgreSQL: what one alert remembers across scans."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleetscan.core.alerts import AlertStatus
from fleetscan.core.models import Detection, Host, ScanType, Scope, Severity
from fleetscan.core.queries import DetectionFilter, Page
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.tasks import Counters, TaskRequest
from fleetscan.storage import open_storage


class Clock:
    now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def plane(database_url: str) -> Iterator[ControlPlane]:
    storage = open_storage(database_url)
    yield ControlPlane(storage, Clock())
    storage.dispose()


def _scan(plane: ControlPlane, scope: Scope, host: Host, paths: list[str], scan_type: ScanType) -> str:
    """A task on `host` whose scan finds `paths` and succeeds; its task id."""
    plane.clock.now += 60_000  # type: ignore[attr-defined]
    root = plane.create_task(scope, TaskRequest("t", scan_type, host_ids=[host.host_id])).root
    (view,) = plane.subtasks_of(scope, [root])[root.id]
    plane.take_work(host, lambda sub, _root: sub.id)
    found = [Detection("", 0, 0, 0, "Eicar", "virus", Severity.HIGH, p, "a" * 64) for p in paths]
    plane.report(host, view.subtask.id, root.task_id, Counters(files_scanned=len(paths)), found, finished=True)
    return root.task_id


def test_an_alert_remembers_its_scans(plane: ControlPlane) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    token, _ = plane.create_credential("enroll", "acct", "p1")
    host = plane.enroll(token, HostFacts("h1")).host

    def alert(task_id: str, path: str) -> object:
        _, views = plane.list_detections(scope, DetectionFilter(root_task_id=task_id, file_path=path), Page(0, 5))
        return plane.alert_of(scope, views[0].detection.result_id)

    t1 = _scan(plane, scope, host, ["/x", "/y"], ScanType.FULL)
    start = plane.clock.now  # type: ignore[attr-defined]
    t2 = _scan(plane, scope, host, ["/x"], ScanType.FULL)
    x, y = alert(t2, "/x"), alert(t1, "/y")
    assert x is not None and y is not None
    assert (x.occurrences, x.task_ids, x.first_seen, x.last_seen) == (2, (t1, t2), start, start + 60_000)
    assert (x.status, y.status, y.resolved_by_task, y.occurrences) == (AlertStatus.OPEN, AlertStatus.RESOLVED, t2, 1)
    assert plane.open_alert_counts(scope, [host.host_id]) == {host.host_id: 1}

    _scan(plane, scope, host, [], ScanType.QUICK)  # a quick scan's folders are the agent's: resolves nothing
    assert plane.open_alert_counts(scope, [host.host_id]) == {host.host_id: 1}
    t4 = _scan(plane, scope, host, ["/x", "/y"], ScanType.FULL)  # /y is back: the same alert, open again
    y = alert(t4, "/y")
    assert y is not None and (y.status, y.resolved_by_task, y.occurrences, y.task_ids) == (
        AlertStatus.OPEN,
        None,
        2,
        (t1, t4),
    )
    other = plane.create_access_key("acct", "p2").scope
    assert plane.open_alert_counts(other, [host.host_id]) == {}
