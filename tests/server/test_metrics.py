"""`/metrics` scraped from a real server (one worker, then two) and read with Prometheus' own text parser."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.agent_protocol import ProtocolAgent
from tests.support.metrics import Samples, scrape, value
from tests.support.server import ServerProcess, Tenant
from tests.support.signing import acs3_request


def requests(samples: Samples, edge: str, operation: str, status: int) -> float:
    return value(samples, "fleetscan_requests_total", edge=edge, operation=operation, status=str(status))


def counted_by(server: ServerProcess) -> set[str]:
    """The worker processes that wrote request counters into the server's private metrics folder."""
    environ = Path(f"/proc/{server.worker_pids()[0]}/environ").read_bytes().split(b"\0")
    folder = next(v.split(b"=", 1)[1] for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")).decode()
    return {name.split("_")[1].removesuffix(".db") for name in os.listdir(folder) if name.startswith("counter_")}


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def served(request: pytest.FixtureRequest, database_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, workers=request.param).start()
    yield server
    server.stop()


def test_metrics_count_the_requests_made_and_the_fleet_created(served: ServerProcess) -> None:
    tenant = Tenant(served)
    before = scrape(served)
    hss = f"{served.url}/v5/{tenant.project_id}"
    token = {"X-Auth-Token": tenant.auth_token()}

    agents = [ProtocolAgent(served.url, tenant.enroll_token(), f"host-{i}") for i in range(3)]
    for agent in agents:
        agent.http.headers["Connection"] = "close"  # a connection per request: every worker gets some
        assert agent.heartbeat().status_code == 200
    assert agents[2].http.post("/agent/v1/heartbeat", json={"stopping": True}).status_code == 200
    assert agents[0].http.get("/agent/v1/nowhere").status_code == 404
    created = httpx.post(
        f"{hss}/antivirus/task",
        headers=token,
        json={
            "task_name": "metrics",
            "scan_type": "quick",
            "action": "manual",
            "host_ids": [a.host_id for a in agents],
        },
    )
    assert created.status_code == 200, created.text
    listed = httpx.get(
        f"{hss}/antivirus/task", headers=token, params={"offset": 0, "limit": 10, "whether_paid_task": "false"}
    )
    assert listed.status_code == 200, listed.text
    assert (
        httpx.get(f"{hss}/antivirus/task", params={"offset": 0, "limit": 10, "whether_paid_task": "false"}).status_code
        == 401
    )
    [running], [_dispatched] = agents[0].work(), agents[1].work()  # the third host's stays pending
    assert agents[0].progress(running["subtask_id"], files_scanned=1, progress=10).status_code == 200
    for action in ("ListVirusScanTask", "NoSuchAction"):
        path, headers = acs3_request(served.endpoint, action, {}, tenant.access_key_id, tenant.secret)
        httpx.post(f"{served.url}{path}", headers=headers, timeout=30)
    assert httpx.get(f"{served.url}/console/").status_code == 200

    after = scrape(served)

    def moved(edge: str, operation: str, status: int) -> float:
        return requests(after, edge, operation, status) - requests(before, edge, operation, status)

    assert moved("agent", "enroll", 201) == 3
    assert moved("agent", "heartbeat", 200) == 4
    assert moved("agent", "unknown", 404) == 1
    assert moved("agent", "work", 200) == 2
    assert moved("agent", "progress", 200) == 1
    assert moved("hss", "CreateAntiVirusTask", 200) == 1
    assert moved("hss", "ListAntiVirusTask", 200) == 1
    assert moved("hss", "ListAntiVirusTask", 401) == 1
    assert moved("alibaba", "ListVirusScanTask", 200) == 1
    assert moved("alibaba", "unknown", 404) == 1
    assert moved("console", "static", 200) == 1
    heartbeats = ("fleetscan_request_duration_seconds_count", {"edge": "agent", "operation": "heartbeat"})
    assert value(after, heartbeats[0], **heartbeats[1]) - value(before, heartbeats[0], **heartbeats[1]) == 4

    # The fleet, from the database: this test's server has its own.
    assert value(after, "fleetscan_database_up") == 1
    assert value(after, "fleetscan_agents_enrolled") == 3
    assert value(after, "fleetscan_agents_online") == 2  # the third said goodbye
    states = {s: value(after, "fleetscan_subtasks", state=s) for s in ("pending", "dispatched", "running")}
    assert states == {"pending": 1, "dispatched": 1, "running": 1}
    assert value(after, "fleetscan_subtasks", state="succeeded") == 0
    assert value(after, "fleetscan_report_delayed_subtasks", over="60") == 0
    assert 0 <= value(after, "fleetscan_report_delay_seconds_max") < 60
    assert value(after, "fleetscan_database_pool_size") > 0

    if served.workers == 2:
        # Both workers counted requests into the server's private folder, and one scrape summed them.
        assert set(map(str, served.worker_pids())) <= counted_by(served)
        assert len(counted_by(served)) == 2


def test_metrics_are_for_loopback_or_the_token_bearer(database_url: str) -> None:
    server = ServerProcess(database_url, env={"FLEETSCAN_METRICS_TOKEN": "s3cret"}).start()
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 401  # a token is set: loopback is not enough
        assert httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert value(scrape(server, Authorization="Bearer s3cret"), "fleetscan_database_up") == 1
    finally:
        server.stop()


def test_a_dead_worker_is_replaced_and_marked_dead(database_url: str) -> None:
    """Its pool leaves the live gauges (summed over live workers only); what it counted stays in the totals."""
    server = ServerProcess(database_url, workers=2).start()
    try:
        for _ in range(20):
            httpx.get(f"{server.url}/agent/v1/nowhere", headers={"Connection": "close"})
        before = scrape(server)
        pool = value(before, "fleetscan_database_pool_size")
        old = server.worker_pids()
        os.kill(old[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pids = server.worker_pids()
            if len(pids) == 2 and old[0] not in pids and value(scrape(server), "fleetscan_database_pool_size") == pool:
                break
            time.sleep(0.2)
        after = scrape(server)
        assert old[0] not in server.worker_pids()
        assert value(after, "fleetscan_database_pool_size") == pool
        assert requests(after, "agent", "unknown", 404) >= requests(before, "agent", "unknown", 404) == 20
    finally:
        server.stop()
