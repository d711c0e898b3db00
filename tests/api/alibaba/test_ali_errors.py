"""Errors in Alibaba's shape: authentication, unknown action/version, every parameter bound, foreign ids.

Each refusal must reach the SDK as a ClientException with the right code, status and request id,
and nothing malformed may produce a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx
import pytest
from alibabacloud_sas20181203 import models as sas
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.api.alibaba.helpers import Fleet, call, refused, sdk, signed

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def _ok(fleet: Fleet, action: str, query: Mapping[str, object]) -> dict[str, object]:
    body: dict[str, object] = call(fleet.client, action, query)["body"]
    assert body["RequestId"]
    return body


def _bad(fleet: Fleet, action: str, query: Mapping[str, object], name: str, code: str = "InvalidParameter") -> None:
    err = refused(fleet.client, action, query)
    assert (err.code, err.status_code) == (code, 400), (query, err.message)
    assert name in err.message, err.message


# ---------------------------------------------------------------------- authentication
def test_wrong_secret_unknown_key_and_unsigned_are_refused(fleet: Fleet) -> None:
    """Each refusal has the gateway's code and status (the full table is in test_ali_auth.py)."""
    for client, expected in (
        (sdk(fleet.server, fleet.tenant.access_key_id, fleet.tenant.secret + "x"), ("SignatureDoesNotMatch", 400)),
        (sdk(fleet.server, "FSNOSUCHKEY", fleet.tenant.secret), ("InvalidAccessKeyId.NotFound", 404)),
        (
            sdk(fleet.server, fleet.tenant.access_key_id, "wrong", signature_algorithm="v2"),
            ("SignatureDoesNotMatch", 400),
        ),
    ):
        with pytest.raises(ClientException) as caught:
            client.get_virus_scan_latest_task_statistic()
        err = caught.value
        assert (err.code, err.status_code) == expected and err.request_id
    reply = httpx.post(
        fleet.server.url + "/", headers={"x-acs-action": "ListVirusScanTask", "x-acs-version": "2018-12-03"}
    )
    assert reply.status_code == 400
    body = reply.json()
    assert body["Code"] == "MissingAccessKeyId" and body["RequestId"] == reply.headers["x-acs-request-id"]
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}


def test_replayed_request_is_refused(fleet: Fleet) -> None:
    t = fleet.tenant
    request = signed(fleet.server, t.access_key_id, t.secret, "ListVirusScanTask", [("PageSize", "5")])
    with httpx.Client() as http:
        first = http.send(request)
        assert first.status_code == 200 and first.json()["PageInfo"]["PageSize"] == 5
        again = http.send(request)
    assert again.status_code == 400 and again.json()["Code"] == "SignatureNonceUsed"
    # A fresh nonce with the same parameters is a new request.
    fresh = signed(fleet.server, t.access_key_id, t.secret, "ListVirusScanTask", [("PageSize", "5")])
    assert httpx.Client().send(fresh).status_code == 200


def test_form_body_parameters_and_duplicates(fleet: Fleet) -> None:
    t = fleet.tenant
    form = "application/x-www-form-urlencoded"
    body = urlencode({"PageSize": "3", "CurrentPage": "2"}).encode()
    reply = httpx.Client().send(
        signed(fleet.server, t.access_key_id, t.secret, "ListVirusScanTask", [], body=body, content_type=form)
    )
    assert reply.status_code == 200 and reply.json()["PageInfo"] == {"CurrentPage": 2, "PageSize": 3, "TotalCount": 0}
    reply = httpx.Client().send(
        signed(
            fleet.server,
            t.access_key_id,
            t.secret,
            "ListVirusScanTask",
            [("PageSize", "4")],
            body=body,
            content_type=form,
        )
    )
    assert reply.status_code == 400 and reply.json()["Code"] == "InvalidParameter"
    assert "PageSize" in reply.json()["Message"]


