"""Tenant boundaries through both dialects: enterprise projects are the hosts', client tokens are the project's.

One tenant has a host in each of the enterprise projects `0`, `e1` and `e2`, tasks that span several of them
(HSS `all_granted_eps`, an Alibaba once-task without targets, an Alibaba task over chosen hosts), detections,
handling history, quarantined files and cycle tasks on every host. A key granted only `0` then reads through
every operation of both dialects and acts on the other enterprise projects' rows: it must see none of them and
change none of them. Each read counts the rows it shows across the boundary; the sum must be 0.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkhss.v5 import (
    ChangeAntivirusPolicyRequest,
    ChangeAntivirusPolicyRequestInfo,
    ChangeIsolatedFileRequest,
    ChangeIsolatedFileRequestInfo,
    CreateAntiVirusPolicyRequest,
    CreateAntiVirusPolicyRequestBody,
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    DeleteAntivirusPolicyRequest,
    DeleteAntivirusPolicyRequestInfo,
    HandleAntiVirusResultRequest,
    HssClient,
    IsolatedFileRequestInfo,
    ListAntivirusHandleHistoryRequest,
    ListAntiVirusHostRequest,
    ListAntiVirusPolicyRequest,
    ListAntiVirusResultRequest,
    ListAntiVirusTaskRequest,
    ListIsolatedFileRequest,
    OperateAntiVirusResultRequestInfo,
    OperateResultRequestInfo,
    ShowAntivirusStatisticRequest,
    SwitchAntivirusTaskRequest,
    SwitchAntivirusTaskRequestInfo,
)

from tests.api.alibaba.helpers import call, sdk
from tests.api.huawei.hss_support import Fleet, client, raw_json, tenant_client
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.server import ServerProcess, Tenant

ALL = "all_granted_eps"
EPS = {"zero": "0", "one": "e1", "two": "e2"}
DAY_MS = 86_400_000


def _finding(host: str, task: str, quarantine: bool = False) -> dict[str, Any]:
    found = finding(f"/srv/{host}-host/{task}.bin", severity="High")
    if quarantine:
        found["quarantine"] = {"quarantine_id": uuid.uuid4().hex, "sha256": found["file_hash"]}
    return found


def _cycle(name: str, targets: list[tuple[str, str]], token: str | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "TaskName": name,
        "TaskType": "VIRUS_VUL_SCHEDULE_SCAN",
        "Enable": 1,
        "FirstDateStr": 4_000_000_000_000,  # 2096: nothing fires while the tests run
        "IntervalPeriod": 1,
        "PeriodUnit": "day",
        "TargetStartTime": 0,
        "TargetEndTime": 23,
        "Param": json.dumps({"targetInfo": [{"type": "uuid", "target": t, "name": n} for n, t in targets]}),
    }
    if token is not None:
        query["ClientToken"] = token
    return query


@dataclass
class World:
    server: ServerProcess
    tenant: Tenant
    fleet: Fleet
    full_hss: HssClient
    full_ali: Any
    tasks: dict[str, str] = field(default_factory=dict)  # name -> 32-hex task id
    numeric: dict[str, int] = field(default_factory=dict)  # Alibaba ScanTaskId
    results: dict[str, list[str]] = field(default_factory=dict)  # host -> result ids
    cycles: dict[str, str] = field(default_factory=dict)  # name -> ConfigId
    policies: dict[str, str] = field(default_factory=dict)  # name -> policy_id
    handled_ids: dict[str, str] = field(default_factory=dict)
    unhandled: dict[str, str] = field(default_factory=dict)

    def host_id(self, name: str) -> str:
        return self.fleet.host_id(f"{name}-host")

    def handled(self, name: str) -> str:
        """The result of host `name` that the unrestricted key marked as handled."""
        return self.handled_ids[name]

    def foreign_markers(self) -> list[str]:
        """What only rows of `e1` and `e2` hosts carry: names, ids, file paths."""
        out = []
        for name in ("one", "two"):
            agent = self.fleet.agents[f"{name}-host"]
            out += [f"{name}-host", agent.host_id, agent.agent_id, *self.results[name]]
        return out


def _hss_task(w: World, name: str, hosts: list[str]) -> None:
    body = CreateAntiVirusTaskRequestInfo(
        task_name=name, scan_type="quick", action="manual", host_ids=[w.host_id(h) for h in hosts]
    )
    request = CreateAntiVirusTaskRequest(body=body, enterprise_project_id=ALL)
    w.tasks[name] = w.full_hss.create_anti_virus_task(request).task_id


def _ali_task(w: World, name: str, hosts: list[str]) -> None:
    info = [{"type": "uuid", "name": "", "target": w.host_id(h)} for h in hosts]
    w.numeric[name] = call(w.full_ali, "StartVirusScanTask", {"TargetInfo": json.dumps(info)})["body"]["ScanTaskId"]


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> World:
    tenant = Tenant(server)
    fleet = Fleet(tenant)
    for name, eps in EPS.items():
        fleet.enroll(f"{name}-host", "--host-enterprise-project-id", eps, private_ip=f"10.7.0.{len(name)}")
    w = World(server, tenant, fleet, tenant_client(tenant), sdk(server, tenant.access_key_id, tenant.secret))
    _hss_task(w, "mixed-hss", ["zero", "one", "two"])  # all_granted_eps over three enterprise projects
    _hss_task(w, "foreign-hss", ["one", "two"])  # none of it in `0`
    _ali_task(w, "mixed-ali", ["zero", "one"])
    _ali_task(w, "foreign-ali", ["two"])
    call(w.full_ali, "CreateVirusScanOnceTask", {})  # no targets: every host of the key
    for name in EPS:
        agent = fleet.agents[f"{name}-host"]
        w.results[name] = []
        for index, item in enumerate(agent.work()):
            found = [_finding(name, f"t{index}", quarantine=index == 0), _finding(name, f"t{index}-b")]
            assert agent.progress(item["subtask_id"], progress=50, detections=found).status_code == 200
    listed = w.full_hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=200, enterprise_project_id=ALL))
    for name in EPS:
        mine = [r for r in listed.data_list if r.resource_info.host_name == f"{name}-host"]
        unhandled = [r.result_id for r in mine if r.handle_status == "unhandled"]
        assert len(unhandled) >= 2, name
        _operate(w.full_hss, "mark_as_handled", [unhandled[-1]])
        w.handled_ids[name], w.unhandled[name] = unhandled[-1], unhandled[0]
        w.results[name] = [r.result_id for r in mine]
    w.cycles["foreign-cycle"] = call(w.full_ali, "CreateCycleTask", _cycle("foreign-cycle", _targets(w, "one", "two")))[
        "body"
    ]["ConfigId"]
    w.cycles["all-cycle"] = call(w.full_ali, "CreateCycleTask", _cycle("all-cycle", []))["body"]["ConfigId"]
    w.cycles["zero-cycle"] = call(w.full_ali, "CreateCycleTask", _cycle("zero-cycle", _targets(w, "zero")))["body"][
        "ConfigId"
    ]
    for name, hosts, eps in (("foreign-policy", ["one", "two"], ALL), ("e1-policy", ["one"], "e1")):
        body = CreateAntiVirusPolicyRequestBody(
            policy_name=name,
            start_type="period",
            scan_period="day",
            scan_hour=2,
            scan_minute=30,
            scan_type="quick",
            action="manual",
            host_ids=[w.host_id(h) for h in hosts],
        )
        made = w.full_hss.create_anti_virus_policy(CreateAntiVirusPolicyRequest(body=body, enterprise_project_id=eps))
        w.policies[name] = made.policy_id
    return w


def _targets(w: World, *names: str) -> list[tuple[str, str]]:
    return [(f"{n}-host", w.host_id(n)) for n in names]


def _operate(hss: HssClient, op: str, result_ids: list[str], eps: str = ALL) -> None:
    body = OperateAntiVirusResultRequestInfo(
        operate_type=op, operate_results=[OperateResultRequestInfo(result_id=r) for r in result_ids]
    )
    hss.handle_anti_virus_result(HandleAntiVirusResultRequest(body=body, enterprise_project_id=eps))


def _crossing(rows: list[Any], markers: list[str]) -> int:
    """Rows that show anything of another enterprise project's hosts."""
    return sum(1 for row in rows if any(m in json.dumps(row) for m in markers))


