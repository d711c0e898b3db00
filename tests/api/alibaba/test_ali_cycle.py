"""Alibaba periodic virus scans through the SDK: CreateCycleTask, ModifyCycleTask, DeleteCycleTask,
DescribeCycleTaskList, GetVirusScanConfig; ClientToken, DryRun and every bound."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from alibabacloud_sas20181203 import models as sas

from tests.api.alibaba.helpers import Fleet, call, refused, sdk
from tests.support.server import ServerProcess, Tenant

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
UTC8_MS = 8 * HOUR_MS


@pytest.fixture(scope="module")
def cyc(server: ServerProcess) -> Fleet:
    """One tenant with two hosts for the module; tests tell their cycle tasks apart by ConfigId."""
    tenant = Tenant(server)
    fleet = Fleet(server, tenant, sdk(server, tenant.access_key_id, tenant.secret))
    fleet.enroll("web-01")
    fleet.enroll("web-02")
    return fleet


def far_midnight_utc8() -> int:
    """Midnight at UTC+8, some days ahead: nothing here may fire while the tests run."""
    now = int(time.time() * 1000)
    return ((now + UTC8_MS) // DAY_MS + 3) * DAY_MS - UTC8_MS


def query(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "TaskName": "nightly",
        "TaskType": "VIRUS_VUL_SCHEDULE_SCAN",
        "Enable": 1,
        "FirstDateStr": far_midnight_utc8(),
        "IntervalPeriod": 1,
        "PeriodUnit": "day",
        "TargetStartTime": 0,
        "TargetEndTime": 23,
        "Param": json.dumps({"targetInfo": []}),
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def create(fleet: Fleet, **fields: Any) -> str:
    config_id: str = call(fleet.client, "CreateCycleTask", query(**fields))["body"]["ConfigId"]
    return config_id


def row(fleet: Fleet, config_id: str) -> Any:
    listed = fleet.client.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(config_id=config_id)).body
    assert listed.page_info.total_count == 1
    return listed.cycle_schedule_response_list[0]


def count(fleet: Fleet) -> int:
    body = fleet.client.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(page_size=100)).body
    total: int = body.page_info.total_count
    return total


def test_create_and_describe_with_the_sdk(cyc: Fleet) -> None:
    first = far_midnight_utc8()
    web1 = cyc.agents["web-01"]
    param = json.dumps(
        {
            "targetInfo": [{"type": "uuid", "target": web1.host_id, "name": "w1"}],
            "scanType": "user",
            "scanPath": ["/srv"],
        }
    )
    made = cyc.client.create_cycle_task(
        sas.CreateCycleTaskRequest(
            task_name="every-2-days",
            task_type="VIRUS_VUL_SCHEDULE_SCAN",
            enable=1,
            first_date_str=first,
            interval_period=2,
            period_unit="day",
            target_start_time=0,
            target_end_time=6,
            param=param,
            source="console_batch",
        )
    ).body
    got = row(cyc, made.config_id)
    assert (got.task_name, got.task_type, got.enable, got.first_date_str) == (
        "every-2-days",
        "VIRUS_VUL_SCHEDULE_SCAN",
        1,
        first,
    )
    assert (got.interval_period, got.period_unit, got.target_start_time, got.target_end_time) == (2, "day", 0, 6)
    assert got.next_start_time_str == first and got.last_task_id == ""
    echoed = json.loads(got.param)
    assert echoed["targetInfo"] == [{"type": "uuid", "target": web1.host_id, "name": "w1"}]
    assert (echoed["scanType"], echoed["scanPath"]) == ("user", ["/srv"])
    raw = call(cyc.client, "DescribeCycleTaskList", {"ConfigId": made.config_id})["body"]
    entry = raw["CycleScheduleResponseList"][0]
    assert all(type(entry[k]) is int for k in ("Enable", "FirstDateStr", "IntervalPeriod", "NextStartTimeStr"))
    assert raw["PageInfo"] == {"CurrentPage": 1, "PageSize": 20, "TotalCount": 1, "Count": 1}
    config = cyc.client.get_virus_scan_config(sas.GetVirusScanConfigRequest(task_type="VIRUS_VUL_SCHEDULE_SCAN"))
    data = config.body.data
    assert (data.config_id, data.scan_type, data.scan_path, data.interval_period) == (
        made.config_id,
        "user",
        ["/srv"],
        2,
    )


def test_a_run_due_outside_the_window_starts_at_its_opening(cyc: Fleet) -> None:
    midnight = far_midnight_utc8()
    config_id = create(cyc, FirstDateStr=midnight + 4 * HOUR_MS, TargetStartTime=6, TargetEndTime=8)
    assert row(cyc, config_id).next_start_time_str == midnight + 6 * HOUR_MS  # 06:00 at UTC+8
    late = create(cyc, FirstDateStr=midnight + 9 * HOUR_MS, TargetStartTime=6, TargetEndTime=8)
    assert row(cyc, late).next_start_time_str == midnight + DAY_MS + 6 * HOUR_MS  # the next day's opening


def test_client_token_and_dry_run(cyc: Fleet) -> None:
    token = uuid.uuid4().hex
    first = create(cyc, ClientToken=token)
    assert create(cyc, ClientToken=token, TaskName="other") == first
    assert row(cyc, first).task_name == "nightly"
    before = count(cyc)
    error = refused(cyc.client, "CreateCycleTask", query(DryRun="true"))
    assert (error.statusCode, error.code) == (400, "DryRunOperation")
    error = refused(cyc.client, "CreateCycleTask", query(DryRun="true", TargetStartTime=24))
    assert error.code == "InvalidParameter"  # a dry run validates first
    assert count(cyc) == before


def test_modify_disable_enable_and_delete(cyc: Fleet) -> None:
    config_id = create(cyc)
    call(cyc.client, "ModifyCycleTask", {"ConfigId": config_id, "Enable": 0, "IntervalPeriod": 3})
    got = row(cyc, config_id)
    assert (got.enable, got.interval_period, got.next_start_time_str, got.task_name) == (0, 3, 0, "nightly")
    cyc.client.modify_cycle_task(sas.ModifyCycleTaskRequest(config_id=config_id, enable=1, period_unit="hour"))
    got = row(cyc, config_id)
    assert (got.enable, got.period_unit, got.next_start_time_str) == (1, "hour", far_midnight_utc8())
    error = refused(cyc.client, "ModifyCycleTask", {"ConfigId": config_id, "PeriodUnit": "day", "IntervalPeriod": 366})
    assert error.code == "InvalidParameter" and row(cyc, config_id).interval_period == 3
    cyc.client.delete_cycle_task(sas.DeleteCycleTaskRequest(config_id=config_id))
    listed = cyc.client.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(config_id=config_id)).body
    assert listed.page_info.total_count == 0 and listed.cycle_schedule_response_list == []
    error = refused(cyc.client, "DeleteCycleTask", {"ConfigId": config_id})
    assert (error.statusCode, error.code) == (404, "InvalidTaskId.NotFound")


def test_another_tenants_cycle_tasks_are_invisible(cyc: Fleet, server: ServerProcess) -> None:
    config_id = create(cyc)
    tenant = Tenant(server)
    other = sdk(server, tenant.access_key_id, tenant.secret)
    for action, extra in (("ModifyCycleTask", {"TaskName": "x"}), ("DeleteCycleTask", {})):
        error = refused(other, action, {"ConfigId": config_id, **extra})
        assert (error.statusCode, error.code) == (404, "InvalidTaskId.NotFound")
    listed = other.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(config_id=config_id)).body
    assert listed.page_info.total_count == 0
    assert other.get_virus_scan_config(sas.GetVirusScanConfigRequest()).body.data.enable == 0
    assert row(cyc, config_id).task_name == "nightly"


# (fields, accepted): one step inside and one step outside every bound
BOUNDS: list[tuple[dict[str, Any], bool]] = [
    ({"TargetStartTime": 23, "TargetEndTime": 23}, True),
    ({"TargetStartTime": 24}, False),
    ({"TargetEndTime": -1}, False),
    ({"TargetStartTime": 22, "TargetEndTime": 4}, True),  # wraps past midnight
    ({"IntervalPeriod": 0}, False),
    ({"IntervalPeriod": 365}, True),
    ({"IntervalPeriod": 366}, False),
    ({"IntervalPeriod": 8760, "PeriodUnit": "hour"}, True),
    ({"IntervalPeriod": 8761, "PeriodUnit": "hour"}, False),
    ({"PeriodUnit": "week"}, False),
    ({"Enable": 2}, False),
    ({"Enable": "yes"}, False),
    ({"FirstDateStr": -1}, False),
    ({"FirstDateStr": "tomorrow"}, False),
    ({"TaskType": "IMAGE_SCAN"}, False),
    ({"TaskName": None}, False),
    ({"TaskName": "n" * 255}, True),
    ({"TaskName": "n" * 256}, False),
    ({"Param": None}, False),
    ({"Param": "not json"}, False),
    ({"Param": "[]"}, False),
    ({"Param": json.dumps({"scanType": "system"})}, False),  # no targetInfo
    ({"Param": json.dumps({"targetInfo": [{"type": "uuid", "target": "no-such-host"}]})}, False),
    ({"Param": json.dumps({"targetInfo": [], "scanType": "user"})}, False),  # user needs paths
    ({"Param": json.dumps({"targetInfo": [], "scanType": "user", "scanPath": ["/a"] * 20})}, True),
    ({"Param": json.dumps({"targetInfo": [], "scanType": "user", "scanPath": ["/a"] * 21})}, False),
    ({"ClientToken": "t" * 65}, False),
    ({"DryRun": "maybe"}, False),
]


@pytest.mark.parametrize(("fields", "accepted"), BOUNDS)
def test_create_bounds(cyc: Fleet, fields: dict[str, Any], accepted: bool) -> None:
    before = count(cyc)
    if accepted:
        create(cyc, **fields)
        assert count(cyc) == before + 1
    else:
        error = refused(cyc.client, "CreateCycleTask", query(**fields))
        assert error.statusCode == 400 and error.code in ("InvalidParameter", "MissingParameter")
        assert count(cyc) == before
