"""Who may call the HSS dialect: signatures, tokens, projects, enterprise projects; and the shape of refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HssClient,
    ListAntiVirusHostRequest,
    ListAntiVirusResultRequest,
    ListAntiVirusTaskRequest,
    ShowAntivirusStatisticRequest,
)

from tests.support.agent_protocol import finding
from tests.support.server import ServerProcess, Tenant

from .hss_support import Fleet, client, raw_json, refused, signed, tenant_client

LIST = [("limit", "10"), ("offset", "0"), ("whether_paid_task", "false")]


def list_tasks(hss: HssClient, eps: str | None = None) -> Any:
    return hss.list_anti_virus_task(
        ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False, enterprise_project_id=eps)
    )


def test_signed_sdk_request_and_request_id(tenant: Tenant) -> None:
    reply = list_tasks(tenant_client(tenant))
    assert reply.total_num == 0 and reply.data_list == []
    raw = signed(tenant, "GET", "/antivirus/task", LIST)
    assert raw.status_code == 200 and len(raw.headers["X-Request-Id"]) == 32


def test_wrong_secret_unknown_key_and_no_credentials_are_401(server: ServerProcess, tenant: Tenant) -> None:
    bad = client(server, tenant.access_key_id, "wrong-secret", tenant.project_id)
    refused(lambda: list_tasks(bad), 401, "APIGW.0301")
    unknown = client(server, "FSNOSUCHKEY", tenant.secret, tenant.project_id)
    refused(lambda: list_tasks(unknown), 401, "APIGW.0301")
    reply = httpx.get(f"{server.url}/v5/{tenant.project_id}/antivirus/statistic")
    assert reply.status_code == 401 and reply.json()["error_code"] == "APIGW.0301"
    assert len(reply.headers["X-Request-Id"]) == 32


def test_x_auth_token(server: ServerProcess, tenant: Tenant) -> None:
    token = tenant.auth_token()
    url = f"{server.url}/v5/{tenant.project_id}/antivirus/statistic"
    reply = httpx.get(url, headers={"X-Auth-Token": token})
    assert reply.status_code == 200 and reply.json()["total_task_num"] == 0
    assert len(reply.headers["X-Request-Id"]) == 32
    same = httpx.get(url, headers={"X-Auth-Token": token, "X-Project-Id": tenant.project_id})
    assert same.status_code == 200
    wrong = httpx.get(url, headers={"X-Auth-Token": token, "X-Project-Id": "other"})
    assert wrong.status_code == 403 and wrong.json()["error_code"] == "HSS.0004"
    bad = httpx.get(url, headers={"X-Auth-Token": token + "x"})
    assert bad.status_code == 401 and bad.json()["error_code"] == "APIGW.0301"
    other_path = httpx.get(f"{server.url}/v5/someone-else/antivirus/statistic", headers={"X-Auth-Token": token})
    assert other_path.status_code == 403


def test_project_id_must_match(server: ServerProcess, tenant: Tenant) -> None:
    # the SDK with another project id: path and X-Project-Id agree, but it is not the key's project
    elsewhere = client(server, tenant.access_key_id, tenant.secret, "0" * 32)
    refused(lambda: list_tasks(elsewhere), 403, "HSS.0004")
    # a correctly signed X-Project-Id that differs from the path
    reply = signed(tenant, "GET", "/antivirus/task", LIST, project_header="0" * 32)
    assert reply.status_code == 403 and reply.json()["error_code"] == "HSS.0004"
    # X-Project-Id changed after signing: the signature no longer holds
    tampered = signed(tenant, "GET", "/antivirus/task", LIST, after_signing={"X-Project-Id": "0" * 32})
    assert tampered.status_code == 401 and tampered.json()["error_code"] == "APIGW.0301"
    # a signed request must carry X-Project-Id (the signature check itself may already insist on it)
    reply = signed(tenant, "GET", "/antivirus/task", LIST, project_header="")
    assert (reply.status_code, reply.json()["error_code"]) in ((401, "APIGW.0301"), (403, "HSS.0004"))


def test_unknown_paths_and_methods(server: ServerProcess, tenant: Tenant) -> None:
    for path in ("/antivirus/nothing", "/antivirus/task/extra"):
        reply = signed(tenant, "GET", path)
        assert reply.status_code == 404 and reply.json()["error_code"] == "APIGW.0101"
        assert len(reply.headers["X-Request-Id"]) == 32
    reply = httpx.get(f"{server.url}/v5/")
    assert reply.status_code == 404 and "X-Request-Id" in reply.headers
    for method, path in (
        ("DELETE", "/antivirus/task"),
        ("GET", "/antivirus/pay-per-scan/tasks"),
        ("POST", "/antivirus/statistic"),
    ):
        reply = signed(tenant, method, path)
        assert reply.status_code == 405 and reply.json()["error_code"] == "APIGW.0102"
        assert len(reply.headers["X-Request-Id"]) == 32


@pytest.fixture
def split(tenant: Tenant) -> Fleet:
    """Two hosts in enterprise projects e1 and e2, one task and one detection in each."""
    fleet = Fleet(tenant)
    fleet.enroll("in-e1", "--host-enterprise-project-id", "e1", private_ip="10.9.0.1")
    fleet.enroll("in-e2", "--host-enterprise-project-id", "e2", private_ip="10.9.0.2")
    hss = tenant_client(tenant)
    for name, eps in (("in-e1", "e1"), ("in-e2", "e2")):
        body = CreateAntiVirusTaskRequestInfo(
            task_name=f"task-{eps}", scan_type="quick", action="manual", host_ids=[fleet.host_id(name)]
        )
        task_id = hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body, enterprise_project_id=eps)).task_id
        sub = fleet.subtask(name, task_id)
        assert fleet.agents[name].progress(sub, progress=5, detections=[finding(f"/tmp/{eps}")]).status_code == 200
    return fleet


def task_names(hss: HssClient, eps: str | None) -> set[str]:
    return {t.task_name for t in list_tasks(hss, eps).data_list}


def test_enterprise_projects(server: ServerProcess, split: Fleet) -> None:
    tenant = split.tenant
    full = tenant_client(tenant)
    assert task_names(full, "all_granted_eps") == {"task-e1", "task-e2"}
    assert task_names(full, "e2") == {"task-e2"}
    assert task_names(full, None) == set()  # the default enterprise project "0" holds neither
    assert task_names(full, "0") == set()

    ak, sk = tenant.key("e1")
    limited = client(server, ak, sk, tenant.project_id)
    assert task_names(limited, "all_granted_eps") == {"task-e1"}
    assert task_names(limited, "e1") == {"task-e1"}
    refused(lambda: list_tasks(limited, "e2"), 403, "HSS.0004")
    refused(lambda: list_tasks(limited, None), 403, "HSS.0004")

    def results(eps: str) -> set[str]:
        reply = limited.list_anti_virus_result(ListAntiVirusResultRequest(limit=10, enterprise_project_id=eps))
        return {r.file_info.file_path for r in reply.data_list}

    assert results("all_granted_eps") == {"/tmp/e1"}
    refused(lambda: results("e2"), 403, "HSS.0004")

    hosts = limited.list_anti_virus_host(
        ListAntiVirusHostRequest(offset=0, limit=10, enterprise_project_id="all_granted_eps")
    )
    assert [h.host_name for h in hosts.data_list] == ["in-e1"] and hosts.total_num == 1

    stats = raw_json(
        limited.show_antivirus_statistic(ShowAntivirusStatisticRequest(enterprise_project_id="all_granted_eps"))
    )
    assert (stats["total_task_num"], stats["total_malware_num"], stats["malware_host_num"]) == (1, 1, 1)
    full_stats = full.show_antivirus_statistic(ShowAntivirusStatisticRequest(enterprise_project_id="all_granted_eps"))
    assert (full_stats.total_task_num, full_stats.total_malware_num) == (2, 2)

    # the e1 key cannot scan the e2 host, nor cancel the e2 task
    body = CreateAntiVirusTaskRequestInfo(
        task_name="x", scan_type="quick", action="manual", host_ids=[split.host_id("in-e2")]
    )
    refused(
        lambda: limited.create_anti_virus_task(
            CreateAntiVirusTaskRequest(body=body, enterprise_project_id="all_granted_eps")
        ),
        400,
        "HSS.0001",
    )
    e2_task = list_tasks(full, "e2").data_list[0].task_id
    e1_task = list_tasks(full, "e1").data_list[0].task_id
    for task_id, status in ((e2_task, 404), (e1_task, 200)):
        reply = signed(
            tenant,
            "PUT",
            "/antivirus/task",
            [("enterprise_project_id", "all_granted_eps")],
            body=b'{"task_id": "%s"}' % task_id.encode(),
            key=(ak, sk),
        )
        assert reply.status_code == status, reply.text
    assert {t.task_name: t.task_status for t in list_tasks(full, "all_granted_eps").data_list} == {
        "task-e1": "cancel",
        "task-e2": "scanning",
    }
