"""TaskStore: root tasks, their subtasks and the agents' reports, changed only by core/tasks.py's rules.

A report is one transaction: its counters, state, detections, alerts, auto quarantines and report key land
together or not at all, and a root task's totals always follow its subtasks (core/ports.py, `change_subtask`).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import partial

import pytest
from sqlalchemy.exc import OperationalError

from fleetscan.core import tasks
from fleetscan.core.errors import IllegalTransition, UnknownSubtask
from fleetscan.core.ids import client_token_key
from fleetscan.core.models import Host, NotScanned, RootTask, ScanType, Subtask
from fleetscan.core.queries import DetectionFilter, HostMatch, Page, RootFilter
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.states import RootStatus, SubtaskStatus
from fleetscan.core.tasks import Counters, ReportOutcome, SubtaskReport, TaskRequest
from fleetscan.storage import SqlStorage

from .world import Clock, enrolled, finding, six_tasks


def _task(plane: ControlPlane) -> tuple[Host, int]:
    [host] = enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))
    [(sub, _)] = plane.work(host)
    return host, sub.id


def test_task_lifecycle_updates_root_totals(plane: ControlPlane, clock: Clock) -> None:
    hosts = enrolled(plane, 3)
    scope = plane.create_access_key("acct", "p1").scope
    plan = plane.create_task(scope, TaskRequest("t1", ScanType.QUICK, host_ids=[h.host_id for h in hosts]))
    root = plan.root
    assert root.id > 0 and root.status is RootStatus.PENDING and root.counts.pending == 3

    work = plane.work(hosts[0])
    assert [s.status for s, _ in work] == [SubtaskStatus.DISPATCHED]
    sub = work[0][0]
    out = plane.report(hosts[0], sub.id, "r1", Counters(files_scanned=50, progress=50), [finding("/tmp/a")])
    assert out.detections_added == 1 and not out.duplicate
    again = plane.report(hosts[0], sub.id, "r1", Counters(files_scanned=50, progress=50), [finding("/tmp/a")])
    assert again.duplicate and again.detections_added == 0
    # a new report naming the same finding does not count it twice
    plane.report(hosts[0], sub.id, "r2", Counters(files_scanned=60, progress=60), [finding("/tmp/a")])

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


def test_illegal_change_rolls_back_the_report_key(plane: ControlPlane, store: SqlStorage) -> None:
    hosts = enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[hosts[0].host_id])).root
    sub = plane.subtasks_of(scope, [root])[root.id][0].subtask

    def refuse(s):  # type: ignore[no-untyped-def]
        raise IllegalTransition(s.status.value, "pending")

    with pytest.raises(IllegalTransition):
        store.change_subtask(sub.id, refuse, report=(hosts[0].id, "k1"), detections=[finding("/x")])
    out = store.change_subtask(
        sub.id, partial(tasks.progress, counters=Counters(progress=5), now=1), report=(hosts[0].id, "k1")
    )
    assert not out.duplicate and out.subtask.viruses_found == 0


def test_listing_filters_and_scope(plane: ControlPlane, clock: Clock) -> None:
    h0, _, everything, only_e1 = six_tasks(plane, clock)

    total, roots = plane.list_roots(everything, RootFilter(), Page(0, 3))
    assert total == 6 and [r.name for r in roots] == ["other", "task-4", "task-3"]
    assert plane.list_roots(only_e1, RootFilter(), Page(0, 50))[0] == 6  # "other" has an e1 host too
    assert plane.list_roots(everything, RootFilter(paid=True), Page(0, 50))[0] == 1
    assert plane.list_roots(everything, RootFilter(name="task-"), Page(0, 50))[0] == 5
    match = RootFilter(hosts=HostMatch(host_name=h0[1].name))
    assert plane.list_roots(everything, match, Page(0, 50))[0] == 2
    assert plane.list_roots(everything, RootFilter(statuses=frozenset({RootStatus.RUNNING})), Page(0, 50))[0] == 0
    window = RootFilter(start_from=clock.now - 1500, start_to=clock.now - 500)
    assert [r.name for r in plane.list_roots(everything, window, Page(0, 50))[1]] == ["task-4"]

    other_project = plane.create_access_key("acct", "p2").scope
    assert plane.list_roots(other_project, RootFilter(), Page(0, 50))[0] == 0


def test_concurrent_reports_keep_totals_consistent(plane: ControlPlane) -> None:
    hosts = enrolled(plane, 4)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[h.host_id for h in hosts])).root
    subs = {v.host.id: v.subtask for v in plane.subtasks_of(scope, [root])[root.id]}

    def agent(host_index: int) -> None:
        host = hosts[host_index]
        for step in range(1, 11):
            found = [finding(f"/{host_index}/{step}")]
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


def test_two_names_with_one_display_form_are_two_findings(plane: ControlPlane) -> None:
    host, sub = _task(plane)
    shown = "/srv/bad-\\xff"
    first = plane.report(host, sub, "r1", Counters(), [finding(shown, file_path_raw=b"/srv/bad-\xff"), finding(shown)])
    assert first.detections_added == 2
    long = "/srv/" + "m" * 70_000  # beyond a btree entry: the key is the path's digest
    assert plane.report(host, sub, "r2", Counters(), [finding(long), finding(long)]).detections_added == 1


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


def test_work_renders_before_it_dispatches(plane: ControlPlane, store: SqlStorage) -> None:
    token, _ = plane.create_credential("enroll", "acct", "p1")
    host = plane.enroll(token, HostFacts("h", private_ip="10.0.0.1")).host
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[host.host_id]))

    def broken(sub: Subtask, root: RootTask) -> None:
        raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")

    with pytest.raises(UnicodeEncodeError):
        plane.take_work(host, broken)
    [(sub, _)] = store.agent_subtasks(host.id)
    assert sub.status is SubtaskStatus.PENDING
    [(taken, _)] = plane.work(host)
    assert taken.status is SubtaskStatus.DISPATCHED


def test_auto_quarantine_is_part_of_the_report(plane: ControlPlane, store: SqlStorage) -> None:
    """Facts that storage cannot hold roll the whole report back: detections, counters and the report key."""
    host, sub = _task(plane)
    found = finding("/srv/evil.com")
    facts = {"quarantine_id": "q1", "size": 1, "mtime": 2**64}
    with pytest.raises(Exception):  # noqa: B017 - the backend's own overflow error
        plane.report(host, sub, "r1", Counters(files_scanned=9), [found], quarantined=[(found, facts)])
    [(sub_after, _)] = store.agent_subtasks(host.id)
    assert sub_after.files_scanned == 0
    ok = {**facts, "mtime": 5}
    again = plane.report(host, sub, "r1", Counters(files_scanned=9), [replace(found)], quarantined=[(found, ok)])
    assert not again.duplicate and again.detections_added == 1


def test_a_client_token_finds_its_task_in_any_enterprise_project(plane: ControlPlane, store: SqlStorage) -> None:
    [host] = enrolled(plane, 1, "e1")
    scope = plane.create_access_key("acct", "p1").scope
    key = client_token_key("p1", "CreateVirusScanOnceTask", "tok")
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[host.host_id], client_token=key)).root
    elsewhere = plane.create_access_key("acct", "p1", ["e2"]).scope
    found = store.find_by_client_token(elsewhere, key)
    assert found is not None and found.task_id == root.task_id
    assert store.find_by_client_token(scope, "another") is None
    assert store.find_by_client_token(plane.create_access_key("acct", "p2").scope, key) is None
    assert store.get_root(elsewhere, task_id=root.task_id) is None  # found by its token, yet not visible


def test_the_sweeper_finds_silent_hosts_and_long_runs(plane: ControlPlane, store: SqlStorage, clock: Clock) -> None:
    quiet, busy = enrolled(plane, 2)
    scope = plane.create_access_key("acct", "p1").scope
    plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[quiet.host_id, busy.host_id]))
    assert store.stale_subtasks(clock.now, clock.now - 1, clock.now - 1) == []
    clock.now += 10_000
    [(sub, _)] = plane.work(busy)  # seen now; the quiet one was last seen at enrollment
    stale = store.stale_subtasks(clock.now, clock.now - 5_000, clock.now - 60_000)
    assert [(h.host_id, s.status) for s, h in stale] == [(quiet.host_id, SubtaskStatus.PENDING)]
    assert store.get_subtask(sub.subtask_id) == sub and store.get_subtask("nope") is None
    clock.now += 120_000
    plane.heartbeat(quiet)
    plane.heartbeat(busy)
    stale = store.stale_subtasks(clock.now, clock.now - 5_000, clock.now - 60_000)
    assert {h.host_id for _, h in stale} == {quiet.host_id, busy.host_id}  # both past the time limit


def test_an_inserted_task_starts_pending_and_the_latest_is_the_newest_start(
    plane: ControlPlane, store: SqlStorage, clock: Clock
) -> None:
    [host] = enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    assert store.latest_root(scope) is None
    for name in ("first", "second"):
        clock.now += 1_000
        plan = tasks.plan_task(scope, TaskRequest(name, ScanType.QUICK, host_ids=[host.host_id]), [host], clock.now)
        root = store.insert_task(plan.root, plan.subtasks)
        assert root.id > 0 and root.status is RootStatus.PENDING and root.counts.pending == 1
    latest = store.latest_root(scope)
    assert latest is not None and latest.name == "second"
    assert store.latest_root(plane.create_access_key("acct", "p2").scope) is None


def test_new_work_names_the_hosts_given_work_since_the_watermark(plane: ControlPlane, store: SqlStorage) -> None:
    first, second = enrolled(plane, 2)
    scope = plane.create_access_key("acct", "p1").scope
    hosts, mark = store.new_work((0, 0))
    assert hosts == set()
    plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[second.host_id]))
    hosts, later = store.new_work(mark)
    assert hosts == {second.id} and later[0] > mark[0]
    assert store.new_work(later) == (set(), later)  # nothing new since
    plane.work(second)  # dispatched: no longer pending, so not news even from the old watermark
    assert store.new_work(mark)[0] == set()
    assert first.id not in store.new_work((0, 0))[0]


def test_a_batch_of_reports_is_written_together_and_a_refused_one_alone(plane: ControlPlane, store: SqlStorage) -> None:
    """`change_subtasks`: most reports of a batch are written a few statements for all, those with detections or
    a second one for a subtask alone after them; each has its own outcome or error, and a refused one leaves
    nothing behind (its key neither)."""
    hosts = enrolled(plane, 4)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[h.host_id for h in hosts])).root
    subs = {v.host.id: v.subtask for v in plane.subtasks_of(scope, [root])[root.id]}
    a, b, c, d = hosts
    plane.report(d, subs[d.id].id, "d-0", Counters(files_scanned=4), [])

    def moved(files: int, finished: bool = False) -> tasks.SubtaskChange:
        counters = Counters(files_scanned=files)
        if finished:
            return partial(tasks.finish, succeeded=True, reason="", counters=counters, now=5)
        return partial(tasks.progress, counters=counters, now=5)

    out = store.change_subtasks(
        [
            SubtaskReport(subs[a.id].id, moved(5), (a.id, "a-1")),
            SubtaskReport(subs[b.id].id, _refuse, (b.id, "b-1")),
            SubtaskReport(subs[c.id].id, moved(7), (c.id, "c-1")),
            SubtaskReport(subs[c.id].id, moved(9, finished=True), (c.id, "c-2")),  # c's second: alone, after
            SubtaskReport(subs[d.id].id, moved(99), (d.id, "d-0")),  # seen before: a duplicate, nothing applied
            SubtaskReport(10**9, moved(1), (a.id, "x-1")),  # no such subtask
            SubtaskReport(subs[a.id].id, moved(6), (a.id, "a-2"), [finding("/tmp/x", result_id="r-x", occur_time=5)]),
        ]
    )
    assert [type(o).__name__ for o in out] == [
        "ReportOutcome",
        "IllegalTransition",
        "ReportOutcome",
        "ReportOutcome",
        "ReportOutcome",
        "UnknownSubtask",
        "ReportOutcome",
    ]
    assert isinstance(out[4], ReportOutcome) and out[4].duplicate and out[4].subtask.files_scanned == 4
    assert isinstance(out[6], ReportOutcome) and out[6].detections_added == 1
    assert store.get_subtask(subs[c.id].subtask_id).status is SubtaskStatus.SUCCEEDED  # type: ignore[union-attr]
    assert not plane.report(b, subs[b.id].id, "b-1", Counters(files_scanned=3), []).duplicate  # its key was undone
    assert plane.report(a, subs[a.id].id, "a-1", Counters(files_scanned=5), []).duplicate
    root = plane.get_root(scope, task_id=root.task_id)  # type: ignore[assignment]
    assert root is not None
    assert (root.files_scanned, root.counts.succeeded, root.viruses_found) == (6 + 3 + 9 + 4, 1, 1)


def test_the_database_failing_the_reports_written_alone_leaves_the_bulk_written(
    plane: ControlPlane, store: SqlStorage
) -> None:
    """A subtask's second report of a batch (and a report with quarantines) is written in a transaction of its own,
    after the bulk: when the database fails it, each of them is answered the database's error (to be tried again:
    `GroupCommit`) and none is written, while the bulk's reports stay written."""
    a, b, c = enrolled(plane, 3)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[a.host_id, b.host_id, c.host_id])).root
    subs = {v.host.id: v.subtask for v in plane.subtasks_of(scope, [root])[root.id]}
    moved = partial(tasks.progress, counters=Counters(files_scanned=5), now=5)
    found = [finding("/tmp/x", result_id="r-x", occur_time=5)]
    out = store.change_subtasks(
        [
            SubtaskReport(subs[a.id].id, moved, (a.id, "a-1")),
            SubtaskReport(subs[b.id].id, moved, (b.id, "b-1")),
            SubtaskReport(subs[b.id].id, moved, (b.id, "b-2"), found),  # b's second: alone
            SubtaskReport(subs[c.id].id, moved, (c.id, "c-1")),
            SubtaskReport(subs[c.id].id, _database_fails, (c.id, "c-2"), found),
        ]
    )
    assert [isinstance(out[i], ReportOutcome) and not out[i].duplicate for i in (0, 1, 3)] == [True] * 3  # type: ignore[union-attr]
    assert isinstance(out[2], OperationalError) and isinstance(out[4], OperationalError)
    again = store.change_subtasks(
        [SubtaskReport(subs[x.id].id, moved, (x.id, k)) for x, k in ((a, "a-1"), (b, "b-1"), (b, "b-2"))]
    )
    assert [o.duplicate for o in again if isinstance(o, ReportOutcome)] == [True, True, False]  # b-2's key undone
    assert store.get_subtask(subs[b.id].subtask_id).viruses_found == 0  # type: ignore[union-attr]

    # one such report alone in its transaction, refused: nothing of it stays either (its key neither)
    first, refused = store.change_subtasks(
        [
            SubtaskReport(subs[c.id].id, moved, (c.id, "c-3")),
            SubtaskReport(subs[c.id].id, _refuse, (c.id, "c-4"), found),
        ]
    )
    assert isinstance(first, ReportOutcome) and isinstance(refused, IllegalTransition)
    assert store.get_subtask(subs[c.id].subtask_id).viruses_found == 0  # type: ignore[union-attr]
    [landed] = store.change_subtasks([SubtaskReport(subs[c.id].id, moved, (c.id, "c-4"), found)])
    assert isinstance(landed, ReportOutcome) and not landed.duplicate and landed.detections_added == 1


