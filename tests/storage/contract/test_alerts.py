"""AlertStore: one alert per infected file on a host (docs/alerts.md), remembered across scans (core/ports.py)."""

from __future__ import annotations

from functools import partial

import pytest

from fleetscan.core import tasks
from fleetscan.core.alerts import Alert, AlertStatus
from fleetscan.core.models import Detection, ScanType, Scope
from fleetscan.core.queries import DetectionFilter, Page
from fleetscan.core.service import ControlPlane
from fleetscan.core.states import SubtaskStatus
from fleetscan.core.tasks import Counters, ReportOutcome, SubtaskReport, TaskRequest
from fleetscan.storage import SqlStorage

from .world import Clock, enrolled, finding, scanned


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


@pytest.mark.parametrize("foreseen", [True, False])
def test_a_completion_written_in_bulk_resolves_what_its_scan_no_longer_found(
    plane: ControlPlane, store: SqlStorage, foreseen: bool
) -> None:
    """A batch's completion without findings resolves its host's open alerts its full scan did not find again:
    read with the batch's lock when the report says it may succeed (`may_succeed`, what the plane says of a
    completion), in a round trip of their own when it does not."""
    scope = plane.create_access_key("acct", "p1").scope
    [host] = enrolled(plane, 1)
    t1 = scanned(plane, scope, host, ["/y"])
    plane.clock.now += 60_000  # type: ignore[attr-defined]
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[host.host_id])).root
    [(sub, _)] = plane.work(host)
    done = partial(tasks.finish, succeeded=True, reason="", counters=Counters(files_scanned=1), now=plane.clock())
    [out] = store.change_subtasks([SubtaskReport(sub.id, done, (host.id, "k-1"), may_succeed=foreseen)])
    assert isinstance(out, ReportOutcome) and out.subtask.status is SubtaskStatus.SUCCEEDED
    y = _alert(store, scope, t1, "/y")
    assert y is not None and (y.status, y.resolved_by_task) == (AlertStatus.RESOLVED, root.task_id)
    assert store.open_alert_counts(scope, [host.host_id]) == {}


def test_a_batchs_findings_are_written_with_its_bulk(plane: ControlPlane, store: SqlStorage) -> None:
    """Reports with findings go in their batch's bulk (`change_subtasks`): two tasks finding one file on a host make
    one alert seen twice, another host's the same file another alert; a finding twice in a report, or reported
    again later, is stored once; a completion does not resolve what its own batch found again."""
    scope = plane.create_access_key("acct", "p1").scope
    host, other = enrolled(plane, 2)
    t0 = scanned(plane, scope, host, ["/y"])
    plane.clock.now += 60_000  # type: ignore[attr-defined]
    r1 = plane.create_task(scope, TaskRequest("t1", ScanType.FULL, host_ids=[host.host_id, other.host_id])).root
    r2 = plane.create_task(scope, TaskRequest("t2", ScanType.FULL, host_ids=[host.host_id])).root
    (s1, _), (s2, _) = plane.work(host)
    [(o1, _)] = plane.work(other)
    now = plane.clock()
    moved = partial(tasks.progress, counters=Counters(files_scanned=1), now=now)
    done = partial(tasks.finish, succeeded=True, reason="", counters=Counters(files_scanned=2), now=now)

    def found(path: str, n: str) -> Detection:
        return finding(path, result_id=f"r-{n}", occur_time=now)

    out = store.change_subtasks(
        [
            SubtaskReport(s1.id, moved, (host.id, "a-1"), [found("/x", "1"), found("/x", "2")]),
            SubtaskReport(s2.id, done, (host.id, "b-1"), [found("/x", "3"), found("/y", "4")], may_succeed=True),
            SubtaskReport(o1.id, moved, (other.id, "c-1"), [found("/x", "5")]),
        ]
    )
    assert [o.detections_added for o in out if isinstance(o, ReportOutcome)] == [1, 2, 1]
    [again] = store.change_subtasks([SubtaskReport(s1.id, moved, (host.id, "a-2"), [found("/x", "6")])])
    assert isinstance(again, ReportOutcome) and (again.detections_added, again.subtask.viruses_found) == (0, 1)

    _, views = store.list_detections(scope, DetectionFilter(root_task_id=r1.task_id, file_path="/x"), Page(0, 5))
    x, x_other = (store.alert_of_result(scope, v.detection.result_id) for v in sorted(views, key=lambda v: v.host.id))
    y = _alert(store, scope, t0, "/y")
    assert x is not None and x_other is not None and y is not None
    assert (x.host_pk, x.occurrences, x.task_ids, x.status) == (host.id, 2, (r1.task_id, r2.task_id), AlertStatus.OPEN)
    assert (x_other.host_pk, x_other.occurrences, x_other.task_ids) == (other.id, 1, (r1.task_id,))
    assert (y.status, y.occurrences, y.resolved_by_task) == (AlertStatus.OPEN, 2, None)
    subtasks = {s.id: s for s in (store.get_subtask(v.subtask_id) for v in (s1, s2, o1)) if s is not None}
    assert [subtasks[v.id].viruses_found for v in (s1, s2, o1)] == [1, 2, 1]
    roots = [plane.get_root(scope, task_id=r.task_id) for r in (r1, r2)]
    assert [r.viruses_found for r in roots if r is not None] == [2, 2]

    # a late report of an older occurrence counts, but leaves the alert's newest one as it was
    r3 = plane.create_task(scope, TaskRequest("t3", ScanType.FULL, host_ids=[host.host_id])).root
    [s3] = [sub for sub, root in plane.work(host) if root.id == r3.id]
    late = finding("/x", result_id="r-7", occur_time=now - 50_000)
    store.change_subtasks([SubtaskReport(s3.id, moved, (host.id, "d-1"), [late])])
    x = store.alert_of_result(scope, "r-7")
    assert x is not None and (x.occurrences, x.last_seen) == (3, now)
