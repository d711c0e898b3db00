"""Pure task rules: planning, progress that never goes backwards, finishing, cancelling, expiring."""

from __future__ import annotations

import pytest

from fleetscan.core import tasks
from fleetscan.core.errors import IllegalTransition, InvalidParameter
from fleetscan.core.models import Host, ScanType, Scope, Subtask
from fleetscan.core.states import SubtaskStatus
from fleetscan.core.tasks import Counters, TaskRequest

SCOPE = Scope(1, "p1", frozenset({"0", "e1"}))


def _host(pk: int, eps: str = "0") -> Host:
    return Host(host_id=f"h{pk}", account_id=1, project_id="p1", name=f"host{pk}", enterprise_project_id=eps, id=pk)


def test_plan_makes_one_subtask_per_host_and_lists_missing() -> None:
    request = TaskRequest(name="t", scan_type=ScanType.QUICK, host_ids=["h1", "h2", "nope"])
    plan = tasks.plan_task(SCOPE, request, [_host(1), _host(2)], now=1000)
    assert [s.host_pk for s in plan.subtasks] == [1, 2]
    assert plan.missing_host_ids == ["nope"]
    assert plan.root.start_time == 1000 and len(plan.root.task_id) == 32
    assert [t.target for t in plan.root.targets] == ["h1", "h2"]


def test_plan_needs_a_host_and_a_granted_enterprise_project() -> None:
    with pytest.raises(InvalidParameter):
        tasks.plan_task(SCOPE, TaskRequest(name="t", scan_type=ScanType.FULL, host_ids=["x"]), [], now=1)
    with pytest.raises(InvalidParameter):
        tasks.plan_task(SCOPE, TaskRequest(name="t", scan_type=ScanType.FULL), [_host(1, "e2")], now=1)


def test_plan_takes_the_hosts_enterprise_project() -> None:
    plan = tasks.plan_task(SCOPE, TaskRequest(name="t", scan_type=ScanType.FULL), [_host(1, "e1")], now=1)
    assert plan.root.enterprise_project_id == "e1"


def test_progress_never_goes_backwards() -> None:
    sub = Subtask("s", 1, 1)
    sub = tasks.progress(sub, Counters(files_scanned=10, progress=40), now=5)
    assert (sub.status, sub.start_time) == (SubtaskStatus.RUNNING, 5)
    sub = tasks.progress(sub, Counters(files_scanned=4, progress=20), now=9)
    assert (sub.files_scanned, sub.progress, sub.start_time) == (10, 40, 5)


def test_finish_sets_end_and_reason() -> None:
    sub = tasks.progress(Subtask("s", 1, 1), Counters(progress=30), now=1000)
    failed = tasks.finish(sub, succeeded=False, reason="disk gone", counters=Counters(), now=4000)
    assert failed.status is SubtaskStatus.FAILED and failed.fail_reason == "disk gone"
    assert failed.run_duration(now=99_000) == 3
    done = tasks.finish(sub, succeeded=True, reason="", counters=Counters(), now=4000)
    assert done.progress == 100 and done.fail_reason == ""


def test_reports_after_the_end_keep_the_state_and_count_the_work() -> None:
    """A report in flight at cancel: its detections are kept, so its counters are too; state and times stay."""
    sub = tasks.cancel(Subtask("s", 1, 1), now=7)
    assert sub.status is SubtaskStatus.CANCELLED
    late = tasks.progress(sub, Counters(files_scanned=300, progress=20), now=8)
    assert (late.status, late.end_time, late.files_scanned, late.progress) == (SubtaskStatus.CANCELLED, 7, 300, 20)
    ended = tasks.finish(late, True, "", Counters(files_scanned=310, progress=30), now=9)
    assert (ended.status, ended.end_time, ended.files_scanned, ended.progress) == (SubtaskStatus.CANCELLED, 7, 310, 30)
    assert tasks.progress(ended, Counters(files_scanned=5), now=10).files_scanned == 310  # never backwards
    assert tasks.expire(sub, True, "late", now=8) == sub


def test_dispatch_only_from_pending() -> None:
    sub = tasks.dispatch(Subtask("s", 1, 1), now=1)
    assert sub.status is SubtaskStatus.DISPATCHED
    running = tasks.progress(sub, Counters(), now=2)
    assert tasks.dispatch(running, now=3).status is SubtaskStatus.RUNNING


def test_expire_times_out_or_fails() -> None:
    assert tasks.expire(Subtask("s", 1, 1), True, "slow", now=1).status is SubtaskStatus.TIMED_OUT
    assert tasks.expire(Subtask("s", 1, 1), False, "offline", now=1).status is SubtaskStatus.FAILED


def test_illegal_edge_raises() -> None:
    with pytest.raises(IllegalTransition):
        from fleetscan.core.states import check_transition

        check_transition(SubtaskStatus.RUNNING, SubtaskStatus.PENDING)
