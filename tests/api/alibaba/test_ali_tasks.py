"""Alibaba task operations against a real server: StartVirusScanTask, DescribeScanTaskProgress,
ListVirusScanTask and GetVirusScanLatestTaskStatistic, on data the agents really reported."""

from __future__ import annotations

import json
import re

from alibabacloud_sas20181203 import models as sas

from tests.api.alibaba.helpers import Fleet, sdk
from tests.support.agent_protocol import ProtocolAgent, finding

HEX32 = re.compile(r"[0-9a-f]{32}")


def _latest(fleet: Fleet) -> sas.GetVirusScanLatestTaskStatisticResponseBodyData:
    body = fleet.client.get_virus_scan_latest_task_statistic().body
    assert body is not None and body.request_id
    data: sas.GetVirusScanLatestTaskStatisticResponseBodyData = body.data
    return data


def test_no_task_yet_gives_zeroed_statistic(fleet: Fleet) -> None:
    data = _latest(fleet)
    assert data.task_id is None and data.status is None
    assert (data.scan_machine, data.suspicious_count, data.un_complete_machine) == (0, 0, 0)
    assert data.progress == "0"


def test_lifecycle_renders_every_vocabulary(fleet: Fleet) -> None:
    a = fleet.enroll("web-a", "10.1.0.1", "47.1.0.1")
    b = fleet.enroll("db-b", "10.1.0.2", "47.1.0.2")
    task = fleet.start(a, b)

    described = fleet.client.describe_scan_task_progress(sas.DescribeScanTaskProgressRequest(task_id=task)).body
    assert described.scan_task_progress == "init"
    targets = json.loads(described.target_info)
    assert isinstance(described.target_info, str)
    assert sorted(t["target"] for t in targets) == sorted([a.host_id, b.host_id])
    assert {t["type"] for t in targets} == {"uuid"}
    assert {t["name"] for t in targets} == {"web-a", "db-b"}  # filled from the hosts when not given

    data = _latest(fleet)
    assert HEX32.fullmatch(data.task_id) and data.status == 0 and data.progress == "0"
    assert (data.scan_machine, data.complete_machine, data.un_complete_machine) == (2, 0, 2)
    assert data.risk_level is None and data.scan_type == "user" and isinstance(data.scan_time, int)
    roots = fleet.tasks(root_task=True)
    assert [r.task_id for r in roots] == [data.task_id]
    assert roots[0].status == 1 and roots[0].task_name == "VIRUS_VUL_SCHEDULE_SCAN" and roots[0].uuid is None

    rows = fleet.tasks()
    assert len(rows) == 2 and {r.uuid for r in rows} == {a.host_id, b.host_id}
    assert all(HEX32.fullmatch(r.task_id) and r.task_id != data.task_id for r in rows)
    assert all(r.status == 1 and r.progress == 0 and r.end_time is None for r in rows)
    row_a = next(r for r in rows if r.uuid == a.host_id)
    assert (row_a.instance_name, row_a.intranet_ip, row_a.internet_ip) == ("web-a", "10.1.0.1", "47.1.0.1")

    sa = fleet.take(a)
    assert sa == row_a.task_id
    assert fleet.progress(task) == "Processing"
    assert _latest(fleet).status == 10
    a.progress(sa, progress=40, files_scanned=7, detections=[finding("/tmp/m.sh", severity="Medium")])
    row_a = fleet.tasks(task_id=sa)[0]
    assert (row_a.status, row_a.progress) == (1, 40) and type(row_a.progress) is int

    assert a.complete(sa, "success", progress=100).status_code == 200
    sb = fleet.take(b)
    assert b.complete(sb, "failure", reason="disk error").status_code == 200
    by_host = {r.uuid: r for r in fleet.tasks()}
    assert by_host[a.host_id].status == 2 and by_host[b.host_id].status == 3
    assert type(by_host[a.host_id].end_time) is int and by_host[a.host_id].progress == 100
    assert fleet.progress(task) == "Success"

    data = _latest(fleet)
    assert data.status == 100 and data.risk_level == "medium"
    assert (data.suspicious_count, data.suspicious_machine, data.safe_machine) == (1, 1, 0)
    assert (data.complete_machine, data.un_complete_machine, data.scan_machine) == (1, 1, 2)
    assert isinstance(data.progress, str) and data.progress == "100"
    assert data.machine_name == "web-a"
    assert fleet.tasks(root_task=True)[0].status == 2