# ------------------------------------------------------------------------------------------ the state
def _state(w: World) -> dict[str, Any]:
    """What the unrestricted key sees of everything: a refused action must leave all of it as it was."""
    hss = w.full_hss
    tasks = raw_json(
        hss.list_anti_virus_task(
            ListAntiVirusTaskRequest(offset=0, limit=200, whether_paid_task=False, enterprise_project_id=ALL)
        )
    )["data_list"]
    results = raw_json(hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=200, enterprise_project_id=ALL)))
    isolated = raw_json(hss.list_isolated_file(ListIsolatedFileRequest(limit=200, enterprise_project_id=ALL)))
    history = hss.list_antivirus_handle_history(ListAntivirusHandleHistoryRequest(limit=10, enterprise_project_id=ALL))
    cycles = call(w.full_ali, "DescribeCycleTaskList", {"PageSize": 100})["body"]["CycleScheduleResponseList"]
    policies = raw_json(
        hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=0, limit=200, enterprise_project_id=ALL))
    )["data_list"]
    return {
        "policies": sorted(json.dumps(p, sort_keys=True) for p in policies),
        "tasks": sorted(
            (t["task_id"], t["task_status"], h["host_id"], h["host_task_status"], h["virus_num"])
            for t in tasks
            for h in t["host_info_list"]
        ),
        "results": sorted((r["result_id"], r["handle_status"], r["isolate_tag"]) for r in results["data_list"]),
        "isolated": sorted((f["host_id"], f["file_path"], f["isolation_status"]) for f in isolated["data_list"]),
        "history": history.total_num,
        "cycles": sorted((c["ConfigId"], c["Enable"], c["Param"], c["NextStartTimeStr"]) for c in cycles),
    }


