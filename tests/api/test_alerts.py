"""Alerts as fleet objects (docs/alerts.md), through the official SDKs of both clouds.

A host's findings repeat from scan to scan; each task still lists what it found, but the fleet-wide counters
count alerts (one per host, exact path, SHA-256 and signature), handling one result handles its alert in every
task, and a scan that covered an alert's path without finding it resolves it.
"""

from __future__ import annotations

from typing import Any

from alibabacloud_sas20181203 import models as sas
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HandleAntiVirusResultRequest,
    ListAntiVirusResultRequest,
    ListIsolatedFileRequest,
    OperateAntiVirusResultRequestInfo,
    OperateResultRequestInfo,
    ShowAntivirusStatisticRequest,
)

from tests.api.alibaba.helpers import sdk
from tests.api.huawei.hss_support import Fleet, tenant_client
from tests.support.agent_protocol import finding
from tests.support.server import Tenant

TREE = {"/srv/a.com": b"infected a", "/srv/b.com": b"infected b", "/srv/c.com": b"infected c"}


class World:
    """One host, scanned again and again through HSS tasks its protocol agent reports on."""

    def __init__(self, tenant: Tenant) -> None:
        self.hss = tenant_client(tenant)
        self.ali = sdk(tenant.server, tenant.access_key_id, tenant.secret)
        self.fleet = Fleet(tenant)
        self.agent = self.fleet.enroll("h1")
        self.host_id = self.fleet.host_id("h1")
        self.tasks = 0

    def scan(self, tree: dict[str, bytes], scan_type: str = "full", scan_dir: str | None = None) -> str:
        """A task whose scan finds every file of `tree`; returns the task's name."""
        self.tasks += 1
        name = f"scan-{self.tasks}"
        if scan_dir is None:
            body = CreateAntiVirusTaskRequestInfo(
                task_name=name, scan_type=scan_type, action="manual", host_ids=[self.host_id]
            )
            task_id = self.hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body)).task_id
        else:  # only the paid task takes a folder
            paid = CreateAntiVirusPaidTaskRequestInfo(
                task_name=name, scan_type=scan_type, action="manual", host_ids=[self.host_id], scan_dir=scan_dir
            )
            task_id = self.hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=paid)).task_id
        sub = self.fleet.subtask("h1", task_id)
        found = [finding(path, content=content) for path, content in tree.items()]
        assert self.agent.progress(sub, files_scanned=10, progress=50, detections=found).status_code == 200
        assert self.agent.complete(sub, "success", files_scanned=20).status_code == 200
        return name

    def results(self, task_name: str) -> dict[str, Any]:
        rows = self.hss.list_anti_virus_result(ListAntiVirusResultRequest(task_name=task_name, limit=50)).data_list
        return {r.file_info.file_path: r for r in rows}

    def statistic(self) -> tuple[int, int]:
        s = self.hss.show_antivirus_statistic(ShowAntivirusStatisticRequest())
        return s.total_malware_num, s.malware_host_num

    def event_count(self) -> int:
        reply = self.ali.list_virus_scan_machine(sas.ListVirusScanMachineRequest(current_page=1, page_size=20))
        (row,) = reply.body.data
        return int(row.event_count)

    def operate(self, op: str, result_ids: list[str]) -> None:
        items = [OperateResultRequestInfo(result_id=i) for i in result_ids]
        body = OperateAntiVirusResultRequestInfo(operate_type=op, operate_results=items)
        self.hss.handle_anti_virus_result(HandleAntiVirusResultRequest(body=body))


def test_two_full_scans_of_one_tree_are_one_alert_per_file(tenant: Tenant) -> None:
    w = World(tenant)
    first, second = w.scan(TREE), w.scan(TREE)
    assert sorted(w.results(first)) == sorted(TREE) == sorted(w.results(second))
    assert w.statistic() == (3, 1)
    assert w.event_count() == 3


def test_handling_one_result_handles_the_alert_in_every_task(tenant: Tenant) -> None:
    w = World(tenant)
    first, second = w.scan(TREE), w.scan(TREE)
    w.operate("ignore", [w.results(first)["/srv/a.com"].result_id])
    for name in (first, second):
        rows = w.results(name)
        assert (rows["/srv/a.com"].handle_status, rows["/srv/a.com"].handle_method) == ("handled", "ignore")
        assert rows["/srv/b.com"].handle_status == "unhandled"
    third = w.scan(TREE)  # a later occurrence of a handled alert is handled too
    assert w.results(third)["/srv/a.com"].handle_status == "handled"

    # isolating the same file through two tasks' results quarantines it once
    both = [w.results(name)["/srv/b.com"].result_id for name in (first, second)]
    w.operate("manual_isolate_and_kill", both)
    assert w.hss.list_isolated_file(ListIsolatedFileRequest(limit=10)).total_num == 1
    assert [a["kind"] for a in w.agent.http.get("/agent/v1/work").json()["actions"]] == ["quarantine"]


def test_changed_files_are_new_alerts_and_gone_files_resolve_theirs(tenant: Tenant) -> None:
    w = World(tenant)
    w.scan(TREE)
    w.scan(TREE)
    changed = {**TREE, "/srv/a.com": b"infected a, rewritten"}
    third = w.scan(changed)  # a.com's old alert is resolved by this scan, its new content is a new alert
    assert len(w.results(third)) == 3
    assert w.statistic() == (3, 1)
    assert w.event_count() == 3

    w.scan({}, scan_type="custom", scan_dir="/elsewhere")  # did not look at /srv: resolves nothing
    assert w.statistic() == (3, 1)

    gone = {k: v for k, v in changed.items() if k != "/srv/c.com"}
    w.scan(gone, scan_type="custom", scan_dir="/srv")
    assert w.statistic() == (2, 1)
    assert w.event_count() == 2

    w.scan({})
    assert w.statistic() == (0, 0)
    assert w.event_count() == 0
    w.scan(TREE)  # the old files come back: their alerts open again
    assert w.statistic() == (3, 1)