def test_all_failed_is_failed_and_high_risk(fleet: Fleet) -> None:
    a = fleet.enroll("solo", "10.2.0.1")
    task = fleet.start(a)
    sa = fleet.take(a)
    a.progress(sa, progress=10, detections=[finding("/x", severity="Low"), finding("/y", severity="Critical")])
    a.complete(sa, "failure", reason="crash")
    assert fleet.progress(task) == "Failed"
    assert fleet.tasks(root_task=True)[0].status == 3
    assert _latest(fleet).risk_level == "high"


def test_list_filters_and_paging(fleet: Fleet) -> None:
    a = fleet.enroll("web-a", "10.0.1.5", "47.0.0.5")
    b = fleet.enroll("db-b", "10.0.2.6", "47.0.0.6")
    fleet.start(a, b)
    sa, sb = fleet.take(a), fleet.take(b)
    a.complete(sa, "success")
    b.complete(sb, "failure")
    fleet.start(a)  # a second, newer task, still pending
    roots = fleet.tasks(root_task=True)
    assert len(roots) == 2
    newer, older = roots

    assert len(fleet.tasks()) == 3
    assert [r.task_id for r in fleet.tasks(status=1)] != [] and {r.status for r in fleet.tasks(status=1)} == {1}
    assert [r.uuid for r in fleet.tasks(status=2)] == [a.host_id]
    assert [r.uuid for r in fleet.tasks(status=3)] == [b.host_id]
    assert fleet.tasks(status=4) == []
    assert len(fleet.tasks(status_list=[2, 3])) == 2
    assert [r.uuid for r in fleet.tasks(status=2, status_list=[2, 3])] == [a.host_id]  # both filters apply
    assert [r.uuid for r in fleet.tasks(machine_name="db")] == [b.host_id]
    assert len(fleet.tasks(intranet_ip="10.0.1")) == 2
    assert [r.uuid for r in fleet.tasks(internet_ip="47.0.0.6")] == [b.host_id]
    assert {r.uuid for r in fleet.tasks(root_task_id=older.task_id)} == {a.host_id, b.host_id}
    assert [r.task_id for r in fleet.tasks(task_id=sb)] == [sb]
    assert fleet.tasks(task_id=older.task_id) == []  # machine rows carry their own ids
    assert len(fleet.tasks(scan_type="user")) == 3 and fleet.tasks(scan_type="system") == []

    assert [r.task_id for r in fleet.tasks(root_task=True, status=1)] == [newer.task_id]
    assert [r.task_id for r in fleet.tasks(root_task=True, status=2)] == [older.task_id]
    assert [r.task_id for r in fleet.tasks(root_task=True, machine_name="db")] == [older.task_id]
    assert [r.task_id for r in fleet.tasks(root_task=True, task_id=older.task_id)] == [older.task_id]
    assert [r.task_id for r in fleet.tasks(root_task=True, root_task_id=newer.task_id)] == [newer.task_id]
    assert fleet.tasks(root_task=True, task_id=older.task_id, root_task_id=newer.task_id) == []

    at = newer.start_time
    assert newer.task_id in [r.task_id for r in fleet.tasks(root_task=True, start_time=at, end_time=at)]
    assert newer.task_id not in [r.task_id for r in fleet.tasks(root_task=True, start_time=at + 1)]
    assert newer.task_id not in [r.task_id for r in fleet.tasks(root_task=True, end_time=at - 1)]
    row = fleet.tasks(task_id=sb)[0]
    assert [r.task_id for r in fleet.tasks(start_time=row.start_time, end_time=row.start_time, task_id=sb)] == [sb]
    assert fleet.tasks(start_time=row.start_time + 1, task_id=sb) == []

    seen = []
    for page in (1, 2, 3):
        body = fleet.client.list_virus_scan_task(sas.ListVirusScanTaskRequest(page_size=1, current_page=page)).body
        assert (body.page_info.current_page, body.page_info.page_size, body.page_info.total_count) == (page, 1, 3)
        seen += [r.task_id for r in body.list]
    assert len(set(seen)) == 3
    body = fleet.client.list_virus_scan_task(sas.ListVirusScanTaskRequest(page_size=1, current_page=4)).body
    assert body.list == [] and body.page_info.total_count == 3
    body = fleet.client.list_virus_scan_task(sas.ListVirusScanTaskRequest()).body
    assert (body.page_info.current_page, body.page_info.page_size) == (1, 20)  # the documented defaults
    for lang in ("zh", "en"):
        assert len(fleet.tasks(lang=lang)) == 3