# ------------------------------------------------------------------------------------------ reads
Read = Callable[[World, HssClient, Any, str], int]


def _hss_tasks(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    markers = w.foreign_markers() + [w.tasks["foreign-hss"]]
    crossing = 0
    for host_name in (None, "one-host", "two-host"):  # a foreign host's name must not find its task either
        request = ListAntiVirusTaskRequest(
            offset=0, limit=200, whether_paid_task=False, enterprise_project_id=eps, host_name=host_name
        )
        tasks = raw_json(hss.list_anti_virus_task(request))["data_list"]
        crossing += _crossing(tasks, markers)
        crossing += sum(t["host_num"] - len(t["host_info_list"]) for t in tasks if host_name is None)
    return crossing


def _hss_results(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = raw_json(hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=200, enterprise_project_id=eps)))
    return _crossing(rows["data_list"], w.foreign_markers())


def _hss_statistic(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    stats = raw_json(hss.show_antivirus_statistic(ShowAntivirusStatisticRequest(enterprise_project_id=eps)))
    own_tasks = 3  # mixed-hss, mixed-ali and the once-task: the others hold no host of `0`
    return (
        abs(stats["total_malware_num"] - len(w.results["zero"]))
        + abs(stats["malware_host_num"] - 1)
        + abs(stats["total_task_num"] - own_tasks)
    )


def _hss_hosts(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = raw_json(hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=200, enterprise_project_id=eps)))
    return _crossing(rows["data_list"], w.foreign_markers())