def test_the_subtasks_reports_name_are_found_in_bulk(plane: ControlPlane, store: SqlStorage) -> None:
    """`subtask_owners`: which host and root each named subtask belongs to, in one read (reports after a restart);
    the plane answers a host only its own subtasks."""
    a, b = enrolled(plane, 2)
    scope = plane.create_access_key("acct", "p1").scope
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[a.host_id, b.host_id])).root
    subs = {v.host.id: v.subtask for v in plane.subtasks_of(scope, [root])[root.id]}
    mine, theirs = subs[a.id], subs[b.id]
    owners = store.subtask_owners([mine.subtask_id, theirs.subtask_id, "no-such-subtask"])
    assert owners == {mine.subtask_id: (mine.id, a.id, root.id), theirs.subtask_id: (theirs.id, b.id, root.id)}
    keys = plane.subtask_keys([(a, mine.subtask_id), (a, theirs.subtask_id), (b, theirs.subtask_id)])
    assert keys[0] == (mine.id, root.id) and keys[2] == (theirs.id, root.id)
    assert isinstance(keys[1], UnknownSubtask)  # b's subtask, named by a


def test_reads_share_one_transaction_and_writes_keep_theirs(plane: ControlPlane, store: SqlStorage) -> None:
    """Many threads at once, each reading in a shared transaction and then writing (as `/work` does): a write
    ends its thread's shared read first, so no thread holds one pooled connection while waiting for another."""
    host, sub_pk = _task(plane)
    subtask_id = ""

    def answer(n: int) -> None:
        nonlocal subtask_id
        with store.reading():
            [(sub, _)] = store.agent_subtasks(host.id)
            subtask_id = sub.subtask_id
            store.change_subtask(sub_pk, partial(tasks.progress, counters=Counters(files_scanned=n), now=2))
            assert store.agent_subtasks(host.id)[0][0].files_scanned >= n  # read again after the write

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(1, 41)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get_subtask(subtask_id).files_scanned == 40  # type: ignore[union-attr]


def _refuse(sub: Subtask) -> Subtask:
    raise IllegalTransition(sub.status.value, "succeeded")


def _database_fails(_: Subtask) -> Subtask:
    raise OperationalError("UPDATE subtasks", {}, Exception("deadlock detected"))  # as the driver raises it
