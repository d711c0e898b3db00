"""One storage suite, run against SQLite and a real PostgreSQL (the `backend` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial

import pytest

from fleetscan.core import tasks
from fleetscan.core.errors import IllegalTransition
from fleetscan.core.models import Detection, ScanType, Severity
from fleetscan.core.queries import DetectionFilter, HostFilter, HostMatch, Page, RootFilter, SubtaskFilter
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.states import RootStatus, SubtaskStatus
from fleetscan.core.tasks import Counters, TaskRequest
from fleetscan.storage import SqlStorage, open_storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = open_storage(database_url)
    yield store
    store.dispose()


@pytest.fixture
def plane(storage: SqlStorage, clock: Clock) -> ControlPlane:
    return ControlPlane(storage, clock)


def _enrolled(plane: ControlPlane, n: int, eps: str = "0", project: str = "p1") -> list:
    token, _ = plane.create_credential("enroll", "acct", project, enterprise_project_id=eps)
    return [plane.enroll(token, HostFacts(f"host-{eps}-{i}", private_ip=f"10.0.0.{i}")).host for i in range(n)]


def _detection(path: str) -> Detection:
    return Detection("", 0, 0, 0, "Eicar", "virus", Severity.HIGH, path, "a" * 64)


def test_migration_is_idempotent(database_url: str) -> None:
    open_storage(database_url).dispose()
    open_storage(database_url).dispose()


def test_access_keys_and_credentials(plane: ControlPlane, clock: Clock) -> None:
    key = plane.create_access_key("acct", "p1", ["e1"])
    found = plane.storage.get_access_key(key.access_key_id)
    assert found == key and found.scope.enterprise_project_ids == frozenset({"e1"})
    assert plane.storage.get_access_key("nope") is None
    token, cred = plane.create_credential("auth", "acct", "p1", ttl_seconds=10)
    from fleetscan.core.ids import token_hash

    assert plane.storage.get_credential("auth", token_hash(token), clock.now) == cred
    assert plane.storage.get_credential("enroll", token_hash(token), clock.now) is None
    assert plane.storage.get_credential("auth", token_hash(token), clock.now + 11_000) is None


def test_nonce_is_spent_once_across_replicas(database_url: str, storage: SqlStorage) -> None:
    other = open_storage(database_url, migrate=False)
    try:
        assert storage.remember_nonce("k", "n1", 10**13)
        assert not other.remember_nonce("k", "n1", 10**13)
        assert other.remember_nonce("k2", "n1", 10**13)
    finally:
        other.dispose()


def test_task_lifecycle_updates_root_totals(plane: ControlPlane, clock: Clock) -> None:
    hosts = _enrolled(plane, 3)
    scope = plane.create_access_key("acct", "p1").scope
    plan = plane.create_task(scope, TaskRequest("t1", ScanType.QUICK, host_ids=[h.host_id for h in hosts]))
    root = plan.root
    assert root.id > 0 and root.status is RootStatus.PENDING and root.counts.pending == 3

    work = plane.work(hosts[0])
    assert [s.status for s, _ in work] == [SubtaskStatus.DISPATCHED]
    sub = work[0][0]
    out = plane.report(hosts[0], sub.id, "r1", Counters(files_scanned=50, progress=50), [_detection("/tmp/a")])
    assert out.detections_added == 1 and not out.duplicate
    again = plane.report(hosts[0], sub.id, "r1", Counters(files_scanned=50, progress=50), [_detection("/tmp/a")])
    assert again.duplicate and again.detections_added == 0
    # a new report naming the same finding does not count it twice
    plane.report(hosts[0], sub.id, "r2", Counters(files_scanned=60, progress=60), [_detection("/tmp/a")])

    root = plane.get_root(scope, task_id=root.task_id)
    assert root.status is RootStatus.RUNNING and root.viruses_found == 1 and root.files_scanned == 60
    assert root.progress == 20  # (60 + 0 + 0) / 3

    clock.now += 5000
    plane.report(hosts[0], sub.id, "r3", Counters(files_scanned=70), [], finished=True)
    plane.cancel(scope, root.task_id, [hosts[1].host_id])
    s2 = plane.work(hosts[2])[0][0]
    plane.report(hosts[2], s2.id, "r4", Counters(), [], finished=True, succeeded=False, reason="disk")
    root = plane.get_root(scope, numeric_id=root.id)
    assert root.status is RootStatus.SUCCEEDED
    assert (root.counts.succeeded, root.counts.cancelled, root.counts.failed) == (1, 1, 1)
    assert root.end_time == clock.now and root.progress == 66  # (100 + 100 + 0: cancelled before it ran) / 3

    views = plane.subtasks_of(scope, [root])[root.id]
    assert {v.subtask.status for v in views} == {SubtaskStatus.SUCCEEDED, SubtaskStatus.CANCELLED, SubtaskStatus.FAILED}
    assert [v.subtask.fail_reason for v in views if v.subtask.status is SubtaskStatus.FAILED] == ["disk"]

    total, found = plane.list_detections(scope, DetectionFilter(root_task_id=root.task_id), Page(0, 10))
    assert total == 1 and found[0].host.host_id == hosts[0].host_id


def test_illegal_change_rolls_back_the_report_key(plane: ControlPlane) -> None:
    hosts = _enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[hosts[0].host_id])).root
    sub = plane.subtasks_of(scope, [root])[root.id][0].subtask

    def refuse(s):  # type: ignore[no-untyped-def]
        raise IllegalTransition(s.status.value, "pending")

    with pytest.raises(IllegalTransition):
        plane.storage.change_subtask(sub.id, refuse, report=(hosts[0].id, "k1"), detections=[_detection("/x")])
    out = plane.storage.change_subtask(
        sub.id, partial(tasks.progress, counters=Counters(progress=5), now=1), report=(hosts[0].id, "k1")
    )
    assert not out.duplicate and out.subtask.viruses_found == 0


def test_listing_filters_and_scope(plane: ControlPlane, clock: Clock) -> None:
    h0 = _enrolled(plane, 2, "e1")
    h1 = _enrolled(plane, 1, "e2")
    everything = plane.create_access_key("acct", "p1").scope
    only_e1 = plane.create_access_key("acct", "p1", ["e1"]).scope
    for i in range(5):
        clock.now += 1000
        plane.create_task(everything, TaskRequest(f"task-{i}", ScanType.QUICK, host_ids=[h0[i % 2].host_id]))
    clock.now += 1000
    plane.create_task(everything, TaskRequest("other", ScanType.FULL, host_ids=[h1[0].host_id], paid=True))

    total, roots = plane.list_roots(everything, RootFilter(), Page(0, 3))
    assert total == 6 and [r.name for r in roots] == ["other", "task-4", "task-3"]
    assert plane.list_roots(only_e1, RootFilter(), Page(0, 50))[0] == 5
    assert plane.list_roots(everything, RootFilter(paid=True), Page(0, 50))[0] == 1
    assert plane.list_roots(everything, RootFilter(name="task-"), Page(0, 50))[0] == 5
    match = RootFilter(hosts=HostMatch(host_name=h0[1].name))
    assert plane.list_roots(everything, match, Page(0, 50))[0] == 2
    assert plane.list_roots(everything, RootFilter(statuses=frozenset({RootStatus.RUNNING})), Page(0, 50))[0] == 0
    window = RootFilter(start_from=clock.now - 1500, start_to=clock.now - 500)
    assert [r.name for r in plane.list_roots(everything, window, Page(0, 50))[1]] == ["task-4"]

    total, machines = plane.machine_page(everything, SubtaskFilter(hosts=HostMatch(private_ip="10.0.0.1")), Page(0, 50))
    assert total == 2 and all(m.host.private_ip == "10.0.0.1" for m in machines)
    for scope in (everything, only_e1):  # the listings' rows show what the full objects show, tenant rule included
        count, full = plane.list_roots(scope, RootFilter(), Page(0, 50))
        lean = plane.task_page(scope, RootFilter(), Page(0, 50), with_hosts=True)
        assert lean.total == count
        shown = [(r.task_id, r.status, r.counts, r.progress, r.end_time, r.scan_paths) for r in lean.roots]
        assert shown == [(r.task_id, r.status, r.counts, r.progress, r.end_time, r.scan_paths) for r in full]
        views = plane.subtasks_of(scope, full)
        assert {r.id: [h.subtask_id for h in lean.hosts[r.id]] for r in lean.roots} == {
            r.id: [v.subtask.subtask_id for v in views[r.id]] for r in full
        }
    other_project = plane.create_access_key("acct", "p2").scope
    assert plane.list_roots(other_project, RootFilter(), Page(0, 50))[0] == 0
    assert plane.list_hosts(only_e1, HostFilter(), Page(0, 50))[0] == 2
    assert plane.list_hosts(everything, HostFilter(remark="host-e2"), Page(0, 50))[0] == 1


def test_concurrent_reports_keep_totals_consistent(plane: ControlPlane) -> None:
    hosts = _enrolled(plane, 4)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[h.host_id for h in hosts])).root
    subs = {v.host.id: v.subtask for v in plane.subtasks_of(scope, [root])[root.id]}

    def agent(host_index: int) -> None:
        host = hosts[host_index]
        for step in range(1, 11):
            found = [_detection(f"/{host_index}/{step}")]
            plane.report(host, subs[host.id].id, f"{host_index}-{step}", Counters(files_scanned=step), found)
        plane.report(host, subs[host.id].id, f"{host_index}-end", Counters(files_scanned=10), [], finished=True)

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    root = plane.get_root(scope, task_id=root.task_id)
    assert root.status is RootStatus.SUCCEEDED
    assert (root.viruses_found, root.files_scanned, root.counts.succeeded) == (40, 40, 4)
    assert plane.statistics(scope).open_alerts == 40
