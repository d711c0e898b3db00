"""Bulk seeding of a realistic fleet: hosts, root tasks and their subtasks, fast enough for a million rows.

Why not ControlPlane.create_task: one transaction per task costs minutes at 100,000 roots. Instead the rows are
generated in Python (root aggregates computed the way TasksSql._refresh_root computes them, so the database is
indistinguishable from one the server built) and written with executemany (SQLite) or COPY (PostgreSQL).
The account, project and access key still go through ControlPlane, and the schema through the Alembic migration.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text

from fleetscan.core.models import Action, Origin, ScanType, StartType
from fleetscan.core.service import ControlPlane
from fleetscan.core.states import TERMINAL, StatusGroup, SubtaskStatus, Tally, summarize
from fleetscan.storage.schema import host_groups, hosts, root_tasks, subtasks
from fleetscan.storage.sql import SqlStorage, open_storage
from fleetscan.storage.tasks_sql import record_root_enterprise_projects

DAY_MS = 86_400_000
SPREAD_DAYS = 120
ENTERPRISE_PROJECTS = ("0", "ep-prod", "ep-stage", "ep-finance", "ep-lab")
ROLES = ("web", "api", "db", "cache", "mq", "batch", "auth", "search")
ENVS = ("prod", "stage", "dev")
GROUPS = ("linux-servers", "windows-servers", "databases", "edge")
BATCH = 25_000  # subtasks per executemany / COPY
BATCHES_PER_TRANSACTION = 8

_S = SubtaskStatus
# Finished roots: how their hosts ended.
_DONE_WEIGHTS = ((_S.SUCCEEDED, 82), (_S.FAILED, 7), (_S.TIMED_OUT, 5), (_S.CANCELLED, 6))
# Roots started in the last day: hosts anywhere in the life cycle.
_RECENT_WEIGHTS = (
    (_S.PENDING, 15),
    (_S.DISPATCHED, 10),
    (_S.RUNNING, 25),
    (_S.SUCCEEDED, 35),
    (_S.FAILED, 6),
    (_S.TIMED_OUT, 4),
    (_S.CANCELLED, 5),
)


@dataclass
class Seeded:
    """What a benchmark needs to know about the seeded database."""

    url: str
    account: str
    project_id: str
    access_key_id: str
    secret: str
    now: int
    roots: int
    subtasks: int
    hosts: int
    seconds: float
    host_names: list[str] = field(default_factory=list)


@dataclass
class _HostRow:
    pk: int
    host_id: str
    name: str
    eps: str


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _weighted(rng: random.Random, weights: Sequence[tuple[SubtaskStatus, int]], k: int) -> list[SubtaskStatus]:
    return rng.choices([s for s, _ in weights], [w for _, w in weights], k=k)


def _host_rows(rng: random.Random, n: int, first_pk: int, account_id: int, project_id: str, now: int) -> Iterator[Any]:
    groups = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in GROUPS]
    for i in range(n):
        role, env = ROLES[i % len(ROLES)], ENVS[(i // len(ROLES)) % len(ENVS)]
        windows = rng.random() < 0.2
        yield {
            "id": first_pk + i,
            "host_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "account_id": account_id,
            "project_id": project_id,
            "enterprise_project_id": ENTERPRISE_PROJECTS[i % len(ENTERPRISE_PROJECTS)],
            "group_id": groups[i % len(groups)] if rng.random() < 0.7 else None,
            "name": f"{role}-{env}-{i:05d}",
            "private_ip": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            "public_ip": f"47.{96 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}" if rng.random() < 0.6 else "",
            "os_type": "Windows" if windows else "Linux",
            "os_name": "Windows Server 2019" if windows else rng.choice(("Ubuntu", "CentOS", "Debian", "AlmaLinux")),
            "os_version": "10.0.17763" if windows else rng.choice(("22.04", "7.9", "12", "9.3")),
            "agent_id": f"{rng.getrandbits(256):064x}",
            "agent_secret_hash": hashlib.sha256(_hex(rng).encode()).hexdigest(),
            "agent_version": "1.0.0",
            "asset_value": rng.choice(("important", "common", "common", "test")),
            "last_seen": now - rng.randrange(0, 600_000),
            "created_at": now - SPREAD_DAYS * DAY_MS - rng.randrange(0, 30 * DAY_MS),
        }


def _subtask(
    rng: random.Random, status: SubtaskStatus, sid: int, root_id: int, host_pk: int, start: int, paid: bool
) -> dict[str, Any]:
    began: int | None = None
    ended: int | None = None
    progress = files = viruses = 0
    reason = ""
    if status is _S.RUNNING:
        began = start + rng.randrange(1_000, 60_000)
        progress = rng.randrange(1, 100)
        files = rng.randrange(100, 200_000)
    elif status in TERMINAL:
        ended = start + rng.randrange(120_000, 3 * 3_600_000)
        began = None if status is _S.CANCELLED and rng.random() < 0.5 else start + rng.randrange(1_000, 60_000)
        files = rng.randrange(1_000, 500_000) if began is not None else 0
        progress = 100 if status is _S.SUCCEEDED else (rng.randrange(0, 100) if began is not None else 0)
        viruses = rng.choice((1, 2, 3)) if status is _S.SUCCEEDED and rng.random() < 0.04 else 0
        reason = {_S.FAILED: "agent offline", _S.TIMED_OUT: "scan timed out"}.get(status, "")
    return {
        "id": sid,
        "subtask_id": _hex(rng),
        "root_id": root_id,
        "host_pk": host_pk,
        "status": status.value,
        "progress": progress,
        "files_scanned": files,
        "bytes_scanned": files * 40_960,
        "files_total": max(files, files * 100 // max(progress, 1)) if files else 0,
        "viruses_found": viruses,
        "start_time": began,
        "end_time": ended,
        "fail_reason": reason,
        "using_quota": paid,
        "cancel_requested": status is _S.CANCELLED,
        "checkpoint": "",
        "updated_at": ended or began or start,
    }


def _aggregate(subs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A root's totals and tally from its subtasks, by the core's one rule (`core.states.summarize` of a
    `Tally`), as storage writes them."""
    tally = Tally.of(
        StatusGroup(SubtaskStatus(sub["status"]), 1, sub["progress"], sub["files_scanned"], sub["viruses_found"],
                    sub["end_time"])
        for sub in subs
    )
    totals = summarize(tally.groups())
    return {
        "open_progress": tally.open_progress,
        "last_end": tally.last_end,
        "status": totals.status.value,
        **{f"n_{s.value}": getattr(totals.counts, s.value) for s in SubtaskStatus},
        "progress": totals.progress,
        "files_scanned": totals.files_scanned,
        "viruses_found": totals.viruses_found,
        "end_time": totals.end_time,
    }