def _hss_history(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    request = ListAntivirusHandleHistoryRequest(limit=200, enterprise_project_id=eps)
    return _crossing(raw_json(hss.list_antivirus_handle_history(request))["data_list"], w.foreign_markers())


def _hss_isolated(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    request = ListIsolatedFileRequest(limit=200, enterprise_project_id=eps)
    return _crossing(raw_json(hss.list_isolated_file(request))["data_list"], w.foreign_markers())


def _ali_machine_rows(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = call(ali, "ListVirusScanTask", {"PageSize": 100})["body"]["List"]
    return _crossing(rows, w.foreign_markers())


def _ali_root_rows(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = call(ali, "ListVirusScanTask", {"PageSize": 100, "RootTask": "true"})["body"]["List"]
    by_name = call(ali, "ListVirusScanTask", {"PageSize": 100, "RootTask": "true", "MachineName": "two-host"})
    return _crossing(rows, [w.tasks["foreign-hss"]]) + len(by_name["body"]["List"])


def _ali_latest(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    data = call(ali, "GetVirusScanLatestTaskStatistic", {})["body"]["Data"]
    return _crossing([data], w.foreign_markers()) + abs(data["ScanMachine"] - 1)


def _ali_progress(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    crossing = 0
    try:
        call(ali, "DescribeScanTaskProgress", {"TaskId": w.numeric["foreign-ali"]})
        crossing += 1
    except ClientException as exc:
        assert exc.status_code == 404 and exc.code == "InvalidTaskId.NotFound", (exc.status_code, exc.code)
    mixed = call(ali, "DescribeScanTaskProgress", {"TaskId": w.numeric["mixed-ali"]})["body"]
    return crossing + _crossing(json.loads(mixed["TargetInfo"]), w.foreign_markers())


def _ali_machines(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = call(ali, "ListVirusScanMachine", {"CurrentPage": 1, "PageSize": 100})["body"]["Data"]
    return _crossing(rows, w.foreign_markers())


def _ali_events(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    crossing = 0
    for query in ({}, {"Uuid": w.host_id("one")}, {"OperateTaskId": w.tasks["foreign-hss"]}):
        rows = call(ali, "ListVirusScanMachineEvent", {"PageSize": 100, **query})["body"]["Data"]
        crossing += len(rows) if query else _crossing(rows, w.foreign_markers())
    return crossing


def _ali_quarantine(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = call(ali, "DescribeSuspEventQuaraFiles", {"PageSize": 100})["body"]["QuaraFiles"]
    return _crossing(rows, w.foreign_markers())


def _ali_cycles(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    rows = call(ali, "DescribeCycleTaskList", {"PageSize": 100})["body"]["CycleScheduleResponseList"]
    foreign = [w.cycles["foreign-cycle"], w.cycles["all-cycle"]]
    config = call(ali, "GetVirusScanConfig", {})["body"]["Data"]
    return _crossing(rows, w.foreign_markers() + foreign) + _crossing([config], foreign)


def _hss_policies(w: World, hss: HssClient, ali: Any, eps: str) -> int:
    request = ListAntiVirusPolicyRequest(offset=0, limit=200, enterprise_project_id=eps)
    rows = raw_json(hss.list_anti_virus_policy(request))["data_list"]
    return _crossing(rows, w.foreign_markers() + list(w.policies.values()))


READS: dict[str, Read] = {
    "HSS ListAntiVirusTask": _hss_tasks,
    "HSS ListAntiVirusResult": _hss_results,
    "HSS ShowAntivirusStatistic": _hss_statistic,
    "HSS ListAntiVirusHost": _hss_hosts,
    "HSS ListAntivirusHandleHistory": _hss_history,
    "HSS ListIsolatedFile": _hss_isolated,
    "HSS ListAntiVirusPolicy": _hss_policies,
    "Alibaba ListVirusScanTask": _ali_machine_rows,
    "Alibaba ListVirusScanTask RootTask": _ali_root_rows,
    "Alibaba GetVirusScanLatestTaskStatistic": _ali_latest,
    "Alibaba DescribeScanTaskProgress": _ali_progress,
    "Alibaba ListVirusScanMachine": _ali_machines,
    "Alibaba ListVirusScanMachineEvent": _ali_events,
    "Alibaba DescribeSuspEventQuaraFiles": _ali_quarantine,
    "Alibaba DescribeCycleTaskList, GetVirusScanConfig": _ali_cycles,
}


# ------------------------------------------------------------------------------------------ actions
Action = Callable[[World, HssClient, Any], Any]


def _isolated_of(w: World, name: str) -> Any:
    listed = w.full_hss.list_isolated_file(ListIsolatedFileRequest(limit=200, enterprise_project_id=EPS[name]))
    return next(f for f in listed.data_list if f.host_id == w.host_id(name))


def _quara_id_of(w: World, name: str) -> int:
    rows = call(w.full_ali, "DescribeSuspEventQuaraFiles", {"PageSize": 100})["body"]["QuaraFiles"]
    return int(next(r["Id"] for r in rows if r["Uuid"] == w.host_id(name)))


def _switch(task: str, hosts: list[str] | None = None) -> Action:
    def act(w: World, hss: HssClient, ali: Any) -> Any:
        body = SwitchAntivirusTaskRequestInfo(
            task_id=w.tasks[task], host_ids=[w.host_id(h) for h in hosts] if hosts else None
        )
        return hss.switch_antivirus_task(SwitchAntivirusTaskRequest(body=body, enterprise_project_id=ALL))

    return act


def _handle(name: str, op: str) -> Action:
    return lambda w, hss, ali: _operate(hss, op, [w.unhandled[name]])


def _restore(name: str) -> Action:
    def act(w: World, hss: HssClient, ali: Any) -> Any:
        f = _isolated_of(w, name)
        item = IsolatedFileRequestInfo(host_id=f.host_id, file_hash=f.file_hash, file_path=f.file_path)
        body = ChangeIsolatedFileRequestInfo(data_list=[item])
        return hss.change_isolated_file(ChangeIsolatedFileRequest(body=body, enterprise_project_id=ALL))

    return act


def _rescan(task: str) -> Action:
    def act(w: World, hss: HssClient, ali: Any) -> Any:
        body = CreateAntiVirusTaskRequestInfo(task_id=w.tasks[task])
        return hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body, enterprise_project_id=ALL))

    return act


def _ali(action: str, query: Callable[[World], dict[str, Any]]) -> Action:
    return lambda w, hss, ali: call(ali, action, query(w))


def _change_policy(w: World, hss: HssClient, ali: Any) -> Any:
    body = ChangeAntivirusPolicyRequestInfo(policy_id=w.policies["foreign-policy"], policy_name="taken")
    return hss.change_antivirus_policy(ChangeAntivirusPolicyRequest(body=body, enterprise_project_id=ALL))


def _delete_policy(w: World, hss: HssClient, ali: Any) -> Any:
    body = DeleteAntivirusPolicyRequestInfo(policy_ids=[w.policies["foreign-policy"]])
    return hss.delete_antivirus_policy(DeleteAntivirusPolicyRequest(body=body, enterprise_project_id=ALL))


ACTIONS: dict[str, Action] = {
    "HSS SwitchAntivirusTask, a task of e1 and e2": _switch("foreign-hss"),
    "HSS SwitchAntivirusTask, the e1 host of a mixed task": _switch("mixed-hss", ["one"]),
    "HSS HandleAntiVirusResult mark_as_handled, an e1 result": _handle("one", "mark_as_handled"),
    "HSS HandleAntiVirusResult add_to_alarm_whitelist, an e2 result": _handle("two", "add_to_alarm_whitelist"),
    "HSS HandleAntiVirusResult unhandle, a handled e1 result": lambda w, hss, ali: _operate(
        hss, "unhandle", [w.handled("one")]
    ),
    "HSS ChangeIsolatedFile, an e1 file": _restore("one"),
    "HSS CreateAntiVirusTask rescan, a task of e1 and e2": _rescan("foreign-hss"),
    "HSS ChangeAntivirusPolicy, a policy over e1 and e2": _change_policy,
    "HSS DeleteAntivirusPolicy, a policy over e1 and e2": _delete_policy,
    "Alibaba RollbackSuspEventQuaraFile, an e2 file": _ali(
        "RollbackSuspEventQuaraFile", lambda w: {"QuaraFileId": _quara_id_of(w, "two")}
    ),
    "Alibaba ModifyCycleTask, a cycle over e1 and e2": _ali(
        "ModifyCycleTask", lambda w: {"ConfigId": w.cycles["foreign-cycle"], "Enable": 0}
    ),
    "Alibaba DeleteCycleTask, a cycle over e1 and e2": _ali(
        "DeleteCycleTask", lambda w: {"ConfigId": w.cycles["foreign-cycle"]}
    ),
    "Alibaba DeleteCycleTask, a cycle over every host": _ali(
        "DeleteCycleTask", lambda w: {"ConfigId": w.cycles["all-cycle"]}
    ),
    "Alibaba StartVirusScanTask, an e2 host": _ali(
        "StartVirusScanTask",
        lambda w: {"TargetInfo": json.dumps([{"type": "uuid", "name": "", "target": w.host_id("two")}])},
    ),
}


def _refusal(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ClientRequestException):
        return exc.status_code, exc.error_code
    assert isinstance(exc, ClientException)
    return int(exc.status_code or 0), str(exc.code)


def test_a_key_of_one_enterprise_project_sees_and_changes_nothing_of_the_others(world: World) -> None:
    ak, sk = world.tenant.key("0")
    hss = client(world.server, ak, sk, world.tenant.project_id)
    ali = sdk(world.server, ak, sk)

    crossing: dict[str, int] = {}
    reads = 0
    for name, read in READS.items():
        for eps in ("0", ALL) if name.startswith("HSS") else ("0",):
            crossing[f"{name} ({eps})"] = read(world, hss, ali, eps)
            reads += 1
    own = raw_json(hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=200)))["total_num"]

    before = _state(world)
    refusals: dict[str, tuple[int, str]] = {}
    for name, act in ACTIONS.items():
        try:
            act(world, hss, ali)
        except (ClientRequestException, ClientException) as exc:
            refusals[name] = _refusal(exc)
        else:
            refusals[name] = (200, "accepted")
    after = _state(world)
    changed = {k for k in before if before[k] != after[k]}

    print(f"\ntenant boundaries: {reads} reads, {len(ACTIONS)} actions checked by a key granted only `0`")
    refused = sum(1 for status, _ in refusals.values() if status >= 400)
    print(f"rows across enterprise projects: {sum(crossing.values())}; actions refused: {refused} of {len(refusals)}")
    for name, (status, code) in refusals.items():
        print(f"  {status} {code}: {name}")
    assert {k: v for k, v in crossing.items() if v} == {}
    assert own == len(world.results["zero"]) > 0  # the reads are not empty: the key sees its own host's rows
    assert {k: v for k, v in refusals.items() if v[0] not in (400, 403, 404)} == {}
    assert changed == set()


def test_a_mixed_task_shows_each_key_its_own_hosts(world: World) -> None:
    """A key granted `e1` sees the mixed task with its e1 host only, and the task's totals over that host."""
    ak, sk = world.tenant.key("e1")
    hss = client(world.server, ak, sk, world.tenant.project_id)
    request = ListAntiVirusTaskRequest(offset=0, limit=200, whether_paid_task=False, enterprise_project_id=ALL)
    tasks = {t["task_name"]: t for t in raw_json(hss.list_anti_virus_task(request))["data_list"]}
    mixed = tasks["mixed-hss"]
    assert [h["host_name"] for h in mixed["host_info_list"]] == ["one-host"]
    assert mixed["host_num"] == 1
    assert {h["host_name"] for t in tasks.values() for h in t["host_info_list"]} == {"one-host"}
    # the e1 key cancels the mixed task: its e1 host only
    hss.switch_antivirus_task(
        SwitchAntivirusTaskRequest(
            body=SwitchAntivirusTaskRequestInfo(task_id=world.tasks["mixed-hss"]), enterprise_project_id=ALL
        )
    )
    full = raw_json(world.full_hss.list_anti_virus_task(request))["data_list"]
    statuses = {
        h["host_name"]: h["host_task_status"]
        for t in full
        if t["task_name"] == "mixed-hss"
        for h in t["host_info_list"]
    }
    assert statuses["one-host"] == "cancel" and statuses["two-host"] != "cancel"


# ------------------------------------------------------------------------------------------ the whitelist
def test_a_whitelist_entry_holds_in_its_own_enterprise_project(server: ServerProcess) -> None:
    tenant = Tenant(server)
    fleet = Fleet(tenant)
    for name, eps in (("one", "e1"), ("two", "e2")):
        fleet.enroll(f"{name}-host", "--host-enterprise-project-id", eps)
    full = tenant_client(tenant)
    subs = {}
    for name, eps in (("one", "e1"), ("two", "e2")):
        body = CreateAntiVirusTaskRequestInfo(
            task_name=name, scan_type="quick", action="manual", host_ids=[fleet.host_id(f"{name}-host")]
        )
        task_id = full.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body, enterprise_project_id=eps)).task_id
        subs[name] = fleet.subtask(f"{name}-host", task_id)
    same = b"the same known-good tool"
    one, two = fleet.agents["one-host"], fleet.agents["two-host"]
    sub_one, sub_two = subs["one"], subs["two"]
    assert one.progress(sub_one, detections=[finding("/opt/tool", content=same)]).status_code == 200

    ak, sk = tenant.key("e1")
    limited = client(server, ak, sk, tenant.project_id)
    listed = limited.list_anti_virus_result(ListAntiVirusResultRequest(limit=10, enterprise_project_id="e1"))
    _operate(limited, "add_to_alarm_whitelist", [r.result_id for r in listed.data_list], eps="e1")

    digest = finding("/x", content=same)["file_hash"]
    assert digest in _whitelist(one)["file_hashes"]
    assert digest not in _whitelist(two)["file_hashes"]
    assert two.progress(sub_two, detections=[finding("/usr/bin/tool", content=same)]).status_code == 200
    assert one.progress(sub_one, detections=[finding("/opt/tool-copy", content=same)]).status_code == 200
    rows = full.list_anti_virus_result(ListAntiVirusResultRequest(limit=10, enterprise_project_id=ALL)).data_list
    found = sorted((r.resource_info.host_name, r.file_info.file_path) for r in rows)
    print(f"\nwhitelisted in e1: findings kept {found}")
    assert found == [("one-host", "/opt/tool"), ("two-host", "/usr/bin/tool")]


def _whitelist(agent: ProtocolAgent) -> dict[str, list[str]]:
    reply = agent.http.get("/agent/v1/work")
    reply.raise_for_status()
    whitelist: dict[str, list[str]] = reply.json()["whitelist"]
    return whitelist


# ------------------------------------------------------------------------------------------ client tokens
class _Project(Tenant):
    """Another project of the same account."""

    def __init__(self, server: ServerProcess, account: str, *enterprise_project_ids: str) -> None:
        self.server = server
        self.project_id = uuid.uuid4().hex
        self.account = account
        self._flags = ["--account", account, "--project-id", self.project_id]
        self.access_key_id, self.secret = self.key(*enterprise_project_ids)


def test_client_tokens_belong_to_a_project(server: ServerProcess) -> None:
    a = Tenant(server)
    b = _Project(server, a.account)
    made: dict[str, tuple[str, str]] = {}
    for tenant in (a, b):
        ProtocolAgent(server.url, tenant.enroll_token(), "host")
        ali = sdk(server, tenant.access_key_id, tenant.secret)
        config = call(ali, "CreateCycleTask", _cycle("nightly", [], token="token-1"))["body"]["ConfigId"]
        again = call(ali, "CreateCycleTask", _cycle("nightly", [], token="token-1"))["body"]["ConfigId"]
        assert again == config  # the same project's retry gets its first answer back
        call(ali, "CreateVirusScanOnceTask", {"ClientToken": "token-2"})
        call(ali, "CreateVirusScanOnceTask", {"ClientToken": "token-2"})
        roots = call(ali, "ListVirusScanTask", {"RootTask": "true", "PageSize": 100})["body"]["List"]
        cycles = call(ali, "DescribeCycleTaskList", {"PageSize": 100})["body"]["CycleScheduleResponseList"]
        assert [c["ConfigId"] for c in cycles] == [config] and len(roots) == 1, (cycles, roots)
        made[tenant.project_id] = (config, roots[0]["TaskId"])
    assert made[a.project_id][0] != made[b.project_id][0] and made[a.project_id][1] != made[b.project_id][1]


def test_a_client_token_of_another_enterprise_project_is_refused(server: ServerProcess) -> None:
    tenant = Tenant(server)
    fleet = Fleet(tenant)
    fleet.enroll("one-host", "--host-enterprise-project-id", "e1")
    fleet.enroll("two-host", "--host-enterprise-project-id", "e2")
    keys = {eps: sdk(server, *tenant.key(eps)) for eps in ("e1", "e2")}
    mine = call(keys["e1"], "CreateCycleTask", _cycle("e1-nightly", [], token="shared"))["body"]["ConfigId"]
    try:
        answer = call(keys["e2"], "CreateCycleTask", _cycle("e2-nightly", [], token="shared"))["body"]
    except ClientException as exc:
        assert exc.status_code in (400, 403, 409), (exc.status_code, exc.code)
    else:
        assert answer.get("ConfigId") != mine, "another enterprise project's ConfigId"
    listed = call(keys["e2"], "DescribeCycleTaskList", {"PageSize": 100})["body"]["CycleScheduleResponseList"]
    assert mine not in {c["ConfigId"] for c in listed}
