"""Hostile input through the Alibaba dialect: strings inside JSON-valued parameters (TargetInfo, Param and its
targetInfo and scanPath) hold to the same rule as every other name and path. A value no backend can store is
refused with 400 InvalidParameter, changes nothing, and every action that would have read it keeps answering.

The poisoned values are JSON escapes (`\\udfff`, `\\u0000`), plain ASCII on the wire: the SDK sends them as is.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from alibabacloud_sas20181203 import models as sas

from tests.api.alibaba.helpers import Fleet, call, refused, sdk
from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant

DAY_MS = 86_400_000


@dataclass
class World:
    fleet: Fleet
    agent: ProtocolAgent
    task_id: int  # a task made before any poison was tried
    config_id: str  # and a cycle task


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> World:
    tenant = Tenant(server)
    fleet = Fleet(server, tenant, sdk(server, tenant.access_key_id, tenant.secret))
    agent = fleet.enroll("victim-01")
    task_id = fleet.start(agent)
    config_id = call(fleet.client, "CreateCycleTask", cycle_query(json.dumps({"targetInfo": []})))["body"]["ConfigId"]
    return World(fleet, agent, task_id, config_id)


def cycle_query(param: str) -> dict[str, object]:
    return {
        "TaskName": "nightly",
        "TaskType": "VIRUS_VUL_SCHEDULE_SCAN",
        "Enable": 1,
        "FirstDateStr": int(time.time() * 1000) + 3 * DAY_MS,
        "IntervalPeriod": 1,
        "PeriodUnit": "day",
        "TargetStartTime": 0,
        "TargetEndTime": 23,
        "Param": param,
    }


def state(w: World) -> tuple[int, int, str]:
    """Root tasks, cycle tasks and the first cycle task's Param: what a refused request must leave as it was."""
    c = w.fleet.client
    roots = c.list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task=True, page_size=100)).body
    cycles = c.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(page_size=100)).body
    mine = [row.param for row in cycles.cycle_schedule_response_list if row.config_id == w.config_id]
    return roots.page_info.total_count, cycles.page_info.total_count, mine[0]


def assert_every_reader_answers(w: World) -> None:
    c = w.fleet.client
    assert w.agent.http.get("/agent/v1/work").status_code == 200
    c.list_virus_scan_task(sas.ListVirusScanTaskRequest(page_size=100))
    c.get_virus_scan_latest_task_statistic()
    assert w.fleet.progress(w.task_id)
    c.describe_cycle_task_list(sas.DescribeCycleTaskListRequest(page_size=100))
    c.get_virus_scan_config(sas.GetVirusScanConfigRequest())


def refused_with(w: World, action: str, query: dict[str, object], parameter: str) -> None:
    before = state(w)
    err = refused(w.fleet.client, action, query)
    assert (err.status_code, err.code) == (400, "InvalidParameter"), err.message
    assert parameter in err.message
    assert state(w) == before
    assert_every_reader_answers(w)


POISON = ("x\\udfff", "x\\ud800y", "x\\u0000", "a\\tb")


def _targets(w: World, name: str) -> str:
    return '[{"type": "uuid", "target": "%s", "name": "%s"}]' % (w.agent.host_id, name)  # noqa: UP031


@pytest.mark.parametrize("name", POISON)
def test_start_task_target_names_hold_to_the_name_rule(world: World, name: str) -> None:
    refused_with(world, "StartVirusScanTask", {"TargetInfo": _targets(world, name)}, "TargetInfo")


@pytest.mark.parametrize("name", POISON)
def test_once_task_target_names_hold_to_the_name_rule(world: World, name: str) -> None:
    param = '{"targetInfo": %s}' % _targets(world, name)  # noqa: UP031
    refused_with(world, "CreateVirusScanOnceTask", {"ScanType": "system", "Param": param}, "Param")
    # targetInfo may itself be a JSON string; the same rule holds inside it.
    nested = json.dumps({"targetInfo": _targets(world, name)})
    refused_with(world, "CreateVirusScanOnceTask", {"ScanType": "system", "Param": nested}, "Param")


@pytest.mark.parametrize("path", ["/x\\udfff", "/x\\u0000", "/a\\nb"])
def test_cycle_task_scan_paths_hold_to_the_name_rule(world: World, path: str) -> None:
    param = '{"targetInfo": [], "scanType": "user", "scanPath": ["%s"]}' % path  # noqa: UP031
    refused_with(world, "CreateCycleTask", cycle_query(param), "Param")
    refused_with(world, "ModifyCycleTask", {"ConfigId": world.config_id, "Param": param}, "Param")


@pytest.mark.parametrize(
    "param",
    [
        "[" * 2000 + "]" * 2000,  # past the depth cap, and past json.loads's recursion on main
        '{"targetInfo": [], "x": ' + "9" * 30 + "}",
        '{"targetInfo": [], "x": NaN}',
        '{"targetInfo": [], "x": 1e400}',
        '{"targetInfo": [], "\\udfff": 1}',
    ],
    ids=["deep", "bigint", "nan", "inf", "key"],
)
def test_param_is_json_within_bounds(world: World, param: str) -> None:
    refused_with(world, "CreateCycleTask", cycle_query(param), "Param")
    refused_with(world, "CreateVirusScanOnceTask", {"ScanType": "system", "Param": param}, "Param")


@pytest.mark.parametrize(
    ("action", "query", "parameter"),
    [
        ("ListVirusScanTask", {"TaskId": "a\x00b"}, "TaskId"),
        ("DescribeCycleTaskList", {"ConfigId": "a\x00b"}, "ConfigId"),
        ("ModifyCycleTask", {"ConfigId": "a\x00b"}, "ConfigId"),
        ("ListVirusScanMachineEvent", {"Uuid": "a\x00b"}, "Uuid"),
        ("CreateVirusScanOnceTask", {"ScanType": "user", "ScanPath.1": "/a\x00b"}, "ScanPath.1"),
    ],
)
def test_nul_in_ids_and_paths_is_refused(world: World, action: str, query: dict[str, object], parameter: str) -> None:
    refused_with(world, action, query, parameter)
