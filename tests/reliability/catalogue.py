"""Every operation of the three edges, each with a valid baseline request that carries as many fields as it can.

HSS v5 (16, api/huawei/routes.py), Alibaba Sas (14: ACTIONS, CYCLE_ACTIONS, QUARANTINE_ACTIONS), the agent
protocol (6, api/agent/routes.py). A baseline is built per example from the operation's own project
(world.Space): what an operation consumes (a policy to delete, a subtask to complete, a file to restore) is
made fresh each time, so every unmutated request succeeds, and a refusal is the mutation's doing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.agent_protocol import finding

from .wire import Call, Json
from .world import DAY_MS, Space, cycle_params, now_ms, policy_body, quarantine_facts

Builder = Callable[[Space], Call]


@dataclass(frozen=True)
class Operation:
    name: str
    edge: str
    build: Builder

    def __repr__(self) -> str:
        return self.name


OPERATIONS: list[Operation] = []


def operation(name: str, edge: str) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        OPERATIONS.append(Operation(name, edge, build))
        return build

    return register


# ------------------------------------------------------------------------------------------------ HSS v5
def hss(
    s: Space, op: str, method: str, path: str, query: list[tuple[str, Any]] | None = None, body: Any = None
) -> Call:
    call = Call("hss", op, method, "/v5/{project_id}" + path, s.key, {"project_id": s.key.project_id})
    call.query, call.body = list(query or []), body
    return call


def _window() -> list[tuple[str, Any]]:
    now = now_ms()
    return [("begin_time", str(now - DAY_MS)), ("end_time", str(now))]


@operation("ListAntiVirusTask", "hss")
def list_tasks(s: Space) -> Call:
    s.task()
    query = [("offset", "0"), ("limit", "10"), ("whether_paid_task", "false"), ("task_name", "fuzz")]
    query += [("task_status", "scanning"), ("host_task_status", "scanning"), ("host_name", "h1")]
    query += [("private_ip", "10.0.0.7"), ("public_ip", "1.2.3.4"), ("enterprise_project_id", "0"), *_window()]
    return hss(s, "ListAntiVirusTask", "GET", "/antivirus/task", query)


def _task_body(s: Space) -> dict[str, Any]:
    return {"task_name": "fuzz-task", "scan_type": "quick", "action": "manual", "host_ids": [s.agent().host_id]}


@operation("CreateAntiVirusTask", "hss")
def create_task(s: Space) -> Call:
    return hss(s, "CreateAntiVirusTask", "POST", "/antivirus/task", [("enterprise_project_id", "0")], _task_body(s))


@operation("CreateAntiVirusTask (rescan)", "hss")
def rescan(s: Space) -> Call:
    body = {"task_id": s.finished_task(), "task_name": "fuzz-rescan", "host_ids": [s.agent().host_id]}
    return hss(s, "CreateAntiVirusTask (rescan)", "POST", "/antivirus/task", [], body)


@operation("CreateAntiVirusPaidTask", "hss")
def create_paid_task(s: Space) -> Call:
    body = {**_task_body(s), "scan_type": "custom", "file_types": [0], "scan_dir": "/srv;/opt", "ignore_dir": "/srv/x"}
    return hss(s, "CreateAntiVirusPaidTask", "POST", "/antivirus/pay-per-scan/tasks", [], body)


@operation("SwitchAntivirusTask", "hss")
def switch_task(s: Space) -> Call:
    body = {"task_id": s.task(), "task_name": "fuzz", "host_ids": [s.agent().host_id]}
    return hss(s, "SwitchAntivirusTask", "PUT", "/antivirus/task", [("enterprise_project_id", "0")], body)


@operation("ListAntiVirusResult", "hss")
def list_results(s: Space) -> Call:
    result_id, found = s.once("detection", s.detection)
    query = [("offset", "0"), ("limit", "10"), ("severity_list", "High"), ("handle_status", "unhandled")]
    query += [("file_hash", found["file_hash"]), ("file_hash_list", found["file_hash"]), ("task_name", "fuzz")]
    query += [("host_name", "h1"), ("private_ip", "10.0.0.7"), ("public_ip", "1.2.3.4"), ("malware_name", "Eicar")]
    query += [("file_path", found["file_path"]), ("id_list", result_id), ("asset_value", "common")]
    query += [("manual_isolate", "false"), ("enterprise_project_id", "0")]
    return hss(s, "ListAntiVirusResult", "GET", "/antivirus/result", query)


@operation("ShowAntivirusStatistic", "hss")
def statistic(s: Space) -> Call:
    return hss(s, "ShowAntivirusStatistic", "GET", "/antivirus/statistic", [("enterprise_project_id", "0")])


@operation("ListAntiVirusHost", "hss")
def list_hosts(s: Space) -> Call:
    query = [("offset", "0"), ("limit", "10"), ("scan_type", "quick"), ("start_type", "now")]
    query += [("host_id", s.agent().host_id), ("host_name", "h1"), ("private_ip", "10.0.0.7")]
    query += [("public_ip", "1.2.3.4"), ("group_id", "g"), ("enterprise_project_id", "0")]
    return hss(s, "ListAntiVirusHost", "GET", "/antivirus/host-management/hosts", query)


@operation("ListAntiVirusPolicy", "hss")
def list_policies(s: Space) -> Call:
    s.once("policy", s.policy)
    query = [("offset", "0"), ("limit", "10"), ("policy_name", "fuzz"), ("scan_type", "custom")]
    return hss(s, "ListAntiVirusPolicy", "GET", "/antivirus/policy", [*query, ("enterprise_project_id", "0")])


@operation("CreateAntiVirusPolicy", "hss")
def create_policy(s: Space) -> Call:
    return hss(s, "CreateAntiVirusPolicy", "POST", "/antivirus/policy", [], policy_body(s.agent().host_id))


@operation("ChangeAntiVirusPolicy", "hss")
def change_policy(s: Space) -> Call:
    body = {"policy_id": s.once("policy", s.policy), **policy_body(s.agent().host_id)}
    return hss(s, "ChangeAntiVirusPolicy", "PUT", "/antivirus/policy", [("enterprise_project_id", "0")], body)


@operation("BatchDeleteAntiVirusPolicy", "hss")
def delete_policies(s: Space) -> Call:
    body = {"policy_ids": [s.policy()]}
    return hss(s, "BatchDeleteAntiVirusPolicy", "POST", "/antivirus/policy/batch-delete", [], body)


@operation("HandleAntiVirusResult", "hss")
def handle_results(s: Space) -> Call:
    result_id, found = s.detection()
    item = {"result_id": result_id, "agent_id": "a", "file_path": found["file_path"], "file_hash": found["file_hash"]}
    item |= {"file_attr": "0644", "event_type": 1, "occur_time": now_ms()}
    body = {"operate_type": "add_to_alarm_whitelist", "memo": "fuzz", "operate_results": [item]}
    body["event_white_rules"] = [{"field_key": "file_path", "field_value": found["file_path"], "judge_type": "equal"}]
    return hss(s, "HandleAntiVirusResult", "POST", "/antivirus/result/operate", [("enterprise_project_id", "0")], body)


@operation("ListAntivirusHandleHistory", "hss")
def list_history(s: Space) -> Call:
    query = [("offset", "0"), ("limit", "10"), ("malware_name", "Eicar"), ("file_path", "/srv")]
    query += [("severity_list", "High"), ("host_name", "h1"), ("private_ip", "10.0.0.7"), ("public_ip", "1.2.3.4")]
    query += [("asset_value", "common"), ("handle_method", "ignore"), ("user_name", "fuzz"), ("event_type", "1")]
    query += [("sort_key", "handle_time"), ("sort_dir", "asc"), ("enterprise_project_id", "0")]
    return hss(s, "ListAntivirusHandleHistory", "GET", "/antivirus/handle-history", query)


@operation("ListIsolatedFile", "hss")
def list_isolated(s: Space) -> Call:
    found = s.once("isolated", s.isolated)
    query = [("offset", "0"), ("limit", "10"), ("isolation_status", "isolated"), ("file_path", found["file_path"])]
    query += [("file_hash", found["file_hash"]), ("host_name", "h1"), ("private_ip", "10.0.0.7")]
    query += [("public_ip", "1.2.3.4"), ("asset_value", "common"), *_window(), ("enterprise_project_id", "0")]
    return hss(s, "ListIsolatedFile", "GET", "/event/isolated-file", query)


@operation("ChangeIsolatedFile", "hss")
def restore_isolated(s: Space) -> Call:
    found = s.isolated()
    item = {"host_id": s.agent().host_id, "file_hash": found["file_hash"], "file_path": found["file_path"]}
    body = {"data_list": [{**item, "file_attr": "0644"}]}
    return hss(s, "ChangeIsolatedFile", "PUT", "/event/isolated-file", [("enterprise_project_id", "0")], body)


# ------------------------------------------------------------------------------------------------ Alibaba Sas
def ali(s: Space, action: str, **params: Any) -> Call:
    return Call("alibaba", action, "POST", "/", s.key, action=action, query=list(params.items()))


def _target(s: Space) -> Json:
    return Json([{"type": "uuid", "name": "h1", "target": s.agent().host_id}])


@operation("ListVirusScanTask", "alibaba")
def ali_list_tasks(s: Space) -> Call:
    s.ali_task()
    now = now_ms()
    return ali(
        s, "ListVirusScanTask", ScanType="user", Status="1", **{"StatusList.1": "1", "StatusList.2": "2"},
        StartTime=str(now - DAY_MS), EndTime=str(now + DAY_MS), RootTask="false", MachineName="h1",
        InternetIp="1.2.3.4", IntranetIp="10.0.0.7", CurrentPage="1", PageSize="20", Lang="en",
    )  # fmt: skip


@operation("GetVirusScanLatestTaskStatistic", "alibaba")
def ali_latest(s: Space) -> Call:
    s.ali_task()
    return ali(s, "GetVirusScanLatestTaskStatistic", Lang="en")


@operation("DescribeScanTaskProgress", "alibaba")
def ali_progress(s: Space) -> Call:
    return ali(s, "DescribeScanTaskProgress", TaskId=str(s.ali_task()))


@operation("StartVirusScanTask", "alibaba")
def ali_start(s: Space) -> Call:
    return ali(s, "StartVirusScanTask", TargetInfo=_target(s))


@operation("CreateVirusScanOnceTask", "alibaba")
def ali_once(s: Space) -> Call:
    return ali(
        s, "CreateVirusScanOnceTask", ScanType="user", **{"ScanPath.1": "/srv", "ScanPath.2": "/opt"},
        Param=Json({"targetInfo": _target(s).value}), ClientToken=uuid.uuid4().hex,
    )  # fmt: skip


@operation("ListVirusScanMachine", "alibaba")
def ali_machines(s: Space) -> Call:
    return ali(s, "ListVirusScanMachine", CurrentPage="1", PageSize="20", Remark="h1", Uuid=s.agent().host_id)


@operation("ListVirusScanMachineEvent", "alibaba")
def ali_events(s: Space) -> Call:
    task_id = s.once("finished_task", s.finished_task)
    return ali(
        s, "ListVirusScanMachineEvent", Uuid=s.agent().host_id, OperateTaskId=task_id, CurrentPage="1",
        PageSize="20", Lang="en",
    )  # fmt: skip


@operation("CreateCycleTask", "alibaba")
def ali_create_cycle(s: Space) -> Call:
    return ali(s, "CreateCycleTask", **cycle_params(s.agent().host_id), ClientToken=uuid.uuid4().hex)


@operation("ModifyCycleTask", "alibaba")
def ali_modify_cycle(s: Space) -> Call:
    params = cycle_params(s.agent().host_id)
    return ali(s, "ModifyCycleTask", ConfigId=s.once("cycle", s.cycle), **params)


@operation("DeleteCycleTask", "alibaba")
def ali_delete_cycle(s: Space) -> Call:
    return ali(s, "DeleteCycleTask", ConfigId=s.cycle())


@operation("DescribeCycleTaskList", "alibaba")
def ali_cycles(s: Space) -> Call:
    config_id = s.once("cycle", s.cycle)
    return ali(
        s, "DescribeCycleTaskList", ConfigId=config_id, TaskName="fuzz", TaskType="VIRUS_VUL_SCHEDULE_SCAN",
        CurrentPage="1", PageSize="20",
    )  # fmt: skip


@operation("GetVirusScanConfig", "alibaba")
def ali_config(s: Space) -> Call:
    s.once("cycle", s.cycle)
    return ali(s, "GetVirusScanConfig", TaskType="VIRUS_VUL_SCHEDULE_SCAN")


GROUP_ID = "fuzz"  # no host group has this id: the filter is read, and matches nothing


@operation("DescribeSuspEventQuaraFiles", "alibaba")
def ali_quarantined(s: Space) -> Call:
    s.once("isolated", s.isolated)
    return ali(
        s, "DescribeSuspEventQuaraFiles", CurrentPage="1", PageSize="20", Status="quaraDone", GroupId=GROUP_ID,
        QuaraTag="manual", From="sas", SourceIp="1.2.3.4", GroupingId="1",
    )  # fmt: skip


@operation("RollbackSuspEventQuaraFile", "alibaba")
def ali_rollback(s: Space) -> Call:
    return ali(
        s, "RollbackSuspEventQuaraFile", QuaraFileId=str(s.quarantined_id()), From="sas", SourceIp="1.2.3.4",
        ResourceDirectoryAccountId="1",
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------ agent protocol
def agent(s: Space, op: str, method: str, path: str, body: Any = None, **path_params: str) -> Call:
    return Call("agent", op, method, "/agent/v1" + path, s.agent_key(), dict(path_params), body=body)


@operation("agent enroll", "agent")
def agent_enroll(s: Space) -> Call:
    body = {"enroll_token": s.enroll_token, "name": "fuzz-host", "private_ip": "10.0.0.9", "public_ip": "1.2.3.9"}
    body |= {"os_type": "Linux", "os_name": "Debian", "os_version": "12", "agent_version": "0.1.0"}
    call = agent(s, "agent enroll", "POST", "/enroll", body)
    call.credentials = type(call.credentials)("", "")  # enrollment carries no agent credential
    return call


@operation("agent heartbeat", "agent")
def agent_heartbeat(s: Space) -> Call:
    return agent(s, "agent heartbeat", "POST", "/heartbeat")


@operation("agent work", "agent")
def agent_work(s: Space) -> Call:
    s.task(action="auto")
    return agent(s, "agent work", "GET", "/work")


def _report(found: dict[str, Any]) -> dict[str, Any]:
    found = {**found, "offset": 0, "quarantine": quarantine_facts(uuid.uuid4().hex, found)}
    return {
        "report_id": uuid.uuid4().hex,
        "files_scanned": 10,
        "bytes_scanned": 1000,
        "files_total": 20,
        "progress": 50,
        "checkpoint": "/srv/fuzz",
        "detections": [found],
    }


@operation("agent progress", "agent")
def agent_progress(s: Space) -> Call:
    _, subtask_id = s.subtask(action="auto")
    body = _report(finding(f"/srv/fuzz/{uuid.uuid4().hex}.com"))
    return agent(s, "agent progress", "POST", "/subtasks/{subtask_id}/progress", body, subtask_id=subtask_id)


@operation("agent complete", "agent")
def agent_complete(s: Space) -> Call:
    _, subtask_id = s.subtask(action="auto")
    body = {**_report(finding(f"/srv/fuzz/{uuid.uuid4().hex}.com")), "result": "success", "reason": "done"}
    return agent(s, "agent complete", "POST", "/subtasks/{subtask_id}/complete", body, subtask_id=subtask_id)


@operation("agent action result", "agent")
def agent_action_result(s: Space) -> Call:
    action, found = s.pending_action()
    body = {"ok": True, "error": "", "quarantine": quarantine_facts(action["quarantine_id"], found)}
    path = "/actions/{action_id}/result"
    return agent(s, "agent action result", "POST", path, body, action_id=action["action_id"])


BY_NAME = {op.name: op for op in OPERATIONS}

READ_ONLY = ("List", "Show", "Get", "Describe")
WRITES = frozenset(
    op.name
    for op in OPERATIONS
    if not op.name.startswith(READ_ONLY) and op.name not in ("agent heartbeat", "agent work")
)


def readers(s: Space, accepted: Any) -> list[Call]:
    """Reads of the project's listings, to run after a mutated write was accepted: what it stored must not
    break them (a value stored once and failing every later read is worse than a refused request).

    They build nothing, so they change nothing; `accepted` is the write's answer (an Alibaba scan task id
    there is read back through DescribeScanTaskProgress).
    """
    page = [("offset", "0"), ("limit", "200")]
    calls = [
        agent(s, "agent work", "GET", "/work"),  # first: the one read that also writes
        hss(s, "ListAntiVirusTask", "GET", "/antivirus/task", [*page, ("whether_paid_task", "false")]),
        hss(s, "ListAntiVirusTask", "GET", "/antivirus/task", [*page, ("whether_paid_task", "true")]),
        hss(s, "ListAntiVirusResult", "GET", "/antivirus/result", page),
        hss(s, "ListAntiVirusHost", "GET", "/antivirus/host-management/hosts", page),
        hss(s, "ListAntiVirusPolicy", "GET", "/antivirus/policy", page),
        hss(s, "ListAntivirusHandleHistory", "GET", "/antivirus/handle-history", page),
        hss(s, "ListIsolatedFile", "GET", "/event/isolated-file", page),
        ali(s, "ListVirusScanTask", PageSize="100"),
        ali(s, "ListVirusScanTask", PageSize="100", RootTask="true"),
        ali(s, "GetVirusScanLatestTaskStatistic"),
        ali(s, "ListVirusScanMachine", CurrentPage="1", PageSize="100"),
        ali(s, "ListVirusScanMachineEvent", PageSize="100"),
        ali(s, "DescribeCycleTaskList", PageSize="100"),
        ali(s, "GetVirusScanConfig"),
        ali(s, "DescribeSuspEventQuaraFiles", PageSize="100"),
    ]
    if isinstance(accepted, dict) and isinstance(accepted.get("ScanTaskId"), int):
        calls.append(ali(s, "DescribeScanTaskProgress", TaskId=str(accepted["ScanTaskId"])))
    return calls
