"""What the agent edge does to cost little per agent, against real server processes on SQLite and PostgreSQL:
the long-poll `GET /work?wait=` (answered when work arrives, also through another replica of the database),
heartbeats written in batches (hosts still shown online and offline as they should, scans of beating agents not
failed), and agent credentials reused for a few seconds (a credential changed in the database stops working
within that time; a wrong secret never works)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    ListAntiVirusHostRequest,
)
from sqlalchemy import update

from fleetscan.storage.schema import hosts
from fleetscan.storage.sql import open_storage
from tests.api.huawei.hss_support import tenant_client
from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant

WAIT = 20.0  # a long-poll's wait in these tests: an answer well before it is an early answer


def wait_until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.2)


def start_scan(tenant: Tenant, *agents: ProtocolAgent) -> None:
    body = CreateAntiVirusTaskRequestInfo(
        task_name="long-poll", scan_type="quick", action="manual", host_ids=[a.host_id for a in agents]
    )
    tenant_client(tenant).create_anti_virus_task(CreateAntiVirusTaskRequest(body=body))


class Held:
    """A GET /work?wait= held on a thread: its answer and how long it took."""

    def __init__(self, agent: ProtocolAgent, url: str, query: str) -> None:
        self.reply: httpx.Response | None = None
        self.seconds = 0.0
        headers = {"Authorization": agent.http.headers["Authorization"]}

        def run() -> None:
            t0 = time.monotonic()
            self.reply = httpx.get(f"{url}/agent/v1/work?{query}", headers=headers, timeout=WAIT + 30)
            self.seconds = time.monotonic() - t0

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def answer(self) -> dict[str, Any]:
        self.thread.join(WAIT + 30)
        assert self.reply is not None and self.reply.status_code == 200, self.reply
        body: dict[str, Any] = self.reply.json()
        return body


@pytest.fixture
def two(database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two replicas of one database (an SQLite file shared by two processes, or one PostgreSQL database)."""
    first = ServerProcess(database_url).start()
    second = ServerProcess(database_url).start()
    yield first, second
    first.stop()
    second.stop()


def test_an_idle_agent_s_long_poll_is_answered_when_a_scan_starts_on_another_replica(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two
    tenant = Tenant(a)
    agent = ProtocolAgent(a.url, tenant.enroll_token(), "idle-01")
    held = Held(agent, a.url, f"wait={WAIT:g}")
    time.sleep(1.5)  # parked on replica a
    start_scan(_on(tenant, b), agent)  # the task is made through replica b
    body = held.answer()
    assert [w["status"] for w in body["subtasks"]] == ["dispatched"]
    assert body["long_poll"] is True and body["digest"]
    assert held.seconds < WAIT - 5, held.seconds  # answered early, not at the end of its wait


def _on(tenant: Tenant, server: ServerProcess) -> Tenant:
    """The same tenant, talking to another replica (a shallow copy pointing at it)."""
    other = copy.copy(tenant)
    other.server = server
    return other


def test_a_long_poll_waits_while_nothing_is_new_and_answers_a_change_at_once(
    server: ServerProcess, tenant: Tenant
) -> None:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "idle-02")
    quiet = Held(agent, server.url, "wait=2").answer()
    assert quiet["subtasks"] == [] and quiet["long_poll"] is True
    start_scan(tenant, agent)
    taken = Held(agent, server.url, f"wait={WAIT:g}&seen={quiet['digest']}")
    first = taken.answer()  # what it holds differs from the digest it sent: at once
    assert [w["status"] for w in first["subtasks"]] == ["dispatched"] and taken.seconds < WAIT - 5
    again = Held(agent, server.url, f"wait=2&seen={first['digest']}")
    assert again.answer()["digest"] == first["digest"] and again.seconds >= 1.5  # nothing new: held to the end
    assert [w["status"] for w in agent.work()] == ["dispatched"]  # no wait: the old poll, answered at once


