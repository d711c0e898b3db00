"""The agent protocol over real HTTP against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import httpx

from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant


def test_enroll_refuses_unknown_token(server: ServerProcess) -> None:
    reply = httpx.post(f"{server.url}/agent/v1/enroll", json={"enroll_token": "nope", "name": "h"})
    assert reply.status_code == 401
    assert reply.json()["error"] == "unauthorized"


def test_enroll_validates_facts(server: ServerProcess, tenant: Tenant) -> None:
    token = tenant.enroll_token()
    reply = httpx.post(f"{server.url}/agent/v1/enroll", json={"enroll_token": token, "name": ""})
    assert reply.status_code == 400
    reply = httpx.post(f"{server.url}/agent/v1/enroll", content=b"{not json")
    assert reply.status_code == 400


def test_work_requires_agent_credential(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/agent/v1/work").status_code == 401
    bad = {"Authorization": "Bearer x:y"}
    assert httpx.get(f"{server.url}/agent/v1/work", headers=bad).status_code == 401


def test_enrolled_agent_has_no_work_yet(server: ServerProcess, tenant: Tenant) -> None:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "web-01", private_ip="10.0.0.5")
    assert agent.work() == []
    assert agent.heartbeat().status_code == 200
    assert len(agent.host_id) == 36
    assert uuid.UUID(agent.host_id)


def test_a_goodbye_heartbeat_shows_the_host_offline_until_it_beats_again(server: ServerProcess, tenant: Tenant) -> None:
    from huaweicloudsdkhss.v5 import ListAntiVirusHostRequest

    from tests.api.huawei.hss_support import tenant_client

    hss = tenant_client(tenant)
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "bye-01")

    def status() -> str:
        return str(hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=10)).data_list[0].agent_status)

    assert agent.heartbeat().status_code == 200 and status() == "online"
    assert agent.http.post("/agent/v1/heartbeat", json={"stopping": "soon"}).status_code == 400
    assert status() == "online"  # a refused goodbye changes nothing
    assert agent.http.post("/agent/v1/heartbeat", json={"stopping": True}).status_code == 200
    assert status() == "offline"
    assert agent.heartbeat().status_code == 200 and status() == "online"  # started again
    chunked = agent.http.post("/agent/v1/heartbeat", content=iter([b'{"stopping": ', b"true}"]))
    assert chunked.request.headers["transfer-encoding"] == "chunked" and chunked.status_code == 200
    assert status() == "offline"  # a body without a Content-Length is read too
