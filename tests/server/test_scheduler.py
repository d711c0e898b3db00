"""Scheduled scans fire once per due time: over HTTP with both SDKs and two server processes on one database,
and under a crowd of concurrent claims with a fixed clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_sas20181203 import models as sas
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPolicyRequest,
    CreateAntiVirusPolicyRequestBody,
    ListAntiVirusPolicyRequest,
    ListAntiVirusTaskRequest,
)

from fleetscan.core.models import ScanType, StartType
from fleetscan.core.queries import Page, RootFilter
from fleetscan.core.schedules import HOUR_MS, CycleRule, PolicyRule, Schedule, ScheduleKind, TaskTemplate
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.storage import open_storage
from tests.api.alibaba.helpers import sdk
from tests.api.huawei.hss_support import tenant_client
from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant


@pytest.fixture
def replicas(database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    first = ServerProcess(database_url, "--schedule-interval", "0.1").start()
    second = ServerProcess(database_url, "--schedule-interval", "0.1").start()
    yield first, second
    first.stop()
    second.stop()


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until `probe` returns something truthy; the deadline only bounds a failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def now_ms() -> int:
    return int(time.time() * 1000)


def hss_tasks(hss: Any, name: str) -> list[Any]:
    found = hss.list_anti_virus_task(
        ListAntiVirusTaskRequest(offset=0, limit=200, whether_paid_task=False, task_name=name)
    )
    return [t for t in found.data_list if t.task_name == name]


def later_policy(hss: Any, name: str, at: int, host_ids: list[str]) -> str:
    body = CreateAntiVirusPolicyRequestBody(
        policy_name=name, start_type="later", scan_type="quick", action="manual", scan_time=at, host_ids=host_ids
    )
    policy_id: str = hss.create_anti_virus_policy(CreateAntiVirusPolicyRequest(body=body)).policy_id
    return policy_id


def test_later_and_periodic_fire_once_with_two_replicas(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = replicas
    tenant = Tenant(a)
    token = tenant.enroll_token()
    agents = [ProtocolAgent(a.url, token, "web-01"), ProtocolAgent(b.url, token, "web-02")]
    hss = tenant_client(tenant)  # through replica a
    ali = sdk(b, tenant.access_key_id, tenant.secret)  # through replica b
    start = now_ms() + 1500

    later_policy(hss, "later-once", start, [x.host_id for x in agents])
    cycle = ali.create_cycle_task(
        sas.CreateCycleTaskRequest(
            task_name="nightly",
            task_type="VIRUS_VUL_SCHEDULE_SCAN",
            enable=1,
            first_date_str=start,
            interval_period=1,
            period_unit="hour",
            target_start_time=0,
            target_end_time=23,
            param=json.dumps({"targetInfo": []}),
        )
    )
    config_id = cycle.body.config_id

    def system_roots() -> list[Any]:
        rows = ali.list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task=True, current_page=1, page_size=100))
        return [t for t in rows.body.list if t.scan_type == "system"]

    wait_for(lambda: hss_tasks(hss, "later-once"), "the later policy's task")
    wait_for(system_roots, "the cycle task's task")
    # A barrier, not a sleep: a second `later` policy due after both fired. By the time it has fired, both
    # replicas have passed over the first due times many times (every 0.1 s); they must not have fired again.
    later_policy(hss, "barrier", now_ms() + 1000, [agents[0].host_id])
    wait_for(lambda: hss_tasks(hss, "barrier"), "the barrier")

    once = hss_tasks(hss, "later-once")
    assert len(once) == 1
    assert once[0].start_type == "later" and once[0].host_num == 2 and once[0].task_status == "scanning"
    periodic = system_roots()
    assert len(periodic) == 1
    period_tasks = [t for t in hss_tasks(hss, "nightly")]
    assert len(period_tasks) == 1 and period_tasks[0].start_type == "period" and period_tasks[0].host_num == 2

    listed = ali.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(config_id=config_id)).body
    row = listed.cycle_schedule_response_list[0]
    assert row.last_task_id == periodic[0].task_id == period_tasks[0].task_id
    assert row.next_start_time_str == start + HOUR_MS  # every hour, the window is the whole day

    policies = hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=0, limit=10)).data_list
    fired = next(p for p in policies if p.policy_name == "later-once")
    assert fired.invalidate is True and fired.next_start_time == 0

    for agent in agents:  # each host got one subtask per fired schedule, whichever replica it asks
        names = sorted(item["task_name"] for item in agent.work())
        assert names.count("later-once") == 1
        assert len([n for n in names if n not in ("later-once", "barrier")]) == 1


def test_a_crowd_of_concurrent_claims_fires_each_due_time_once(database_url: str) -> None:
    storage = open_storage(database_url)
    clock = {"now": 1_800_000_000_000}
    plane = ControlPlane(storage, clock=lambda: clock["now"])
    try:
        token, _ = plane.create_credential("enroll", "crowd", "p-crowd")
        hosts = [plane.enroll(token, HostFacts(name=f"h{i}")).host for i in range(3)]
        scope = plane.create_access_key("crowd", "p-crowd").scope
        schedule = Schedule(
            "c" * 32,
            ScheduleKind.ALI_CYCLE,
            scope.account_id,
            scope.project_id,
            "crowd",
            CycleRule(clock["now"] + 1, 1, "hour"),
            TaskTemplate(ScanType.FULL, all_hosts=True),
        )
        later = Schedule(
            "d" * 32,
            ScheduleKind.HSS_POLICY,
            scope.account_id,
            scope.project_id,
            "later",
            PolicyRule(StartType.LATER, scan_time=clock["now"] + 1),
            TaskTemplate(ScanType.QUICK, host_ids=(hosts[0].host_id,)),
        )
        plane.create_schedule(scope, schedule)
        plane.create_schedule(scope, later)

        def crowd() -> int:
            with ThreadPoolExecutor(8) as pool:
                return sum(len(r) for r in pool.map(lambda _: plane.fire_schedules(), range(16)))

        assert crowd() == 0  # not due yet
        clock["now"] += 1
        assert crowd() == 2  # the cycle's first run and the later policy, once each
        assert crowd() == 0
        clock["now"] += HOUR_MS
        assert crowd() == 1  # the cycle's second run; the later policy is spent
        total, roots = plane.list_roots(scope, RootFilter(), Page(0, 100))
        assert total == 3
        assert sorted(r.origin.value for r in roots) == ["system", "system", "user"]
        views = plane.subtasks_of(scope, [r for r in roots if r.origin.value == "system"])
        assert all(len(v) == 3 for v in views.values())
    finally:
        storage.dispose()
