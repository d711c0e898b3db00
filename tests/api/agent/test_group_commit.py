"""Reports written by group commit (api/agent/group_commit.py), against a real server process on SQLite and
PostgreSQL: many agents reporting at once each land exactly once, with the totals they add up to, and a report
that fails inside a shared transaction fails alone, leaving nothing of itself behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from huaweicloudsdkhss.v5 import CreateAntiVirusTaskRequest, CreateAntiVirusTaskRequestInfo
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from fleetscan.api.agent.group_commit import GroupCommit
from fleetscan.core.errors import IllegalTransition
from fleetscan.storage.schema import agent_reports, hosts, root_tasks, subtasks
from fleetscan.storage.sql import SqlStorage, open_storage
from tests.api.huawei.hss_support import tenant_client
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.server import ServerProcess, Tenant

AGENTS = 24
REPORTS = 4  # progress reports per agent, each sent twice, then a completion


@pytest.fixture
def storage(server: ServerProcess) -> Iterator[SqlStorage]:
    opened = open_storage(server.database_url, migrate=False)
    yield opened
    opened.dispose()


def start_scan(tenant: Tenant, agents: list[ProtocolAgent]) -> str:
    body = CreateAntiVirusTaskRequestInfo(
        task_name="group commit", scan_type="quick", action="manual", host_ids=[a.host_id for a in agents]
    )
    task_id: str = tenant_client(tenant).create_anti_virus_task(CreateAntiVirusTaskRequest(body=body)).task_id
    return task_id


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Every call on its own thread at the same moment: the server sees them as one burst."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def grouped(server: ServerProcess) -> tuple[float, float]:
    """The server's report transactions and the reports written in them, read off /metrics."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{server.url}/metrics").text):
        for sample in family.samples:
            found[sample.name] = sample.value
    return found["fleetscan_report_transactions_total"], found["fleetscan_reports_grouped_total"]


def test_concurrent_reports_land_exactly_once_with_their_totals(server: ServerProcess, storage: SqlStorage) -> None:
    tenant = Tenant(server)
    token = tenant.enroll_token()
    agents = [ProtocolAgent(server.url, token, f"gc-{i}") for i in range(AGENTS)]
    start_scan(tenant, agents)
    sub = {a.agent_id: a.work()[0]["subtask_id"] for a in agents}
    before = grouped(server)

    for step in range(1, REPORTS + 1):
        calls: list[Callable[[], httpx.Response]] = []
        for i, a in enumerate(agents):
            body: dict[str, Any] = {"files_scanned": 100 * step, "progress": 20 * step}
            body["detections"] = [finding(f"/srv/gc-{i}/bad-{step}")]
            for _ in range(2):  # the same report twice, as an agent retrying after a lost answer
                calls.append(
                    lambda a=a, body=body, key=f"{a.agent_id}-{step}": a.progress(sub[a.agent_id], key, **body)
                )
        answers = at_once(calls)
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200]
        for first, second in zip(answers[::2], answers[1::2], strict=True):
            assert sorted([first.json()["duplicate"], second.json()["duplicate"]]) == [False, True]
    done = at_once([lambda a=a: a.complete(sub[a.agent_id], files_scanned=1000) for a in agents])
    assert all(r.status_code == 200 and r.json()["status"] == "succeeded" for r in done)

    with storage.engine.connect() as conn:
        counts = select(subtasks.c.files_scanned, subtasks.c.viruses_found, subtasks.c.status)
        rows = conn.execute(counts.where(subtasks.c.subtask_id.in_(list(sub.values())))).all()
        assert sorted(tuple(r) for r in rows) == [(1000, REPORTS, "succeeded")] * AGENTS
        keys = conn.execute(
            select(func.count())
            .select_from(agent_reports)
            .where(agent_reports.c.report_key.in_([f"{a.agent_id}-{s}" for a in agents for s in range(1, REPORTS + 1)]))
        ).scalar_one()
        assert keys == AGENTS * REPORTS
        totals = (root_tasks.c.status, root_tasks.c.n_succeeded, root_tasks.c.files_scanned, root_tasks.c.viruses_found)
        root = conn.execute(
            select(*totals)
            .select_from(root_tasks.join(subtasks, subtasks.c.root_id == root_tasks.c.id))
            .where(subtasks.c.subtask_id == next(iter(sub.values())))
        ).one()
        assert tuple(root) == ("succeeded", AGENTS, 1000 * AGENTS, REPORTS * AGENTS)
    transactions, reports = (b - a for a, b in zip(before, grouped(server), strict=True))
    assert reports == AGENTS * (2 * REPORTS + 1)
    assert transactions < reports  # at least one transaction held several reports


