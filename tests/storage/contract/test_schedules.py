"""ScheduleStore: HSS policies and Alibaba cycle tasks as stored schedules (core/ports.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from fleetscan.core import tasks
from fleetscan.core.models import ScanType, Scope, StartType
from fleetscan.core.queries import Page, RootFilter
from fleetscan.core.schedules import CycleRule, PolicyRule, Schedule, ScheduleFilter, ScheduleKind, TaskTemplate
from fleetscan.core.schedules_plane import task_request
from fleetscan.core.service import ControlPlane
from fleetscan.storage import SqlStorage, open_storage

from .world import enrolled

POLICY = ScheduleKind.HSS_POLICY


def _schedule(scope: Scope, name: str, eps: str = "0", **fields: object) -> Schedule:
    made = Schedule(
        name.ljust(32, "0"),
        POLICY,
        scope.account_id,
        scope.project_id,
        name,
        PolicyRule(StartType.PERIOD, "day"),
        TaskTemplate(ScanType.QUICK, host_ids=("h",)),
        enterprise_project_id=eps,
        next_fire_at=1_000,
    )
    return replace(made, **fields)  # type: ignore[arg-type]


def test_a_schedule_reads_back_as_it_was_stored(plane: ControlPlane, store: SqlStorage) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    made = store.insert_schedule(_schedule(scope, "nightly", client_token="key-1"))
    assert made.id > 0
    assert store.get_schedule(scope, ScheduleFilter(POLICY, schedule_id=made.schedule_id)) == made
    assert store.get_schedule(scope, ScheduleFilter(ScheduleKind.ALI_CYCLE, schedule_id=made.schedule_id)) is None
    changed = replace(made, name="weekly", enabled=False, next_fire_at=None)
    store.update_schedule(changed)
    assert store.get_schedule(scope, ScheduleFilter(POLICY, schedule_id=made.schedule_id)) == changed


def test_listings_filter_by_kind_name_scan_type_and_scope(plane: ControlPlane, store: SqlStorage) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    only_e1 = plane.create_access_key("acct", "p1", ["e1"]).scope
    store.insert_schedule(_schedule(scope, "a-quick", "e1"))
    store.insert_schedule(_schedule(scope, "b-full", "e2", template=TaskTemplate(ScanType.FULL, host_ids=("h",))))
    store.insert_schedule(_schedule(scope, "c-cycle", kind=ScheduleKind.ALI_CYCLE, rule=CycleRule(1, 1, "day")))
    total, found = store.list_schedules(scope, ScheduleFilter(POLICY), Page(0, 10))
    assert total == 2 and [s.name for s in found] == ["b-full", "a-quick"]  # newest first
    assert store.list_schedules(scope, ScheduleFilter(POLICY, name="full"), Page(0, 10))[0] == 1
    assert store.list_schedules(scope, ScheduleFilter(POLICY, scan_type=ScanType.QUICK), Page(0, 10))[0] == 1
    assert [s.name for s in store.list_schedules(only_e1, ScheduleFilter(POLICY), Page(0, 10))[1]] == ["a-quick"]
    assert [s.name for s in store.list_schedules(scope, ScheduleFilter(POLICY), Page(1, 1))[1]] == ["a-quick"]
    other = plane.create_access_key("acct", "p2").scope
    assert store.list_schedules(other, ScheduleFilter(POLICY), Page(0, 10))[0] == 0


def test_a_client_token_finds_its_schedule_in_any_enterprise_project(plane: ControlPlane, store: SqlStorage) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    made = store.insert_schedule(_schedule(scope, "tokened", "e1", client_token="key-1"))
    elsewhere = plane.create_access_key("acct", "p1", ["e2"]).scope
    found = store.find_schedule_by_client_token(elsewhere, "key-1")
    assert found is not None and found.schedule_id == made.schedule_id
    assert store.get_schedule(elsewhere, ScheduleFilter(POLICY, schedule_id=made.schedule_id)) is None
    assert store.find_schedule_by_client_token(plane.create_access_key("acct", "p2").scope, "key-1") is None


def test_delete_takes_only_what_the_caller_may_see(plane: ControlPlane, store: SqlStorage) -> None:
    scope = plane.create_access_key("acct", "p1").scope
    only_e1 = plane.create_access_key("acct", "p1", ["e1"]).scope
    mine = store.insert_schedule(_schedule(scope, "mine", "e1"))
    theirs = store.insert_schedule(_schedule(scope, "theirs", "e2"))
    assert store.delete_schedules(only_e1, ScheduleFilter(POLICY), [mine.schedule_id, theirs.schedule_id]) == 1
    assert [s.name for s in store.list_schedules(scope, ScheduleFilter(POLICY), Page(0, 10))[1]] == ["theirs"]


def test_a_due_time_fires_once_across_replicas(database_url: str, plane: ControlPlane, store: SqlStorage) -> None:
    [host] = enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    template = TaskTemplate(ScanType.QUICK, host_ids=(host.host_id,))
    made = store.insert_schedule(_schedule(scope, "due", template=template))
    store.insert_schedule(_schedule(scope, "off", enabled=False))
    store.insert_schedule(_schedule(scope, "later", next_fire_at=5_000))
    assert [s.name for s in store.due_schedules(1_000, 10)] == ["due"]
    replicas = [store, open_storage(database_url, migrate=False)]
    try:

        def fire(i: int) -> bool:
            plan = tasks.plan_task(scope, task_request(made), [host], 1_000)
            return replicas[i % 2].fire_schedule(made.id, 1_000, 2_000, (plan.root, plan.subtasks))

        with ThreadPoolExecutor(4) as pool:
            assert sorted(pool.map(fire, range(8))) == [False] * 7 + [True]
    finally:
        replicas[1].dispose()
    fired = store.get_schedule(scope, ScheduleFilter(POLICY, schedule_id=made.schedule_id))
    assert fired is not None and (fired.next_fire_at, fired.last_fired_at) == (2_000, 1_000)
    total, [root] = store.list_roots(scope, RootFilter(), Page(0, 10))
    assert total == 1 and fired.last_task_id == root.task_id
    assert store.fire_schedule(made.id, 2_000, None, None)  # gone hosts: moved on, no task
    assert store.list_roots(scope, RootFilter(), Page(0, 10))[0] == 1