def _tasks(
    rng: random.Random,
    n_roots: int,
    per_root: int,
    host_list: Sequence[_HostRow],
    first_root: int,
    first_sub: int,
    account_id: int,
    project_id: str,
    now: int,
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Roots (oldest first, so ids grow with start time as on a live server) with their subtasks."""
    by_eps: dict[str, list[_HostRow]] = {}
    for h in host_list:
        by_eps.setdefault(h.eps, []).append(h)
    per_root = min(per_root, len(host_list))
    starts = sorted(now - rng.randrange(0, SPREAD_DAYS * DAY_MS) for _ in range(n_roots))
    sid = first_sub
    for i, start in enumerate(starts):
        root_id = first_root + i
        eps = rng.choice(ENTERPRISE_PROJECTS)
        pool = by_eps[eps] if rng.random() < 0.8 and len(by_eps.get(eps, ())) >= per_root else host_list
        chosen = rng.sample(pool, per_root)
        # As plan_task does: the hosts' one enterprise project, else the default one.
        host_eps = {h.eps for h in chosen}
        root_eps = host_eps.pop() if len(host_eps) == 1 else "0"
        origin = Origin.SYSTEM if rng.random() < 0.3 else Origin.USER
        paid = rng.random() < 0.25
        scan_type = ScanType.QUICK if origin is Origin.SYSTEM else rng.choice(list(ScanType))
        start_type = StartType.PERIOD if origin is Origin.SYSTEM else rng.choice((StartType.NOW, StartType.LATER))
        age = now - start
        fate = rng.random()  # whole-task outcomes too, so every root status shows up in the listing
        if age < DAY_MS:
            statuses = [_S.PENDING] * per_root if fate < 0.2 else _weighted(rng, _RECENT_WEIGHTS, per_root)
        elif fate < 0.03:
            statuses = [_S.CANCELLED] * per_root
        elif fate < 0.05:
            statuses = [_S.FAILED] * per_root
        elif fate < 0.06:
            statuses = _weighted(rng, ((_S.FAILED, 1), (_S.TIMED_OUT, 2)), per_root)
        else:
            statuses = _weighted(rng, _DONE_WEIGHTS, per_root)
        pairs = enumerate(zip(statuses, chosen, strict=True))
        subs = [_subtask(rng, st, sid + j, root_id, h.pk, start, paid) for j, (st, h) in pairs]
        sid += per_root
        name = "VIRUS_VUL_SCHEDULE_SCAN" if origin is Origin.SYSTEM else f"{scan_type.value}-scan-{i:06d}"
        root = {
            "id": root_id,
            "task_id": _hex(rng),
            "account_id": account_id,
            "project_id": project_id,
            "enterprise_project_id": root_eps,
            "name": name,
            "scan_type": scan_type.value,
            "origin": origin.value,
            "start_type": start_type.value,
            "action": rng.choice(list(Action)).value,
            "scan_paths": ["/var/www", "/tmp"] if scan_type is ScanType.CUSTOM else [],
            "ignore_paths": ["/proc"] if scan_type is ScanType.CUSTOM else [],
            "file_types": [0, 1] if scan_type is ScanType.CUSTOM else [],
            "targets": [{"type": "uuid", "target": h.host_id, "name": h.name} for h in chosen],
            "paid": paid,
            "rescan": False,
            "rescan_of": None,
            "client_token": None,
            "created_at": start - (rng.randrange(60_000, DAY_MS) if start_type is StartType.LATER else 0),
            "start_time": start,
            **_aggregate(subs),
        }
        yield root, subs


def _next_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


class _Writer:
    """Bulk inserts: SQLAlchemy executemany on SQLite, COPY on PostgreSQL (executemany there is ~10x slower)."""

    def __init__(self, storage: SqlStorage) -> None:
        self.storage = storage
        self.pending: dict[str, list[dict[str, Any]]] = {}

    def write(self, conn: Connection, table: Table, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        if self.storage.is_sqlite:
            conn.execute(insert(table), batch)
            return
        cols = list(batch[0])
        json_cols = {c.name for c in table.c if c.type.__class__.__name__ == "JSON"}
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row([json.dumps(row[c]) if c in json_cols else row[c] for c in cols])

    def fix_sequences(self, conn: Connection) -> None:
        if self.storage.is_sqlite:
            return
        for table in (host_groups, hosts, root_tasks, subtasks):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                )
            )


def seed(
    url: str,
    *,
    roots: int,
    subtasks_per_root: int,
    n_hosts: int,
    rng_seed: int = 20240601,
    log: Any = None,
) -> Seeded:
    """Migrate `url` (an empty database), then fill it. Returns the credentials to query it with."""
    began = time.monotonic()
    rng = random.Random(rng_seed)
    storage = open_storage(url)
    try:
        plane = ControlPlane(storage)
        account, project_id = f"bench-{rng.getrandbits(32):08x}", _hex(rng)
        key = plane.create_access_key(account, project_id)
        account_id, now = key.scope.account_id, plane.clock()
        writer = _Writer(storage)
        n_subtasks = n_roots = 0
        with storage.engine.begin() as conn:
            first = _next_id(conn, hosts)
            host_batch = list(_host_rows(rng, n_hosts, first, account_id, project_id, now))
            for at in range(0, len(host_batch), BATCH):
                writer.write(conn, hosts, host_batch[at : at + BATCH])
            host_list = [_HostRow(h["id"], h["host_id"], h["name"], h["enterprise_project_id"]) for h in host_batch]
            first_root, first_sub = _next_id(conn, root_tasks), _next_id(conn, subtasks)
        del host_batch
        gen = _tasks(rng, roots, subtasks_per_root, host_list, first_root, first_sub, account_id, project_id, now)
        per_batch = max(1, BATCH // max(1, subtasks_per_root))
        exhausted = False
        while not exhausted:  # a few transactions of several batches each, not one huge one
            with storage.engine.begin() as conn:
                for _ in range(BATCHES_PER_TRANSACTION):
                    part = list(islice(gen, per_batch))
                    if not part:
                        exhausted = True
                        break
                    writer.write(conn, root_tasks, [r for r, _ in part])
                    sub_rows = [s for _, subs in part for s in subs]
                    writer.write(conn, subtasks, sub_rows)
                    n_subtasks += len(sub_rows)
                    n_roots += len(part)
                if exhausted:
                    writer.fix_sequences(conn)
            if log is not None:
                log(f"seeded {n_roots}/{roots} roots, {n_subtasks} subtasks ({time.monotonic() - began:.0f}s)")
        # A live database has statistics (autovacuum, or SQLite's optimize); the planner needs them.
        with storage.engine.begin() as conn:
            record_root_enterprise_projects(conn, hosts.c.account_id == account_id)  # as insert_task does
            conn.exec_driver_sql("ANALYZE")
        if not storage.is_sqlite:
            # And autovacuum has been through the loaded tables (visibility map set), as in a live database; else
            # it does so during the timed requests, on whichever side happens to be running.
            with storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM")
        names = sorted({h.name for h in rng.sample(host_list, min(5, len(host_list)))})
        return Seeded(
            url=url,
            account=account,
            project_id=project_id,
            access_key_id=key.access_key_id,
            secret=key.secret,
            now=now,
            roots=roots,
            subtasks=n_subtasks,
            hosts=n_hosts,
            seconds=time.monotonic() - began,
            host_names=names,
        )
    finally:
        storage.dispose()