def test_a_report_failing_inside_a_batch_fails_alone(server: ServerProcess, storage: SqlStorage) -> None:
    tenant = Tenant(server)
    token = tenant.enroll_token()
    good = [ProtocolAgent(server.url, token, f"ok-{i}") for i in range(AGENTS)]
    late = ProtocolAgent(server.url, token, "late")
    start_scan(tenant, [*good, late])
    sub = {a.agent_id: a.work()[0]["subtask_id"] for a in good}
    # `late` never took its subtask: completing it from pending is an illegal transition, found only after the
    # report's first writes (its host's last-seen, its idempotency key) are made in the shared transaction.
    with storage.engine.connect() as conn:
        late_sub = conn.execute(
            select(subtasks.c.subtask_id)
            .select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
            .where(hosts.c.host_id == late.host_id)
        ).scalar_one()
    calls: list[Callable[[], httpx.Response]] = [
        lambda a=a: a.progress(sub[a.agent_id], f"{a.agent_id}-1", files_scanned=50, progress=10) for a in good
    ]
    calls.insert(AGENTS // 2, lambda: late.complete(late_sub, report_id="late-report-0001", files_scanned=5))
    answers = at_once(calls)
    refused = answers.pop(AGENTS // 2)
    assert refused.status_code == 409 and refused.json()["error"] == "illegal_transition", refused.text
    assert all(r.status_code == 200 and r.json()["duplicate"] is False for r in answers)

    with storage.engine.connect() as conn:
        late_keys = (
            select(func.count()).select_from(agent_reports).where(agent_reports.c.report_key == "late-report-0001")
        )
        assert conn.execute(late_keys).scalar_one() == 0
        files = select(subtasks.c.files_scanned).where(subtasks.c.subtask_id.in_(list(sub.values())))
        assert conn.execute(files).scalars().all() == [50] * AGENTS
    # Its key was undone with it: once the agent has taken its subtask, the same report is new, and lands.
    assert late.work()[0]["subtask_id"] == late_sub
    again = late.complete(late_sub, report_id="late-report-0001", files_scanned=5)
    assert again.status_code == 200
    assert (again.json()["duplicate"], again.json()["status"]) == (False, "succeeded")


def test_a_batch_meeting_a_deadlock_is_tried_again_alone() -> None:
    """The retry rule alone (a deadlock cannot be ordered up on demand): a batch the database fails is tried
    again one report at a time, a report again while it meets transient errors; the others land, and a report's
    own error is answered to it alone."""
    batches: list[list[str]] = []

    def write(batch: Sequence[str]) -> list[str | Exception]:
        batches.append(list(batch))
        if "flaky" in batch and sum("flaky" in b for b in batches) < 3:  # in the batch, then once alone
            raise OperationalError("SELECT 1", {}, Exception("deadlock detected"))
        return [IllegalTransition("pending", "succeeded") if item == "refused" else item.upper() for item in batch]

    group: GroupCommit[str, str] = GroupCommit(write)

    async def burst() -> list[object]:
        return list(
            await asyncio.gather(*(group.run(x) for x in ("first", "flaky", "refused", "last")), return_exceptions=True)
        )

    first, landed, error, last = asyncio.run(burst())
    assert (first, landed, last) == ("FIRST", "FLAKY", "LAST")
    assert isinstance(error, IllegalTransition)
    assert batches[0] == ["first", "flaky", "refused", "last"] and sum("flaky" in b for b in batches) == 3


def test_a_report_the_database_failed_within_a_batch_is_tried_again_alone() -> None:
    """`write` may commit a batch in parts (storage: the bulk, then the reports with detections) and answer the
    part the database failed with its transient error: those reports alone are tried again."""
    batches: list[list[str]] = []

    def write(batch: Sequence[str]) -> list[str | Exception]:
        batches.append(list(batch))
        failed = OperationalError("SELECT 1", {}, Exception("deadlock detected"))
        return [failed if item == "parted" and len(batches) == 1 else item.upper() for item in batch]

    group: GroupCommit[str, str] = GroupCommit(write)

    async def burst() -> list[str]:
        return list(await asyncio.gather(*(group.run(x) for x in ("first", "parted", "last"))))

    assert asyncio.run(burst()) == ["FIRST", "PARTED", "LAST"]
    assert batches == [["first", "parted", "last"], ["parted"]]
