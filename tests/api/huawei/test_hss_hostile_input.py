"""Hostile input through the HSS dialect: a value no backend can store (or that one backend would store and hand
back) is refused with 400 HSS.0001 and changes nothing, and every route that would have read it keeps working.

Bodies are sent as raw bytes, signed by the SDK's own signer: the SDK would encode a lone surrogate differently
(or not at all), while a hostile caller writes the JSON escape `\\udfff` itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from alibabacloud_sas20181203 import models as sas
from huaweicloudsdkhss.v5 import HssClient, ListAntiVirusPolicyRequest, ListAntiVirusTaskRequest

from tests.api.alibaba.helpers import sdk as ali_sdk
from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant

from .hss_support import signed, tenant_client

INT64_MAX = 2**63 - 1


@dataclass
class World:
    tenant: Tenant
    hss: HssClient
    agent: ProtocolAgent

    @property
    def host_id(self) -> str:
        return self.agent.host_id


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> World:
    tenant = Tenant(server)
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "victim-01")
    return World(tenant, tenant_client(tenant), agent)


def counts(w: World) -> tuple[int, int]:
    """The tenant's task and policy counts: what a refused request must leave as it was."""
    tasks = w.hss.list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False))
    paid = w.hss.list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=True))
    policies = w.hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=0, limit=10))
    return tasks.total_num + paid.total_num, policies.total_num


def assert_every_reader_answers(w: World) -> None:
    """The host's agent, and Alibaba's views of the same project, still answer."""
    assert w.agent.http.get("/agent/v1/work").status_code == 200
    ali = ali_sdk(w.tenant.server, w.tenant.access_key_id, w.tenant.secret)
    ali.list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task=True, page_size=100))
    ali.list_virus_scan_task(sas.ListVirusScanTaskRequest(page_size=100))
    ali.get_virus_scan_latest_task_statistic()


