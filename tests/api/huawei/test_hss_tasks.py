"""Creating, paging, cancelling and rescanning HSS tasks through the official SDK, each test on its own tenant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HssClient,
    ListAntiVirusTaskRequest,
    SwitchAntivirusTaskRequest,
    SwitchAntivirusTaskRequestInfo,
)

from tests.support.server import ServerProcess, Tenant

from .hss_support import Fleet, raw_json, refused, signed, tenant_client


def listed(hss: HssClient, **params: Any) -> dict[str, Any]:
    params = {"offset": 0, "limit": 10, "whether_paid_task": False, **params}
    body: dict[str, Any] = raw_json(hss.list_anti_virus_task(ListAntiVirusTaskRequest(**params)))
    return body


def create(hss: HssClient, **body: Any) -> Any:
    fields = {"task_name": "scan", "scan_type": "quick", "action": "manual", **body}
    return hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=CreateAntiVirusTaskRequestInfo(**fields)))


def cancel(hss: HssClient, task_id: str, host_ids: list[str] | None = None) -> None:
    body = SwitchAntivirusTaskRequestInfo(task_id=task_id, host_ids=host_ids)
    hss.switch_antivirus_task(SwitchAntivirusTaskRequest(body=body))


@pytest.fixture
def fleet(tenant: Tenant) -> Fleet:
    fleet = Fleet(tenant)
    fleet.enroll("h1", private_ip="10.1.0.1")
    fleet.enroll("h2", private_ip="10.1.0.2")
    return fleet


def test_create_reports_unknown_hosts_and_paging(fleet: Fleet) -> None:
    hss = tenant_client(fleet.tenant)
    h1 = fleet.host_id("h1")
    reply = create(hss, task_name="first", host_ids=[h1, "no-such-host"])
    body = raw_json(reply)
    assert body == {
        "task_id": reply.task_id,
        "policy_id": "",
        "result": False,
        "fail_reasons": [{"host_id": "no-such-host", "reason": body["fail_reasons"][0]["reason"]}],
    }
    assert len(reply.task_id) == 32
    ok = create(hss, task_name="second", host_ids=[h1])
    assert (ok.result, ok.fail_reasons) == (True, [])
    for i in range(10):
        create(hss, task_name=f"t{i:02}", scan_type="full", action="auto", host_ids=[h1])
    first = listed(hss)
    second = listed(hss, offset=10)
    assert first["total_num"] == second["total_num"] == 12
    assert len(first["data_list"]) == 10 and len(second["data_list"]) == 2
    ids = [t["task_id"] for t in first["data_list"] + second["data_list"]]
    assert len(set(ids)) == 12 and ids[-1] == reply.task_id  # newest first, no overlap
    assert listed(hss, offset=12)["data_list"] == [] and listed(hss, offset=12)["total_num"] == 12
    only = listed(hss, task_name="first")["data_list"][0]
    assert (only["host_num"], [h["host_id"] for h in only["host_info_list"]]) == (1, [h1])
    assert listed(hss, task_name="t03")["data_list"][0]["action"] == "auto"


def test_create_refuses_when_no_host_exists_and_changes_nothing(fleet: Fleet) -> None:
    hss = tenant_client(fleet.tenant)
    assert "host_ids" in refused(lambda: create(hss, host_ids=["nope"]), 400, "HSS.0001").error_msg
    assert listed(hss)["total_num"] == 0


CREATE_BOUNDS: list[tuple[dict[str, Any], str | None]] = [
    ({"task_name": "n" * 255}, None),
    ({"task_name": "n" * 256}, "task_name"),
    ({"task_name": ""}, "task_name"),
    ({"task_name": None}, "task_name"),
    ({"scan_type": "full"}, None),
    ({"scan_type": "custom"}, "scan_dir"),  # CreateAntiVirusTask has no scan_dir: refused up front
    ({"scan_type": "deep"}, "scan_type"),
    ({"scan_type": None}, "scan_type"),
    ({"action": "auto"}, None),
    ({"action": "delete"}, "action"),
    ({"action": None}, "action"),
    ({"host_ids": []}, "host_ids"),
    ({"host_ids": None}, "host_ids"),
    ({"host_ids": ["h" * 65]}, "host_ids"),
]


@pytest.fixture(scope="module")
def shared(server: ServerProcess) -> Fleet:
    """One host on a tenant of its own, for tests that only add tasks and count them."""
    fleet = Fleet(Tenant(server))
    fleet.enroll("h1")
    return fleet


@pytest.mark.parametrize(("fields", "bad"), CREATE_BOUNDS)
def test_create_bounds(shared: Fleet, fields: dict[str, Any], bad: str | None) -> None:
    hss = tenant_client(shared.tenant)
    body = {"host_ids": [shared.host_id("h1")], **fields}
    before = listed(hss)["total_num"]
    if bad is None:
        assert create(hss, **body).result is True
        assert listed(hss)["total_num"] == before + 1
    else:
        assert bad in refused(lambda: create(hss, **body), 400, "HSS.0001").error_msg
        assert listed(hss)["total_num"] == before


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'"text"', "body"),
        (
            json.dumps({"task_name": 5, "scan_type": "quick", "action": "manual", "host_ids": ["x"]}).encode(),
            "task_name",
        ),
        (
            json.dumps({"task_name": "a", "scan_type": "quick", "action": "manual", "host_ids": "x"}).encode(),
            "host_ids",
        ),
        (
            json.dumps({"task_name": "a", "scan_type": "quick", "action": "manual", "host_ids": [1]}).encode(),
            "host_ids",
        ),
        (
            json.dumps({"task_name": "a", "scan_type": ["quick"], "action": "manual", "host_ids": ["x"]}).encode(),
            "scan_type",
        ),
    ],
)
def test_malformed_bodies_are_400(shared: Fleet, raw: bytes, bad: str) -> None:
    reply = signed(shared.tenant, "POST", "/antivirus/task", body=raw)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error_code"] == "HSS.0001" and bad in reply.json()["error_msg"]
    assert len(reply.headers["X-Request-Id"]) == 32


def test_paid_task(fleet: Fleet) -> None:
    hss = tenant_client(fleet.tenant)

    def paid(**fields: Any) -> Any:
        body = {"task_name": "p", "scan_type": "custom", "action": "auto", "host_ids": [fleet.host_id("h1")], **fields}
        info = CreateAntiVirusPaidTaskRequestInfo(**body)
        return hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=info))

    reply = paid(file_types=[0, 1, 6], scan_dir="/srv;/home ; ", ignore_dir="/srv/cache")
    assert reply.result is True
    work = fleet.agents["h1"].work()
    item = next(i for i in work if i["task_id"] == reply.task_id)
    assert (item["scan_paths"], item["ignore_paths"], item["file_types"]) == (
        ["/srv", "/home"],
        ["/srv/cache"],
        [0, 1, 6],
    )
    assert "file_types" in refused(lambda: paid(file_types=[7], scan_dir="/srv"), 400, "HSS.0001").error_msg
    assert "file_types" in refused(lambda: paid(file_types=[-1], scan_dir="/srv"), 400, "HSS.0001").error_msg
    assert "scan_dir" in refused(lambda: paid(), 400, "HSS.0001").error_msg
    assert "scan_dir" in refused(lambda: paid(scan_dir=""), 400, "HSS.0001").error_msg
    body = listed(hss, whether_paid_task=True)
    assert body["total_num"] == 1 and body["data_list"][0]["whether_paid_task"] is True
    assert listed(hss)["total_num"] == 0


def test_cancel_per_host_then_all(fleet: Fleet) -> None:
    hss = tenant_client(fleet.tenant)
    h1, h2 = fleet.host_id("h1"), fleet.host_id("h2")
    task_id = create(hss, host_ids=[h1, h2]).task_id
    sub1 = fleet.subtask("h1", task_id)
    assert fleet.agents["h1"].progress(sub1, progress=10).status_code == 200
    cancel(hss, task_id, [h1])
    task = listed(hss)["data_list"][0]
    states = {h["host_id"]: h["host_task_status"] for h in task["host_info_list"]}
    assert states == {h1: "cancel", h2: "scanning"}
    assert (task["task_status"], task["cancel_host_num"]) == ("scanning", 1)
    # the agent hears of the cancel on its next report
    assert fleet.agents["h1"].progress(sub1, progress=20).json()["cancel"] is True
    assert "host_ids" in refused(lambda: cancel(hss, task_id, ["not-in-task"]), 400, "HSS.0001").error_msg
    cancel(hss, task_id)
    task = listed(hss)["data_list"][0]
    assert (task["task_status"], task["cancel_host_num"]) == ("cancel", 2)
    assert listed(hss, task_status="cancel")["total_num"] == 1
    # nothing left to cancel: refused as a conflict with the task's state, not answered 200 {}
    assert "ended" in refused(lambda: cancel(hss, task_id), 409, "HSS.0003").error_msg
    assert "ended" in refused(lambda: cancel(hss, task_id, [h1]), 409, "HSS.0003").error_msg
    refused(lambda: cancel(hss, "f" * 32), 404, "HSS.0002")
    assert "task_id" in refused(lambda: cancel(hss, ""), 400, "HSS.0001").error_msg
    assert "task_id" in refused(lambda: cancel(hss, "x" * 65), 400, "HSS.0001").error_msg


def test_rescan(fleet: Fleet) -> None:
    hss = tenant_client(fleet.tenant)
    h1, h2 = fleet.host_id("h1"), fleet.host_id("h2")
    first = create(hss, task_name="weekly", scan_type="full", host_ids=[h1, h2]).task_id
    refused(lambda: create(hss, task_id=first, task_name=None, scan_type=None, action=None), 409, "HSS.0003")
    for name in ("h1", "h2"):
        assert fleet.agents[name].complete(fleet.subtask(name, first), "success").status_code == 200
    again = hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=CreateAntiVirusTaskRequestInfo(task_id=first)))
    assert again.task_id != first and again.result is True
    partial = create(hss, task_id=first, task_name="weekly-h2", host_ids=[h2])
    body = listed(hss)
    assert body["total_num"] == 3
    by_id = {t["task_id"]: t for t in body["data_list"]}
    assert (by_id[first]["rescan"], by_id[first]["task_status"]) == (False, "finish")
    assert (by_id[again.task_id]["rescan"], by_id[again.task_id]["scan_type"]) == (True, "full")
    assert (by_id[again.task_id]["task_name"], by_id[again.task_id]["host_num"]) == ("weekly", 2)
    assert (by_id[partial.task_id]["task_name"], by_id[partial.task_id]["host_num"]) == ("weekly-h2", 1)
    refused(lambda: create(hss, task_id="0" * 32), 404, "HSS.0002")


def test_other_tenants_tasks_are_invisible(server: ServerProcess, fleet: Fleet) -> None:
    hss = tenant_client(fleet.tenant)
    task_id = create(hss, host_ids=[fleet.host_id("h1")]).task_id
    other = Tenant(server)
    theirs = tenant_client(other)
    assert listed(theirs)["total_num"] == 0
    refused(lambda: cancel(theirs, task_id), 404, "HSS.0002")
    refused(lambda: create(theirs, task_id=task_id), 404, "HSS.0002")
    # nor can they put our hosts in a task of theirs
    assert "host_ids" in refused(lambda: create(theirs, host_ids=[fleet.host_id("h1")]), 400, "HSS.0001").error_msg
    assert listed(hss)["data_list"][0]["task_status"] == "scanning"