@pytest.mark.parametrize("query", ["wait=soon", "wait=-1", "wait=3600", "wait=1&seen=" + "x" * 65])
def test_a_bad_wait_is_refused(server: ServerProcess, tenant: Tenant, query: str) -> None:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "bad-wait")
    reply = agent.http.get(f"/agent/v1/work?{query}")
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_parameter"


def test_coalesced_heartbeats_keep_beating_agents_online_and_their_scans_alive(database_url: str) -> None:
    """Offline after 3 s of silence, beats written every 2 s: an agent beating every second must never look
    silent (its scan is not failed), and one that stops beating is offline soon after."""
    server = ServerProcess(database_url, "--offline-after", "3", "--sweep-interval", "0.5").start()
    try:
        tenant = Tenant(server)
        hss = tenant_client(tenant)
        beating = ProtocolAgent(server.url, tenant.enroll_token(), "beating")
        silent = ProtocolAgent(server.url, tenant.enroll_token(), "silent")
        start_scan(tenant, beating)
        item = beating.work()[0]

        def statuses() -> dict[str, str]:
            found = hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=10)).data_list
            return {h.host_name: str(h.agent_status) for h in found}

        for _ in range(8):  # 8 s: past the offline limit several times over
            assert beating.heartbeat().status_code == 200
            time.sleep(1)
        assert statuses() == {"beating": "online", "silent": "offline"}
        reply = beating.progress(item["subtask_id"], files_scanned=5, progress=10)
        assert reply.json()["status"] == "running"  # not failed as "agent offline" by the sweeper
        wait_until(lambda: statuses()["beating"] == "offline", 15, "a silent agent offline")
        assert silent.heartbeat().status_code == 200
        wait_until(lambda: statuses()["silent"] == "online", 10, "a beat written within the flush delay")
    finally:
        server.stop()


def test_a_goodbye_is_written_at_once_and_a_beat_after_it_too(server: ServerProcess, tenant: Tenant) -> None:
    hss = tenant_client(tenant)
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "bye-02")

    def status() -> str:
        return str(hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=10)).data_list[0].agent_status)

    for _ in range(3):
        assert agent.http.post("/agent/v1/heartbeat", json={"stopping": True}).status_code == 200
        assert status() == "offline"  # no batch delay for a goodbye
        assert agent.heartbeat().status_code == 200
        assert status() == "online"  # nor for the first beat after one


def test_a_cached_credential_stops_working_soon_after_it_changes_and_a_wrong_one_never_works(
    server: ServerProcess, tenant: Tenant
) -> None:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "revoked")
    assert agent.heartbeat().status_code == 200  # verified, and now cached
    wrong = {"Authorization": agent.http.headers["Authorization"] + "x"}
    assert httpx.post(f"{server.url}/agent/v1/heartbeat", headers=wrong).status_code == 401
    storage = open_storage(server.database_url, migrate=False)
    try:
        with storage.engine.begin() as conn:  # what revoking an agent would do: its secret no longer matches
            conn.execute(update(hosts).where(hosts.c.agent_id == agent.agent_id).values(agent_secret_hash="0" * 64))
    finally:
        storage.dispose()
    wait_until(lambda: agent.heartbeat().status_code == 401, 15, "the changed credential refused")
    assert agent.http.get("/agent/v1/work").status_code == 401


def test_a_held_long_poll_is_answered_when_the_server_stops(database_url: str) -> None:
    """A stopping server answers its held requests at once instead of waiting out their `wait` (uvicorn waits for
    requests in flight before it exits)."""
    server = ServerProcess(database_url).start()
    try:
        agent = ProtocolAgent(server.url, Tenant(server).enroll_token(), "held-at-stop")
        held = Held(agent, server.url, f"wait={WAIT:g}")
        time.sleep(1.5)
        assert server.proc is not None
        server.proc.terminate()
        body = held.answer()  # a 200 with the (empty) work, not a connection cut by a kill
        assert body["subtasks"] == [] and held.seconds < WAIT - 5
        server.proc.wait(timeout=WAIT - 5)  # stopped (as uvicorn does, by the signal again), not still waiting
    finally:
        server.stop()