# ---------------------------------------------------------------------- routing
def test_unknown_action_version_and_method(fleet: Fleet) -> None:
    err = refused(fleet.client, "NoSuchAction", {})
    assert (err.code, err.status_code) == ("InvalidAction.NotFound", 404)
    assert "Specified api is not found, please check your url and method." in err.message
    err = refused(fleet.client, "ListVirusScanTask", {}, version="2017-12-03")
    assert (err.code, err.status_code) == ("InvalidVersion", 400)
    assert "Specified parameter Version is not valid." in err.message
    v1 = sdk(fleet.server, fleet.tenant.access_key_id, fleet.tenant.secret, signature_algorithm="v2")
    assert refused(v1, "NoSuchAction", {}).code == "InvalidAction.NotFound"
    assert refused(v1, "ListVirusScanTask", {}, version="2020-01-01").code == "InvalidVersion"
    for method in ("GET", "PUT", "DELETE"):
        reply = httpx.request(method, fleet.server.url + "/")
        assert reply.status_code in (400, 404) and reply.json()["Code"] in ("InvalidVersion", "InvalidAction.NotFound")
    reply = httpx.put(
        fleet.server.url + "/", headers={"x-acs-version": "2018-12-03", "x-acs-action": "ListVirusScanTask"}
    )
    assert reply.status_code == 404 and reply.json()["Code"] == "InvalidAction.NotFound"


# ---------------------------------------------------------------------- bounds, one step in and one out
def test_paging_and_status_bounds(fleet: Fleet) -> None:
    act = "ListVirusScanTask"
    for good in ({"PageSize": 1}, {"PageSize": 100}, {"CurrentPage": 1}, {"CurrentPage": INT_MAX}):
        _ok(fleet, act, good)
    for bad, name in (
        ({"PageSize": 0}, "PageSize"),
        ({"PageSize": 101}, "PageSize"),
        ({"CurrentPage": 0}, "CurrentPage"),
        ({"CurrentPage": INT_MAX + 1}, "CurrentPage"),
        ({"PageSize": "9" * 40}, "PageSize"),
        ({"PageSize": "ten"}, "PageSize"),
        ({"PageSize": "1.5"}, "PageSize"),
    ):
        _bad(fleet, act, bad, name)
    for good in ({"Status": 1}, {"Status": 4}, {"StatusList.1": 1, "StatusList.2": 4}):
        _ok(fleet, act, good)
    _ok(fleet, act, {f"StatusList.{i}": 2 for i in range(1, 11)})
    for bad, name in (
        ({"Status": 0}, "Status"),
        ({"Status": 5}, "Status"),
        ({"StatusList.1": 5}, "StatusList.1"),
        ({"StatusList.x": 1}, "StatusList.x"),
        ({"StatusList": 1}, "StatusList"),
        ({"StatusList.2": 1}, "StatusList"),
        ({f"StatusList.{i}": 2 for i in range(1, 12)}, "StatusList.11"),
    ):
        _bad(fleet, act, bad, name)


def test_time_text_bool_and_lang_bounds(fleet: Fleet) -> None:
    act = "ListVirusScanTask"
    for good in (
        {"StartTime": 0},
        {"EndTime": LONG_MAX},
        {"StartTime": 5, "EndTime": 5},
        {"TaskId": "a" * 64},
        {"MachineName": "m" * 256},
        {"RootTask": "TRUE"},
        {"RootTask": "false"},
        {"Lang": "en"},
        {"ScanType": "system"},
    ):
        _ok(fleet, act, good)
    for bad, name in (
        ({"StartTime": -1}, "StartTime"),
        ({"EndTime": LONG_MAX + 1}, "EndTime"),
        ({"StartTime": 6, "EndTime": 5}, "EndTime"),
        ({"TaskId": "a" * 65}, "TaskId"),
        ({"MachineName": "m" * 257}, "MachineName"),
        ({"MachineName": "a\x00b"}, "MachineName"),
        ({"RootTask": "yes"}, "RootTask"),
        ({"Lang": "fr"}, "Lang"),
        ({"ScanType": "cron"}, "ScanType"),
    ):
        _bad(fleet, act, bad, name)


def test_describe_progress_task_id(fleet: Fleet, foreign: Fleet) -> None:
    act = "DescribeScanTaskProgress"
    _bad(fleet, act, {}, "TaskId", code="MissingParameter")
    for bad in (0, -5, LONG_MAX + 1, "abc", "9" * 5000):
        _bad(fleet, act, {"TaskId": bad}, "TaskId")
    for unknown in (1, LONG_MAX):
        err = refused(fleet.client, act, {"TaskId": unknown})
        assert (err.code, err.status_code) == ("InvalidTaskId.NotFound", 404)
    other = foreign.start(foreign.enroll("theirs"))
    assert foreign.progress(other) == "init"
    err = refused(fleet.client, act, {"TaskId": other})
    assert (err.code, err.status_code) == ("InvalidTaskId.NotFound", 404)


