"""A root's totals are moved by each report (core.states.Tally) instead of recounted: after any sequence of
reports, cancels and expiries they equal a full recount of its subtasks, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import select, update

from fleetscan.core import tasks
from fleetscan.core.errors import DomainError
from fleetscan.core.models import Detection, ScanType, Scope, Severity
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.states import StatusGroup, SubtaskStatus, Tally, summarize
from fleetscan.core.tasks import Counters, TaskRequest
from fleetscan.storage import SqlStorage, open_storage
from fleetscan.storage.schema import root_tasks


@pytest.fixture
def storage(database_url: str) -> Iterator[SqlStorage]:
    store = open_storage(database_url)
    yield store
    store.dispose()


def stored(storage: SqlStorage, root_id: int) -> tuple[object, ...]:
    with storage.engine.connect() as conn:
        row = conn.execute(select(root_tasks).where(root_tasks.c.id == root_id)).one()._mapping
    counts = tuple(row[f"n_{s.value}"] for s in SubtaskStatus)
    return (row["status"], counts, row["progress"], row["files_scanned"], row["viruses_found"], row["end_time"])


def recounted(storage: SqlStorage, root_id: int) -> tuple[object, ...]:
    with storage.engine.connect() as conn:
        totals = storage._totals(conn, [root_id])[root_id]
    counts = tuple(getattr(totals.counts, s.value) for s in SubtaskStatus)
    return (totals.status.value, counts, totals.progress, totals.files_scanned, totals.viruses_found, totals.end_time)


def detection(n: int) -> Detection:
    path = f"/srv/tally/{n}-{uuid.uuid4().hex}"
    return Detection(
        result_id="",
        root_id=0,
        subtask_id=0,
        host_pk=0,
        malware_name="Eicar",
        malware_type="virus",
        severity=Severity.HIGH,
        file_path=path,
        file_hash="ab" * 32,
        file_size=68,
        occur_time=0,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_moved_totals_equal_a_recount_after_random_reports(storage: SqlStorage, seed: int) -> None:
    rng = random.Random(seed)
    now = [1_700_000_000_000]
    plane = ControlPlane(storage, lambda: now[0])
    token, _ = plane.create_credential("enroll", "tally", "p1")
    hosts = [plane.enroll(token, HostFacts(f"h{i}")).host for i in range(8)]
    scope = Scope(storage.ensure_account("tally"), "p1")
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, [h.host_id for h in hosts])).root
    assert stored(storage, root.id) == recounted(storage, root.id)
    subs = {h.id: plane.work(h)[0][0] for h in hosts[:6]}  # two hosts never take theirs: still pending
    files = dict.fromkeys(subs, 0)
    for step in range(60):
        now[0] += rng.randint(1, 5000)
        host = rng.choice(hosts[:6])
        sub = subs[host.id]
        files[host.id] += rng.randint(0, 50)
        counters = Counters(files_scanned=files[host.id], progress=rng.randint(0, 99))
        found = [detection(step)] if rng.random() < 0.3 else []
        kind = rng.random()
        try:
            if kind < 0.6:
                plane.report(host, sub.id, uuid.uuid4().hex, counters, found)
            elif kind < 0.8:
                plane.report(
                    host,
                    sub.id,
                    uuid.uuid4().hex,
                    counters,
                    found,
                    finished=True,
                    succeeded=rng.random() < 0.7,
                    reason="bench",
                )
            elif kind < 0.9:
                storage.change_subtask(sub.id, partial(tasks.cancel, now=now[0]))
            else:
                storage.change_subtask(sub.id, partial(tasks.expire, timed_out=True, reason="t", now=now[0]))
        except DomainError:
            pass  # refused: changes nothing, totals included
        assert stored(storage, root.id) == recounted(storage, root.id), step


def test_a_root_without_a_tally_is_recounted_on_its_next_change(storage: SqlStorage) -> None:
    """Roots from before the tally columns (or written by another tool) get them on their first change."""
    plane = ControlPlane(storage)
    token, _ = plane.create_credential("enroll", "tally", "p2")
    hosts = [plane.enroll(token, HostFacts(f"h{i}")).host for i in range(3)]
    scope = Scope(storage.ensure_account("tally"), "p2")
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, [h.host_id for h in hosts])).root
    sub = plane.work(hosts[0])[0][0]
    plane.report(hosts[0], sub.id, "r1", Counters(files_scanned=10, progress=40), [])
    with storage.engine.begin() as conn:
        conn.execute(update(root_tasks).where(root_tasks.c.id == root.id).values(open_progress=None, last_end=None))
    plane.report(hosts[0], sub.id, "r2", Counters(files_scanned=20, progress=60), [], finished=True)
    assert stored(storage, root.id) == recounted(storage, root.id)
    with storage.engine.connect() as conn:
        assert conn.execute(select(root_tasks.c.open_progress).where(root_tasks.c.id == root.id)).scalar() == 0


def test_a_tally_is_the_sum_of_its_groups() -> None:
    """Pure: moving one subtask's group out and another in equals counting the groups afresh."""
    a = StatusGroup(SubtaskStatus.RUNNING, 1, 40, 10, 1)
    b = StatusGroup(SubtaskStatus.SUCCEEDED, 1, 100, 30, 2, 1_700)
    c = StatusGroup(SubtaskStatus.CANCELLED, 1, 20, 5, 0, 1_600)
    moved = Tally.of([a, c]).moved(a, b)
    assert summarize(moved.groups()) == summarize([b, c])
