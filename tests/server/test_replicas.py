"""Two server processes on one PostgreSQL behave as one: same data, one nonce space, one set of report keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HssClient,
    ListAntiVirusTaskRequest,
)

from fleetscan.storage.sql import open_storage
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.postgres import PostgresServer
from tests.support.server import ServerProcess, Tenant
from tests.support.signing import acs3_request


@pytest.fixture
def replicas(postgres: PostgresServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    url = postgres.new_database()
    first = ServerProcess(url).start()
    second = ServerProcess(url).start()
    yield first, second
    first.stop()
    second.stop()


def _hss(server: ServerProcess, tenant: Tenant) -> Any:
    creds = BasicCredentials(tenant.access_key_id, tenant.secret, tenant.project_id)
    return HssClient.new_builder().with_credentials(creds).with_endpoints([server.url]).build()


def test_a_task_made_on_one_replica_is_run_through_both(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = replicas
    tenant = Tenant(a)
    token = tenant.enroll_token()
    agents = [ProtocolAgent(a.url if i % 2 else b.url, token, f"h{i}") for i in range(4)]
    body = CreateAntiVirusTaskRequestInfo(
        task_name="replicated", scan_type="quick", action="manual", host_ids=[x.host_id for x in agents]
    )
    _hss(a, tenant).create_anti_virus_task(CreateAntiVirusTaskRequest(body=body))
    for i, agent in enumerate(agents):
        item = agent.work()[0]
        for step in range(3):
            # each report goes to the other replica than the one before, and each is sent twice
            agent.http.base_url = httpx.URL(a.url if (i + step) % 2 else b.url)
            report = {"report_id": f"report-{i}-{step}", "files_scanned": 10 * (step + 1), "progress": 30 * (step + 1)}
            report["detections"] = [finding(f"/srv/h{i}/bad{step}")]
            assert agent.progress(item["subtask_id"], **report).json()["duplicate"] is False
            agent.http.base_url = httpx.URL(b.url if (i + step) % 2 else a.url)
            assert agent.progress(item["subtask_id"], **report).json()["duplicate"] is True
        agent.complete(item["subtask_id"], files_scanned=30)
    for server in (a, b):
        row = (
            _hss(server, tenant)
            .list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False))
            .data_list[0]
        )
        assert (row.task_status, row.success_host_num) == ("finish", 4)
        assert sorted((h.scan_file_num, h.virus_num) for h in row.host_info_list) == [(30, 3)] * 4


def test_a_nonce_spent_on_one_replica_is_refused_by_the_other(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = replicas
    tenant = Tenant(a)
    # the Host header is signed, so both replicas sit behind one address: send to each socket with that Host
    path, headers = acs3_request(a.endpoint, "GetVirusScanLatestTaskStatistic", {}, tenant.access_key_id, tenant.secret)
    first = httpx.post(a.url + path, headers=headers)
    assert first.status_code == 200, first.text
    with httpx.Client(base_url=b.url, headers={"host": a.endpoint}) as other:
        again = other.post(path, headers=headers)
    assert again.status_code == 400
    assert again.json()["Code"] == "SignatureNonceUsed"


def test_reports_of_many_tasks_through_two_replicas_never_deadlock(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    """Each replica writes reports in batches, one transaction each, holding the row locks of the batch's tasks.
    Taken in arrival order, two replicas' batches locked the same tasks in opposite orders and PostgreSQL killed
    one of them (`bench/fleet.py`, 10,000 agents on two workers). Locked in the tasks' order, nothing deadlocks:
    PostgreSQL's own deadlock counter for the database stays where it was, and every report lands once."""
    a, b = replicas
    tenant = Tenant(a)
    token = tenant.enroll_token()
    agents = [ProtocolAgent(a.url, token, f"d{i}") for i in range(48)]
    hss = _hss(a, tenant)
    for first in range(0, len(agents), 2):  # 24 tasks of two hosts: a batch of reports spans many tasks
        body = CreateAntiVirusTaskRequestInfo(
            task_name=f"locks {first}",
            scan_type="quick",
            action="manual",
            host_ids=[x.host_id for x in agents[first : first + 2]],
        )
        hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body))
    work = [(agent, agent.work()[0]["subtask_id"]) for agent in agents]
    database = a.database_url.rsplit("/", 1)[1]

    def deadlocks() -> int:
        import psycopg

        with psycopg.connect(a.database_url) as conn:
            found = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (database,)).fetchone()
        assert found is not None
        return int(found[0])

    async def load() -> list[int]:
        headers = [{"Authorization": agent.http.headers["Authorization"]} for agent, _ in work]
        async with httpx.AsyncClient(timeout=60) as client:

            async def one(i: int, step: int) -> int:
                url = (a.url, b.url)[(i + step) % 2]
                body = {"report_id": f"report-{i}-{step}", "files_scanned": step + 1, "progress": min(99, step + 1)}
                reply = await client.post(
                    f"{url}/agent/v1/subtasks/{work[i][1]}/progress", json=body, headers=headers[i]
                )
                return reply.status_code

            statuses: list[int] = []
            for step in range(25):  # every agent at once, 25 times: both replicas batch reports of many tasks
                statuses += await asyncio.gather(*(one(i, step) for i in range(len(work))))
            return statuses

    before = deadlocks()
    statuses = asyncio.run(load())
    assert set(statuses) == {200}
    assert deadlocks() == before
    storage = open_storage(a.database_url, migrate=False)
    try:
        assert {storage.get_subtask(sub).files_scanned for _, sub in work} == {25}  # type: ignore[union-attr]
    finally:
        storage.dispose()
