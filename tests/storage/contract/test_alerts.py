"""AlertStore: one alert per infected file on a host (docs/alerts.md), remembered across scans (core/ports.py)."""

from __future__ import annotations

from fleetscan.core.alerts import Alert, AlertStatus
from fleetscan.core.models import ScanType, Scope
from fleetscan.core.queries import DetectionFilter, Page
from fleetscan.core.service import ControlPlane
from fleetscan.storage import SqlStorage

from .world import Clock, enrolled, scanned


def _alert(store: SqlStorage, scope: Scope, task_id: str, path: str) -> Alert | None:
    _, views = store.list_detections(scope, DetectionFilter(root_task_id=task_id, file_path=path), Page(0, 5))
    return store.alert_of_result(scope, views[0].detection.result_id)


def test_an_alert_remembers_its_scans(plane: ControlPlane, store: SqlStorage, clock: Clock) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    [host] = enrolled(plane, 1)
    t1 = scanned(plane, scope, host, ["/x", "/y"])
    start = clock.now
    t2 = scanned(plane, scope, host, ["/x"])
    x, y = _alert(store, scope, t2, "/x"), _alert(store, scope, t1, "/y")
    assert x is not None and y is not None
    assert (x.occurrences, x.task_ids, x.first_seen, x.last_seen) == (2, (t1, t2), start, start + 60_000)
    assert (x.status, y.status, y.resolved_by_task, y.occurrences) == (AlertStatus.OPEN, AlertStatus.RESOLVED, t2, 1)
    assert store.open_alert_counts(scope, [host.host_id]) == {host.host_id: 1}

    scanned(plane, scope, host, [], ScanType.QUICK)  # a quick scan's folders are the agent's: resolves nothing
    assert store.open_alert_counts(scope, [host.host_id]) == {host.host_id: 1}
    t4 = scanned(plane, scope, host, ["/x", "/y"])  # /y is back: the same alert, open again
    y = _alert(store, scope, t4, "/y")
    assert y is not None and (y.status, y.resolved_by_task, y.occurrences, y.task_ids) == (
        AlertStatus.OPEN,
        None,
        2,
        (t1, t4),
    )


def test_alerts_are_seen_in_scope_only(plane: ControlPlane, store: SqlStorage) -> None:
    [host] = enrolled(plane, 1, "e1")
    scope = plane.create_access_key("acct", "p1").scope
    task = scanned(plane, scope, host, ["/x"])
    result_id = store.list_detections(scope, DetectionFilter(root_task_id=task), Page(0, 5))[1][0].detection.result_id
    assert store.open_alert_counts(scope, [host.host_id, "no-such-host"]) == {host.host_id: 1}
    assert store.open_alert_counts(scope, []) == {}
    for other in (plane.create_access_key("acct", "p2").scope, plane.create_access_key("acct", "p1", ["e2"]).scope):
        assert store.open_alert_counts(other, [host.host_id]) == {}
        assert store.alert_of_result(other, result_id) is None
    assert store.alert_of_result(scope, "no-such-result") is None