def test_group_target_and_v1_signature(fleet: Fleet) -> None:
    """A groupId target scans the group's hosts; the older HMAC-SHA1 (V1) signature reads the same data."""
    info = fleet.tenant.server.admin(
        "enroll-token", "--account", fleet.tenant.account, "--project-id", fleet.tenant.project_id, "--group", "g1"
    )

    g1 = ProtocolAgent(fleet.server.url, info["enroll_token"], "grouped-1")
    g2 = ProtocolAgent(fleet.server.url, info["enroll_token"], "grouped-2")
    fleet.enroll("outside")
    target = json.dumps([{"type": "groupId", "name": "g1", "target": info["group_id"]}])
    task = fleet.client.start_virus_scan_task(sas.StartVirusScanTaskRequest(target_info=target)).body.scan_task_id
    assert {r.uuid for r in fleet.tasks()} == {g1.host_id, g2.host_id}
    described = fleet.client.describe_scan_task_progress(sas.DescribeScanTaskProgressRequest(task_id=task)).body
    assert json.loads(described.target_info) == [{"type": "groupId", "name": "g1", "target": info["group_id"]}]

    v1 = sdk(fleet.server, fleet.tenant.access_key_id, fleet.tenant.secret, signature_algorithm="v2")
    rows = v1.list_virus_scan_task(sas.ListVirusScanTaskRequest(status_list=[1], root_task=False)).body.list
    assert {r.uuid for r in rows} == {g1.host_id, g2.host_id}
    assert v1.describe_scan_task_progress(
        sas.DescribeScanTaskProgressRequest(task_id=task)
    ).body.scan_task_progress == ("init")


def test_a_cancelled_task_keeps_consistent_counters_in_both_dialects(fleet: Fleet) -> None:
    """The agent's report in flight when the task was cancelled still counts: files, viruses and progress agree,
    and Alibaba's Progress is the work done (20), not 100."""
    from huaweicloudsdkhss.v5 import (
        ListAntiVirusTaskRequest,
        SwitchAntivirusTaskRequest,
        SwitchAntivirusTaskRequestInfo,
    )

    from tests.api.huawei.hss_support import raw_json, tenant_client

    a = fleet.enroll("cancelled", "10.3.0.1")
    task = fleet.start(a)
    sa = fleet.take(a)
    assert a.progress(sa, progress=5, files_scanned=10).status_code == 200
    hss = tenant_client(fleet.tenant)
    task_id = fleet.tasks(root_task=True)[0].task_id
    hss.switch_antivirus_task(SwitchAntivirusTaskRequest(body=SwitchAntivirusTaskRequestInfo(task_id=task_id)))
    late = a.progress(sa, progress=20, files_scanned=300, detections=[finding(f"/srv/{i}.php") for i in range(3)])
    assert late.json()["cancel"] is True

    listed = raw_json(hss.list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False)))
    host = listed["data_list"][0]["host_info_list"][0]
    assert host["host_task_status"] == "cancel"
    assert (host["scan_file_num"], host["virus_num"], host["scan_progress"]) == (300, 3, "20%")
    root = fleet.tasks(root_task=True)[0]
    assert root.progress == 20
    machine = fleet.tasks()[0]
    assert machine.progress == 20
    assert fleet.progress(task) != "Success"
    assert _latest(fleet).progress == "20"