def test_target_info_validation(fleet: Fleet, foreign: Fleet) -> None:
    act = "StartVirusScanTask"
    mine = fleet.enroll("mine")
    theirs = foreign.enroll("theirs")
    _bad(fleet, act, {}, "TargetInfo", code="MissingParameter")
    entry = {"type": "uuid", "name": "n", "target": mine.host_id}
    for bad in (
        "not json",
        "{}",
        "[]",
        "[1]",
        json.dumps([{"type": "ip", "target": "1.2.3.4"}]),
        json.dumps([{"type": "uuid"}]),
        json.dumps([{"type": "uuid", "target": ""}]),
        json.dumps([{"type": "uuid", "target": "x" * 129}]),
        json.dumps([{**entry, "name": 5}]),
        json.dumps([{**entry, "name": "a\u0000b"}]),
        json.dumps([{"type": "uuid", "target": theirs.host_id}]),
        json.dumps([{"type": "groupId", "target": "no-group"}]),
    ):
        _bad(fleet, act, {"TargetInfo": bad}, "TargetInfo")
    assert fleet.tasks(root_task=True) == []  # nothing was created by any refusal
    body = _ok(fleet, act, {"TargetInfo": json.dumps([entry])})
    assert type(body["ScanTaskId"]) is int

    t = fleet.tenant
    form = "application/x-www-form-urlencoded"
    # Big values go in a form body (the query of one request line is limited by the HTTP server).
    for value, status in ((json.dumps([entry] * 1000), 200), (json.dumps([entry] * 1001), 400), ("[" * 100_000, 400)):
        payload = urlencode({"TargetInfo": value}).encode()
        request = signed(fleet.server, t.access_key_id, t.secret, act, [], body=payload, content_type=form)
        assert httpx.Client().send(request).status_code == status


def test_foreign_ids_are_invisible(fleet: Fleet, foreign: Fleet) -> None:
    theirs = foreign.enroll("theirs")
    foreign.start(theirs)
    sub = foreign.take(theirs)
    theirs.complete(sub, "success")
    root = foreign.tasks(root_task=True)[0].task_id
    assert fleet.tasks(task_id=sub) == [] and fleet.tasks(root_task_id=root) == []
    assert fleet.tasks(root_task=True, task_id=root) == []
    assert fleet.client.get_virus_scan_latest_task_statistic().body.data.task_id is None
    machines = fleet.client.list_virus_scan_machine(sas.ListVirusScanMachineRequest(current_page=1, page_size=20))
    assert machines.body.data == []
    events = fleet.client.list_virus_scan_machine_event(
        sas.ListVirusScanMachineEventRequest(uuid=theirs.host_id, operate_task_id=root)
    )
    assert events.body.data == [] and events.body.page_info.total_count == 0


def test_error_messages_follow_lang(fleet: Fleet) -> None:
    err = refused(fleet.client, "ListVirusScanTask", {"PageSize": 0, "Lang": "zh"})
    assert "参数 PageSize 无效" in err.message
    err = refused(fleet.client, "ListVirusScanTask", {"PageSize": 0, "Lang": "en"})
    assert "The specified parameter PageSize is not valid" in err.message


def test_nothing_malformed_gives_a_5xx(fleet: Fleet) -> None:
    t = fleet.tenant
    weird = ["%", "\x00", "🦠" * 50, "9" * 400, '{"a":', "1e309"]
    for action in ("ListVirusScanTask", "CreateVirusScanOnceTask", "ListVirusScanMachineEvent", "StartVirusScanTask"):
        for name in ("TaskId", "PageSize", "Param", "ScanPath.1", "TargetInfo", "DryRun"):
            for value in weird:
                pairs = [(name, value)]
                reply = httpx.Client().send(signed(fleet.server, t.access_key_id, t.secret, action, pairs))
                assert reply.status_code < 500, (action, name, value, reply.text)
                assert reply.json()["RequestId"]
    headers = {"x-acs-version": "2018-12-03", "x-acs-action": "ListVirusScanTask"}
    raw = httpx.post(fleet.server.url + "/?PageSize=%ZZ", headers=headers)
    assert raw.status_code == 400 and raw.json()["Code"] == "IncompleteSignature"
