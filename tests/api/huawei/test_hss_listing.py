"""ListAntiVirusTask, ListAntiVirusResult, ShowAntivirusStatistic, ListAntiVirusHost through the official SDK.

All against one fleet per backend (conftest.world), built with the SDK and the agent protocol.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huaweicloudsdkhss.v5 import (
    ListAntiVirusHostRequest,
    ListAntiVirusResultRequest,
    ListAntiVirusTaskRequest,
    ShowAntivirusStatisticRequest,
)

from .conftest import IPV6, World
from .hss_support import raw_json, refused, signed


def tasks(w: World, **params: Any) -> dict[str, Any]:
    params.setdefault("offset", 0)
    params.setdefault("limit", 10)
    params.setdefault("whether_paid_task", False)
    body: dict[str, Any] = raw_json(w.hss.list_anti_virus_task(ListAntiVirusTaskRequest(**params)))
    return body


def names(body: dict[str, Any]) -> set[str]:
    return {t["task_name"] for t in body["data_list"]}


def hosts_of(body: dict[str, Any], task_name: str) -> set[str]:
    task = next(t for t in body["data_list"] if t["task_name"] == task_name)
    return {h["host_name"] for h in task["host_info_list"]}


TASK_TYPES = {
    "task_id": str,
    "task_name": str,
    "scan_type": str,
    "start_type": str,
    "action": str,
    "start_time": int,
    "task_status": str,
    "host_num": int,
    "success_host_num": int,
    "fail_host_num": int,
    "cancel_host_num": int,
    "host_info_list": list,
    "rescan": bool,
    "whether_paid_task": bool,
}
HOST_TYPES = {
    "host_id": str,
    "host_name": str,
    "private_ip": str,
    "public_ip": str,
    "asset_value": str,
    "start_time": int,
    "run_duration": int,
    "scan_progress": str,
    "virus_num": int,
    "scan_file_num": int,
    "host_task_status": str,
    "fail_reason": str,
    "deleted": bool,
    "whether_using_quota": int,
    "agent_id": str,
    "os_type": str,
    "host_status": str,
    "agent_status": str,
    "protect_status": str,
    "os_name": str,
    "os_version": str,
    "not_scanned_num": int,  # fleetscan's own: files not scanned, by reason (docs/agent-protocol.md)
    "not_scanned": list,
}


def test_task_list_fields_values_and_types(world: World) -> None:
    body = tasks(world)
    assert body["total_num"] == 4
    assert names(body) == {"nightly-A", "full-B", "custom-C", "cancel-D"}
    for task in body["data_list"]:
        assert {k: type(v) for k, v in task.items()} == TASK_TYPES
        for host in task["host_info_list"]:
            assert {k: type(v) for k, v in host.items()} == HOST_TYPES
    by_name = {t["task_name"]: t for t in body["data_list"]}
    a = by_name["nightly-A"]
    assert a["task_id"] == world.tasks["A"]
    assert (a["scan_type"], a["start_type"], a["action"], a["task_status"]) == ("quick", "now", "manual", "scanning")
    assert (a["host_num"], a["success_host_num"], a["fail_host_num"], a["cancel_host_num"]) == (3, 1, 0, 0)
    assert a["rescan"] is False and a["whether_paid_task"] is False
    hosts = {h["host_name"]: h for h in a["host_info_list"]}
    web1, web2, db1 = hosts["web-01"], hosts["web-02"], hosts["db-01"]
    assert web1["host_id"] == world.fleet.host_id("web-01")
    assert web1["agent_id"] == world.fleet.agents["web-01"].agent_id
    assert (web1["host_task_status"], web1["scan_progress"], web1["virus_num"]) == ("success", "100%", 2)
    assert (web1["scan_file_num"], web1["os_name"], web1["os_version"]) == (200, "EulerOS", "2.5")
    assert (web1["private_ip"], web1["public_ip"]) == ("10.0.0.1", "203.0.113.1")
    assert (web2["host_task_status"], web2["scan_progress"], web2["virus_num"], web2["scan_file_num"]) == (
        "scanning",
        "40%",
        1,
        120,
    )
    assert (db1["host_task_status"], db1["scan_progress"], db1["os_type"], db1["public_ip"]) == (
        "scanning",
        "0%",
        "Windows",
        IPV6,
    )
    for host in hosts.values():
        assert (host["host_status"], host["protect_status"], host["agent_status"]) == ("ACTIVE", "opened", "online")
        assert host["deleted"] is False and host["whether_using_quota"] == 0 and host["run_duration"] >= 0
        assert host["asset_value"] == "common" and host["start_time"] >= a["start_time"]
    b, c, d = by_name["full-B"], by_name["custom-C"], by_name["cancel-D"]
    assert (b["task_status"], b["scan_type"], b["success_host_num"], b["host_num"]) == ("finish", "full", 2, 2)
    assert (c["task_status"], c["fail_host_num"]) == ("fail", 1)
    assert c["host_info_list"][0]["fail_reason"] == "disk unreadable"
    assert c["host_info_list"][0]["host_task_status"] == "fail"
    assert (d["task_status"], d["cancel_host_num"], d["host_info_list"][0]["host_task_status"]) == (
        "cancel",
        1,
        "cancel",
    )
    # newest first
    assert [t["task_name"] for t in body["data_list"]] == ["cancel-D", "custom-C", "full-B", "nightly-A"]


def test_paid_tasks_are_listed_apart(world: World) -> None:
    body = tasks(world, whether_paid_task=True)
    assert body["total_num"] == 1
    paid = body["data_list"][0]
    assert (paid["task_id"], paid["whether_paid_task"], paid["action"]) == (world.tasks["P"], True, "auto")
    assert paid["host_info_list"][0]["whether_using_quota"] == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [("scanning", {"nightly-A"}), ("finish", {"full-B"}), ("fail", {"custom-C"}), ("cancel", {"cancel-D"})],
)
def test_task_status_filter(world: World, status: str, expected: set[str]) -> None:
    body = tasks(world, task_status=status)
    assert names(body) == expected and body["total_num"] == len(expected)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["success"], {"nightly-A": {"web-01"}, "full-B": {"web-01", "web-02"}}),
        (["scanning"], {"nightly-A": {"web-02", "db-01"}}),
        (["fail"], {"custom-C": {"db-01"}}),
        (["cancel"], {"cancel-D": {"web-02"}}),
        (["fail", "cancel"], {"custom-C": {"db-01"}, "cancel-D": {"web-02"}}),
    ],
)
def test_host_task_status_filter_shows_matching_hosts(
    world: World, statuses: list[str], expected: dict[str, set[str]]
) -> None:
    body = tasks(world, host_task_status=statuses)
    assert body["total_num"] == len(expected)
    assert {t["task_name"]: hosts_of(body, t["task_name"]) for t in body["data_list"]} == expected


def test_host_task_status_as_comma_list(world: World) -> None:
    query = [("offset", "0"), ("limit", "10"), ("whether_paid_task", "false"), ("host_task_status", "fail,cancel")]
    reply = signed(world.tenant, "GET", "/antivirus/task", query)
    assert reply.status_code == 200, reply.text
    assert names(reply.json()) == {"custom-C", "cancel-D"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"task_name": "nightly"}, {"nightly-A": {"web-01", "web-02", "db-01"}}),
        ({"task_name": "-"}, None),
        ({"host_name": "db-01"}, {"nightly-A": {"db-01"}, "custom-C": {"db-01"}}),
        ({"private_ip": "10.0.1.1"}, {"nightly-A": {"db-01"}, "custom-C": {"db-01"}}),
        ({"public_ip": "203.0.113.2"}, {"nightly-A": {"web-02"}, "full-B": {"web-02"}, "cancel-D": {"web-02"}}),
        ({"public_ip": IPV6}, {"nightly-A": {"db-01"}, "custom-C": {"db-01"}}),
        ({"host_name": "web-02", "host_task_status": ["success"]}, {"full-B": {"web-02"}}),
        ({"host_name": "nobody"}, {}),
    ],
)
def test_task_filters(world: World, params: dict[str, Any], expected: dict[str, set[str]] | None) -> None:
    body = tasks(world, **params)
    if expected is None:
        assert body["total_num"] == 4
        return
    assert body["total_num"] == len(expected)
    assert {t["task_name"]: hosts_of(body, t["task_name"]) for t in body["data_list"]} == expected


def _fmt(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def test_time_filters(world: World) -> None:
    now = datetime.now(UTC)
    now_ms = int(time.time() * 1000)
    assert tasks(world, last_days=1)["total_num"] == 4
    assert tasks(world, last_days=90)["total_num"] == 4
    hour = timedelta(hours=1)
    assert tasks(world, begin_time=_fmt(now - hour), end_time=_fmt(now + hour))["total_num"] == 4
    assert tasks(world, begin_time=_fmt(now - 48 * hour), end_time=_fmt(now - 47 * hour))["total_num"] == 0
    # a very long window is fine in the English page's format
    assert tasks(world, begin_time="2000-01-01 00:00:00", end_time=_fmt(now + hour))["total_num"] == 4
    day = 86_400_000
    assert tasks(world, begin_time=str(now_ms - day), end_time=str(now_ms + day))["total_num"] == 4
    assert tasks(world, begin_time=str(now_ms - 3 * day), end_time=str(now_ms - 2 * day))["total_num"] == 0
    # last_days wins over begin_time/end_time, which are then ignored
    assert tasks(world, last_days=1, begin_time=str(now_ms - 3 * day), end_time=str(now_ms - 2 * day))["total_num"] == 4


def test_task_paging(world: World) -> None:
    assert tasks(world, offset=3)["total_num"] == 4
    assert [t["task_name"] for t in tasks(world, offset=3)["data_list"]] == ["nightly-A"]
    assert tasks(world, offset=4)["data_list"] == []


BIG_MS = 1_700_000_000_000
TASK_BOUNDS: list[tuple[dict[str, Any], str | None]] = [
    ({"offset": 0}, None),
    ({"offset": 2_000_000}, None),
    ({"offset": -1}, "offset"),
    ({"offset": 2_000_001}, "offset"),
    ({"offset": None}, "offset"),
    ({"offset": "x"}, "offset"),
    ({"limit": 10}, None),
    ({"limit": 200}, None),
    ({"limit": 9}, "limit"),
    ({"limit": 201}, "limit"),
    ({"limit": None}, "limit"),
    ({"whether_paid_task": None}, "whether_paid_task"),
    ({"whether_paid_task": "yes"}, "whether_paid_task"),
    ({"whether_paid_task": "True"}, "whether_paid_task"),
    ({"last_days": 1}, None),
    ({"last_days": 90}, None),
    ({"last_days": 0}, "last_days"),
    ({"last_days": 91}, "last_days"),
    ({"task_name": "n" * 128}, None),
    ({"task_name": "n" * 129}, "task_name"),
    ({"task_name": ""}, "task_name"),
    ({"host_name": "h" * 256}, None),
    ({"host_name": "h" * 257}, "host_name"),
    ({"host_name": ""}, "host_name"),
    ({"private_ip": "1" * 128}, None),
    ({"private_ip": "1" * 129}, "private_ip"),
    ({"private_ip": ""}, "private_ip"),
    ({"public_ip": "1.1.1.1"}, None),
    ({"public_ip": "255.255.255.255"}, None),
    ({"public_ip": "1.1.1"}, "public_ip"),
    ({"public_ip": "256.1.1.1"}, "public_ip"),
    ({"public_ip": "001.002.003.0004"}, "public_ip"),
    ({"public_ip": "2001:db8:0:0:0:0:0:1"}, None),
    ({"public_ip": "2001:0db8:0000:0000:0000:0000:0000:0001"}, None),
    ({"public_ip": "2001:db8::1"}, "public_ip"),
    ({"public_ip": "host.example"}, "public_ip"),
    ({"task_status": "finish"}, None),
    ({"task_status": "finished"}, "task_status"),
    ({"host_task_status": ["success", "running"]}, "host_task_status"),
    ({"enterprise_project_id": "0"}, None),
    ({"enterprise_project_id": "all_granted_eps"}, None),
    ({"enterprise_project_id": "e" * 257}, "enterprise_project_id"),
    ({"enterprise_project_id": ""}, "enterprise_project_id"),
    ({"begin_time": "2025-01-22 15:51:27"}, "end_time"),
    ({"end_time": "2025-01-22 15:51:27"}, "begin_time"),
    ({"begin_time": "2025-01-22 15:51:27", "end_time": "2025-01-22 15:51:27"}, None),
    ({"begin_time": "2025-01-22 15:51:27", "end_time": "2025-01-22 15:51:26"}, "end_time"),
    ({"begin_time": "2025-01-22T15:51:27", "end_time": "2025-01-22 15:51:28"}, "begin_time"),
    ({"begin_time": "2025-02-30 00:00:00", "end_time": "2025-03-01 00:00:00"}, "begin_time"),
    ({"begin_time": "2025-01-22 15:51:27", "end_time": str(BIG_MS)}, "end_time"),
    ({"begin_time": str(BIG_MS), "end_time": str(BIG_MS + 172_800_000)}, None),
    ({"begin_time": str(BIG_MS), "end_time": str(BIG_MS + 172_800_001)}, "end_time"),
    ({"begin_time": str(BIG_MS), "end_time": str(BIG_MS - 1)}, "end_time"),
]


@pytest.mark.parametrize(("params", "bad"), TASK_BOUNDS)
def test_task_list_bounds(world: World, params: dict[str, Any], bad: str | None) -> None:
    full: dict[str, Any] = {"offset": 0, "limit": 10, "whether_paid_task": False, **params}
    request = ListAntiVirusTaskRequest(**{k: v for k, v in full.items() if v is not None})
    if bad is None:
        assert isinstance(world.hss.list_anti_virus_task(request).total_num, int)
    else:
        exc = refused(lambda: world.hss.list_anti_virus_task(request), 400, "HSS.0001")
        assert bad in exc.error_msg


def test_scalar_given_twice_is_refused(world: World) -> None:
    query = [("offset", "0"), ("limit", "10"), ("limit", "20"), ("whether_paid_task", "false")]
    reply = signed(world.tenant, "GET", "/antivirus/task", query)
    assert reply.status_code == 400 and reply.json()["error_code"] == "HSS.0001" and "limit" in reply.text


# ------------------------------------------------------------------------------------------ results
def results(w: World, **params: Any) -> dict[str, Any]:
    params.setdefault("limit", 10)
    body: dict[str, Any] = raw_json(w.hss.list_anti_virus_result(ListAntiVirusResultRequest(**params)))
    return body


def paths(body: dict[str, Any]) -> set[str]:
    return {r["file_info"]["file_path"] for r in body["data_list"]}


def test_results_fields_and_types(world: World) -> None:
    body = results(world, offset=0)
    assert body["total_num"] == 3
    assert paths(body) == {"/tmp/eicar.com", "/opt/x.sh", "/var/www/shell.php"}
    shell = next(r for r in body["data_list"] if r["file_info"]["file_path"] == "/var/www/shell.php")
    assert (shell["malware_name"], shell["malware_type"], shell["severity"]) == ("Webshell.PHP", "virus", "Critical")
    assert (shell["task_id"], shell["task_name"]) == (world.tasks["A"], "nightly-A")
    assert shell["file_info"] == {
        "file_path": "/var/www/shell.php",
        "file_hash": world.hashes["/var/www/shell.php"],
        "file_size": len(b"/var/www/shell.php"),
        "file_owner": "root",
        "file_attr": "0644",
        "file_ctime": 1_700_000_000_000,
        "file_mtime": 1_700_000_000_000,
    }
    res = shell["resource_info"]
    assert (res["host_name"], res["host_id"], res["private_ip"]) == (
        "web-02",
        world.fleet.host_id("web-02"),
        "10.0.0.2",
    )
    assert (res["agent_id"], res["agent_status"], res["host_status"]) == (
        world.fleet.agents["web-02"].agent_id,
        "online",
        "ACTIVE",
    )
    assert isinstance(shell["event_type"], int) and isinstance(shell["occur_time"], int) and shell["occur_time"] > 0
    assert (shell["handle_status"], shell["isolate_tag"]) == ("unhandled", "none")
    assert "mark_as_handled" in shell["operate_accept_list"]
    assert shell["operate_detail_list"] == [
        {"keyword": "/var/www/shell.php", "hash": world.hashes["/var/www/shell.php"]}
    ]
    assert len(shell["result_id"]) == 32


def test_result_filters(world: World) -> None:
    eicar, script = world.hashes["/tmp/eicar.com"], world.hashes["/opt/x.sh"]
    assert paths(results(world, severities="High")) == {"/tmp/eicar.com"}
    assert paths(results(world, severity_list=["Low", "Critical"])) == {"/opt/x.sh", "/var/www/shell.php"}
    assert results(world, handle_status="unhandled")["total_num"] == 3
    assert results(world, handle_status="handled")["total_num"] == 0
    assert paths(results(world, file_hash=eicar)) == {"/tmp/eicar.com"}
    assert paths(results(world, file_hash=eicar.upper())) == {"/tmp/eicar.com"}
    assert paths(results(world, file_hash_list=[eicar, script])) == {"/tmp/eicar.com", "/opt/x.sh"}
    assert paths(results(world, malware_name="Trojan")) == {"/opt/x.sh"}
    assert paths(results(world, file_path="/var/www")) == {"/var/www/shell.php"}
    assert results(world, task_name="nightly")["total_num"] == 3
    assert results(world, task_name="full")["total_num"] == 0
    assert paths(results(world, host_name="web-02")) == {"/var/www/shell.php"}
    assert paths(results(world, private_ip="10.0.0.1")) == {"/tmp/eicar.com", "/opt/x.sh"}
    assert paths(results(world, public_ip="203.0.113.2")) == {"/var/www/shell.php"}
    assert results(world, asset_value="common")["total_num"] == 3
    assert results(world, asset_value="important")["total_num"] == 0
    assert results(world, manual_isolate=False)["total_num"] == 3
    assert results(world, manual_isolate=True)["total_num"] == 0
    one = results(world, file_hash=eicar)["data_list"][0]["result_id"]
    assert paths(results(world, id_list=[one])) == {"/tmp/eicar.com"}
    assert results(world, id_list=["0" * 32])["total_num"] == 0
    assert [r["file_info"]["file_path"] for r in results(world, offset=2)["data_list"]] == [
        results(world)["data_list"][2]["file_info"]["file_path"]
    ]


RESULT_BOUNDS: list[tuple[dict[str, Any], str | None]] = [
    ({"limit": 10}, None),
    ({"limit": 200}, None),
    ({"limit": 9}, "limit"),
    ({"limit": 201}, "limit"),
    ({"limit": None}, "limit"),
    ({"offset": 2_000_000}, None),
    ({"offset": 2_000_001}, "offset"),
    ({"offset": -1}, "offset"),
    ({"host_name": "h" * 256}, None),
    ({"host_name": "h" * 257}, "host_name"),
    ({"private_ip": "1" * 129}, "private_ip"),
    ({"public_ip": "1.1.1"}, "public_ip"),
    ({"handle_status": "done"}, "handle_status"),
    ({"severities": "Severe"}, "severities"),
    ({"severity_list": ["High", "high"]}, "severity_list"),
    ({"asset_value": "vip"}, "asset_value"),
    ({"file_hash": "a" * 63}, "file_hash"),
    ({"file_hash": "g" * 64}, "file_hash"),
    ({"file_hash_list": ["a" * 64, "b" * 65]}, "file_hash_list"),
    ({"task_name": "t" * 128}, None),
    ({"task_name": "t" * 129}, "task_name"),
    ({"manual_isolate": "maybe"}, "manual_isolate"),
    ({"id_list": ["x" * 65]}, "id_list"),
]


@pytest.mark.parametrize(("params", "bad"), RESULT_BOUNDS)
def test_result_list_bounds(world: World, params: dict[str, Any], bad: str | None) -> None:
    full: dict[str, Any] = {"limit": 10, **params}
    request = ListAntiVirusResultRequest(**{k: v for k, v in full.items() if v is not None})
    if bad is None:
        assert isinstance(world.hss.list_anti_virus_result(request).total_num, int)
    else:
        assert bad in refused(lambda: world.hss.list_anti_virus_result(request), 400, "HSS.0001").error_msg


# ------------------------------------------------------------------------------------------ statistic
def test_statistic(world: World) -> None:
    reply = world.hss.show_antivirus_statistic(ShowAntivirusStatisticRequest())
    body = raw_json(reply)
    # open alerts (docs/alerts.md): A's three findings were all resolved by B, a full scan of both hosts
    # that succeeded after them without finding them again; tests/api/test_alerts.py counts open ones
    assert body == {
        "total_malware_num": 0,
        "malware_host_num": 0,
        "total_task_num": 5,
        "scanning_task_num": 2,  # A and P
        "latest_scan_time": body["latest_scan_time"],
        "scan_type": "quick",  # P's, the latest
    }
    newest = tasks(world, whether_paid_task=True)["data_list"][0]["start_time"]
    assert body["latest_scan_time"] == newest and isinstance(newest, int)


# ------------------------------------------------------------------------------------------ hosts
def hosts(w: World, **params: Any) -> dict[str, Any]:
    params.setdefault("offset", 0)
    params.setdefault("limit", 10)
    body: dict[str, Any] = raw_json(w.hss.list_anti_virus_host(ListAntiVirusHostRequest(**params)))
    return body


def host_names(body: dict[str, Any]) -> set[str]:
    return {h["host_name"] for h in body["data_list"]}


def test_hosts_fields_and_filters(world: World) -> None:
    body = hosts(world)
    assert body["total_num"] == 3 and host_names(body) == {"web-01", "web-02", "db-01"}
    db1 = next(h for h in body["data_list"] if h["host_name"] == "db-01")
    assert db1.pop("signature_version") is None  # fleetscan's own field: no report with a server set yet
    assert db1.pop("agent_version") == ""  # fleetscan's own fields: what the agent said at enrollment...
    alerts = {h["host_name"]: h.pop("open_alert_num") for h in body["data_list"] if h is not db1}
    alerts["db-01"] = db1.pop("open_alert_num")  # ...and the host's open alerts, as the statistics count them
    stats = raw_json(world.hss.show_antivirus_statistic(ShowAntivirusStatisticRequest()))
    assert sum(alerts.values()) == stats["total_malware_num"]
    assert sum(1 for n in alerts.values() if n) == stats["malware_host_num"]
    assert {k: type(v) for k, v in db1.items()} == {
        k: str
        for k in (
            "host_id",
            "host_name",
            "public_ip",
            "private_ip",
            "agent_id",
            "os_name",
            "host_status",
            "agent_status",
            "asset_value",
            "os_type",
            "group_id",
        )
    }
    assert (db1["host_id"], db1["os_type"], db1["public_ip"]) == (world.fleet.host_id("db-01"), "Windows", IPV6)
    assert (db1["agent_status"], db1["host_status"], db1["asset_value"]) == ("online", "ACTIVE", "common")
    assert db1["group_id"]
    assert host_names(hosts(world, group_id=db1["group_id"])) == {"db-01"}
    assert host_names(hosts(world, host_id=world.fleet.host_id("web-02"))) == {"web-02"}
    assert host_names(hosts(world, host_name="web")) == {"web-01", "web-02"}
    assert host_names(hosts(world, private_ip="10.0.0.2")) == {"web-02"}
    assert host_names(hosts(world, public_ip="203.0.113.1")) == {"web-01"}
    assert host_names(hosts(world, scan_type="full", start_type="now")) == {"web-01", "web-02", "db-01"}
    assert hosts(world, start_type="period")["total_num"] == 0
    assert hosts(world, policy_id="p1")["total_num"] == 0
    assert hosts(world, next_start_time=BIG_MS)["total_num"] == 0
    assert len(hosts(world, offset=2)["data_list"]) == 1


HOST_BOUNDS: list[tuple[dict[str, Any], str | None]] = [
    ({"offset": None}, "offset"),
    ({"offset": 2_000_001}, "offset"),
    ({"limit": 9}, "limit"),
    ({"limit": 200}, None),
    ({"limit": 201}, "limit"),
    ({"host_id": "h" * 64}, None),
    ({"host_id": "h" * 65}, "host_id"),
    ({"group_id": "g" * 65}, "group_id"),
    ({"host_name": "h" * 257}, "host_name"),
    ({"public_ip": "10.0.0"}, "public_ip"),
    ({"scan_type": "deep"}, "scan_type"),
    ({"start_type": "later"}, "start_type"),
    ({"next_start_time": -1}, "next_start_time"),
]


@pytest.mark.parametrize(("params", "bad"), HOST_BOUNDS)
def test_host_list_bounds(world: World, params: dict[str, Any], bad: str | None) -> None:
    full: dict[str, Any] = {"offset": 0, "limit": 10, **params}
    request = ListAntiVirusHostRequest(**{k: v for k, v in full.items() if v is not None})
    if bad is None:
        assert isinstance(world.hss.list_anti_virus_host(request).total_num, int)
    else:
        assert bad in refused(lambda: world.hss.list_anti_virus_host(request), 400, "HSS.0001").error_msg
