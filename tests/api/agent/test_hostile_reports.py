"""Reports a buggy or hostile agent sends: one bad finding never sinks the rest, a refused report changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import httpx
from huaweicloudsdkhss.v5 import CreateAntiVirusPaidTaskRequest, CreateAntiVirusPaidTaskRequestInfo

from tests.api.alibaba.helpers import call, sdk
from tests.api.huawei.hss_support import tenant_client
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.server import ServerProcess, Tenant, cli

INT64_MAX = 2**63 - 1


def start(server: ServerProcess, tenant: Tenant) -> tuple[ProtocolAgent, str, str]:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "h-" + uuid.uuid4().hex[:6])
    name = "t-" + uuid.uuid4().hex[:8]
    body = CreateAntiVirusPaidTaskRequestInfo(
        task_name=name, scan_type="custom", action="auto", host_ids=[agent.host_id], scan_dir="/srv"
    )
    tenant_client(tenant).create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=body))
    [item] = agent.work()
    return agent, item["subtask_id"], name


def digest(server: ServerProcess, tenant: Tenant) -> str:
    """Everything the tenant can see of its tasks, hosts' parts in them and detections, through the HSS dialect."""
    headers = {"X-Auth-Token": tenant.auth_token()}
    base = f"{server.url}/v5/{tenant.project_id}/antivirus"
    tasks = httpx.get(f"{base}/task", params={"offset": 0, "limit": 200, "whether_paid_task": "true"}, headers=headers)
    found = httpx.get(f"{base}/result", params={"offset": 0, "limit": 200}, headers=headers)
    isolated = httpx.get(
        f"{server.url}/v5/{tenant.project_id}/event/isolated-file", params={"offset": 0, "limit": 200}, headers=headers
    )
    parts = [tasks.json(), found.json(), isolated.json()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def test_a_bad_finding_is_refused_alone(server: ServerProcess, tenant: Tenant) -> None:
    agent, subtask_id, _ = start(server, tenant)
    good = finding("/srv/good.com")
    late = {**finding("/srv/late.com"), "file_mtime": INT64_MAX + 1}
    nul = {**finding("/srv/nul.com"), "file_path": "/srv/a\x00b"}
    surrogate = {**finding("/srv/s.com"), "malware_name": "x\udcff"}
    body = {"report_id": uuid.uuid4().hex, "detections": [good, late, nul, surrogate]}
    raw = json.dumps(body).encode()  # ensure_ascii keeps the lone surrogate as a \\udcff escape
    reply = agent.http.post(
        f"/agent/v1/subtasks/{subtask_id}/progress", content=raw, headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 200, reply.text
    refused = reply.json()["refused"]
    assert [(r["index"], r["field"]) for r in refused] == [(1, "file_mtime"), (2, "file_path"), (3, "malware_name")]
    assert all(r["message"] for r in refused)
    assert reply.json()["viruses_found"] == 1


def test_an_exact_path_travels_as_bytes(server: ServerProcess, tenant: Tenant) -> None:
    agent, subtask_id, _ = start(server, tenant)
    raw = b"/srv/bad-\xff\xfe-eicar.com"
    exact = {**finding("/srv/bad-\\xff\\xfe-eicar.com"), "file_path_b64": base64.b64encode(raw).decode()}
    wrong = {**finding("/srv/x"), "file_path_b64": "not base64!"}
    reply = agent.progress(subtask_id, detections=[exact, wrong])
    assert reply.status_code == 200, reply.text
    assert [(r["index"], r["field"]) for r in reply.json()["refused"]] == [(1, "file_path_b64")]
    long = "/srv/" + "m" * 9000
    reply = agent.progress(subtask_id, detections=[finding(long)])
    assert reply.status_code == 200 and reply.json()["refused"] == [], reply.text


def test_quarantine_facts_beyond_int64_are_refused_and_change_nothing(server: ServerProcess, tenant: Tenant) -> None:
    agent, subtask_id, _ = start(server, tenant)
    before = digest(server, tenant)
    facts = {"quarantine_id": "q" + uuid.uuid4().hex, "sha256": "0" * 64, "size": 1, "mtime": INT64_MAX + 1}
    reply = agent.progress(subtask_id, files_scanned=5, detections=[{**finding("/srv/evil.com"), "quarantine": facts}])
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == "invalid_parameter"
    assert digest(server, tenant) == before


def test_an_envelope_beyond_int64_is_refused(server: ServerProcess, tenant: Tenant) -> None:
    agent, subtask_id, _ = start(server, tenant)
    before = digest(server, tenant)
    reply = agent.progress(subtask_id, files_scanned=INT64_MAX + 1)
    assert reply.status_code == 400, reply.text
    assert digest(server, tenant) == before


def test_not_scanned_counts_are_stored(server: ServerProcess, tenant: Tenant) -> None:
    agent, subtask_id, name = start(server, tenant)
    not_scanned = [
        {"reason": "permission_denied", "count": 3, "examples": ["/srv/a", "/srv/b"]},
        {"reason": "read_error", "count": 1, "examples": ["/srv/\\xff"]},
    ]
    reply = agent.complete(subtask_id, files_scanned=10, not_scanned=not_scanned)
    assert reply.status_code == 200, reply.text
    headers = {"X-Auth-Token": tenant.auth_token()}
    rows = httpx.get(
        f"{server.url}/v5/{tenant.project_id}/antivirus/task",
        params={"offset": 0, "limit": 10, "whether_paid_task": "true", "task_name": name},
        headers=headers,
    ).json()["data_list"]
    host: dict[str, Any] = rows[0]["host_info_list"][0]
    assert host["not_scanned_num"] == 4
    assert host["not_scanned"] == not_scanned
    too_many = [{"reason": "read_error", "count": 1, "examples": [f"/{i}" for i in range(6)]}]
    assert agent.progress(subtask_id, not_scanned=too_many).status_code == 400

    listed = cli(server.database_url, "task", "list", "--account", tenant.account, "--project-id", tenant.project_id)
    assert "not scanned: 4 (3 permission_denied, 1 read_error)" in listed.stdout, listed.stderr
    as_json = cli(
        server.database_url, "task", "list", "--account", tenant.account, "--project-id", tenant.project_id, "--json"
    )
    [row] = json.loads(as_json.stdout)["tasks"]
    assert (row["not_scanned"], row["not_scanned_by_reason"]) == (4, {"permission_denied": 3, "read_error": 1})

    ali = sdk(server, tenant.access_key_id, tenant.secret)
    [machine] = call(ali, "ListVirusScanTask", {"RootTask": "false"})["body"]["List"]
    assert machine["NotScannedNum"] == 4
    assert machine["NotScanned"][0] == {"Reason": "permission_denied", "Count": 3, "Examples": ["/srv/a", "/srv/b"]}