def refused_body(w: World, method: str, path: str, body: bytes, parameter: str) -> None:
    before = counts(w)
    answer = signed(w.tenant, method, path, body=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "HSS.0001"
    assert parameter in answer.json()["error_msg"]
    assert counts(w) == before
    assert_every_reader_answers(w)


POISON = ("/x\\udfff", "/x\\ud800y", "/x\\u0000", "/x\\u0007")


def _paid(host_id: str, **fields: str) -> bytes:
    base = {"task_name": "t", "scan_type": "custom", "action": "manual", "host_ids": [host_id], "scan_dir": "/srv"}
    text = json.dumps({k: v for k, v in base.items() if k not in fields})[:-1]
    # The poisoned fields are written into the JSON text as they are, escapes and all.
    return (text + "".join(f', "{k}": "{v}"' for k, v in fields.items()) + "}").encode()


@pytest.mark.parametrize("value", POISON)
@pytest.mark.parametrize("field", ["scan_dir", "ignore_dir"])
def test_paid_task_directories_hold_to_the_name_rule(world: World, field: str, value: str) -> None:
    body = _paid(world.host_id, **{field: value})
    refused_body(world, "POST", "/antivirus/pay-per-scan/tasks", body, field)


@pytest.mark.parametrize("field", ["task_name", "host_ids"])
def test_task_names_and_host_ids_refuse_nul_and_surrogates(world: World, field: str) -> None:
    for escape in ("\\u0000", "\\udfff"):
        base = {"task_name": "t", "scan_type": "quick", "action": "manual", "host_ids": [world.host_id]}
        text = json.dumps(base)
        if field == "task_name":
            text = text.replace('"t"', f'"t{escape}"')
        else:
            text = text.replace(world.host_id, world.host_id + escape)
        refused_body(world, "POST", "/antivirus/task", text.encode(), field)


@pytest.mark.parametrize("value", POISON[:3])
def test_a_now_policy_refuses_a_poisoned_scan_dir(world: World, value: str) -> None:
    base = {
        "policy_name": "p",
        "start_type": "now",
        "scan_type": "custom",
        "action": "manual",
        "host_ids": [world.host_id],
    }
    body = (json.dumps(base)[:-1] + f', "scan_dir": "{value}"}}').encode()
    refused_body(world, "POST", "/antivirus/policy", body, "scan_dir")


def test_memo_is_free_text_but_not_nul(world: World) -> None:
    body = b'{"operate_type": "mark_as_handled", "memo": "a\\u0000b", "operate_results": [{"result_id": "x"}]}'
    refused_body(world, "POST", "/antivirus/result/operate", body, "memo")


@pytest.mark.parametrize(
    "body",
    [
        b'{"task_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"task_name": "t", "scan_type": "quick", "action": "manual", "host_ids": ["a"], "x": NaN}',
        b'{"task_name": "t", "scan_type": "quick", "action": "manual", "host_ids": ["a"], "x": ' + b"9" * 30 + b"}",
        b'{"task_name": "t", "scan_type": "quick", "action": "manual", "host_ids": ["a"], "file_types": [1e400]}',
    ],
    ids=["deep", "nan", "bigint", "inf"],
)
def test_bodies_beyond_json_are_refused(world: World, body: bytes) -> None:
    refused_body(world, "POST", "/antivirus/task", body, "body")


@pytest.mark.parametrize(
    ("begin", "end"),
    [
        (str(INT64_MAX + 1), str(INT64_MAX + 1)),
        (str(INT64_MAX), str(INT64_MAX + 10)),
        ("1700000000000\u00b2", "1700000000001"),
        ("\u00b2", "\u00b3"),
        ("\uff12026-01-01 00:00:00", "2026-01-02 00:00:00"),
        ("-5", "-1"),
    ],
    ids=["beyond-int64", "end-beyond-int64", "superscript", "only-superscripts", "fullwidth-date", "negative"],
)
def test_task_time_filters_are_ascii_integers_within_int64(world: World, begin: str, end: str) -> None:
    query = [("offset", "0"), ("limit", "10"), ("whether_paid_task", "false"), ("begin_time", begin), ("end_time", end)]
    answer = signed(world.tenant, "GET", "/antivirus/task", query)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "HSS.0001"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/antivirus/task", [("host_name", "a\x00b")]),
        ("/antivirus/task", [("task_name", "a\x00b")]),
        ("/antivirus/result", [("file_path", "/a\x00b")]),
        ("/antivirus/host-management/hosts", [("host_id", "a\x00b")]),
        ("/antivirus/handle-history", [("user_name", "a\x00b")]),
        ("/antivirus/task", [("enterprise_project_id", "0\x00")]),
    ],
)
def test_nul_in_query_filters_is_refused(world: World, path: str, query: list[tuple[str, str]]) -> None:
    full = [("offset", "0"), ("limit", "10"), ("whether_paid_task", "false"), *query]
    answer = signed(world.tenant, "GET", path, full)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "HSS.0001"


def test_integers_beyond_int64_in_bodies_are_refused(world: World) -> None:
    base = {
        "policy_name": "p",
        "start_type": "later",
        "scan_type": "quick",
        "action": "manual",
        "host_ids": [world.host_id],
        "scan_time": INT64_MAX + 1,
    }
    refused_body(world, "POST", "/antivirus/policy", json.dumps(base).encode(), "scan_time")


@pytest.mark.parametrize("subtask_id", ["a%00b", "%ED%BF%BF", "a%01b"])
def test_nul_in_a_path_id_is_refused_before_storage(world: World, subtask_id: str) -> None:
    """The agent protocol's path ids reach storage as they are; the layer in front of it refuses NUL there
    (PostgreSQL would fail on it, SQLite would look it up)."""
    answer = world.agent.http.post(f"/agent/v1/subtasks/{subtask_id}/progress", json={"report_id": "r" * 16})
    assert 400 <= answer.status_code < 500, answer.text
    assert world.agent.http.get("/agent/v1/work").status_code == 200
