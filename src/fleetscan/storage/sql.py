"""SqlStorage: the Storage interface over SQLAlchemy Core, for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from time import time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ..core.alerts import AlertStatus
from ..core.errors import UnknownSubtask
from ..core.models import (
    AccessKey,
    Credential,
    Detection,
    DetectionView,
    Host,
    RootTask,
    Scope,
    Subtask,
    SubtaskView,
)
from ..core.ports import SubtaskChange
from ..core.queries import DetectionFilter, HostFilter, HostMatch, Page, RootFilter, Statistics, SubtaskFilter
from ..core.schedules import Schedule, ScheduleFilter
from ..core.states import ACTIVE, RootStatus, RootTotals, StatusGroup, SubtaskStatus, summarize
from ..core.tasks import ReportOutcome
from . import rows
from .alerts_sql import AlertsSql, identity
from .conditions import contains, host_conditions, root_visible, scoped
from .handling_sql import HandlingSql
from .metrics import instrument
from .monitor_sql import MonitorSql
from .schema import (
    access_keys,
    accounts,
    agent_reports,
    alerts,
    credentials,
    host_groups,
    hosts,
    nonces,
    root_enterprise_projects,
    root_tasks,
    schedules,
    subtasks,
)
from .schema import detections as detections_table
from .signatures_sql import SignaturesSql


def database_url(data_dir: str | Path | None, url: str | None) -> str:
    """The URL a command uses: an explicit URL wins, else an SQLite file in the data folder."""
    if url:
        return url
    folder = Path(data_dir or "./data").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'fleetscan.db'}"


def _make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN be ours, so that writers can take the lock up front (BEGIN IMMEDIATE)
        # instead of failing with "database is locked" when a read lock cannot be upgraded.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def record_root_enterprise_projects(conn: Connection, *which: ColumnElement[bool]) -> None:
    """Record the enterprise projects of the hosts of the root tasks whose subtasks match `which`."""
    of_hosts = (
        select(subtasks.c.root_id, hosts.c.enterprise_project_id)
        .select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
        .where(*which)
        .distinct()
    )
    conn.execute(insert(root_enterprise_projects).from_select(["root_id", "enterprise_project_id"], of_hosts))


def open_storage(url: str, *, migrate: bool = True) -> SqlStorage:
    storage = SqlStorage(_make_engine(url))
    instrument(storage.engine)
    if migrate:
        from .migrate import upgrade

        upgrade(storage.engine)
    return storage


def _totals_values(totals: RootTotals) -> dict[str, Any]:
    return {
        "status": totals.status.value,
        **rows.counts_values(totals.counts),
        "progress": totals.progress,
        "files_scanned": totals.files_scanned,
        "viruses_found": totals.viruses_found,
        "end_time": totals.end_time,
    }


def _apply(totals: RootTotals, root: RootTask) -> None:
    root.counts, root.status, root.progress = totals.counts, totals.status, totals.progress
    root.files_scanned, root.viruses_found, root.end_time = totals.files_scanned, totals.viruses_found, totals.end_time


class SqlStorage(HandlingSql, SignaturesSql, AlertsSql, MonitorSql):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    def _insert_ignore(self, table: Any) -> Any:
        dialect = sqlite if self.is_sqlite else postgresql
        return dialect.insert(table).on_conflict_do_nothing()

    @staticmethod
    def _inserted(conn: Connection, stmt: Any) -> bool:
        """Whether an insert-or-ignore wrote its row (rowcount is not reliable for this on every driver)."""
        return conn.execute(stmt).first() is not None

    def _lock(self, stmt: Select[Any]) -> Select[Any]:
        return stmt if self.is_sqlite else stmt.with_for_update()

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ accounts and credentials
    def ensure_account(self, name: str) -> int:
        with self._write() as conn:
            found = conn.execute(select(accounts.c.id).where(accounts.c.name == name)).scalar()
            if found is not None:
                return int(found)
            conn.execute(self._insert_ignore(accounts).values(name=name, created_at=int(time() * 1000)))
            return int(conn.execute(select(accounts.c.id).where(accounts.c.name == name)).scalar_one())

    def find_project(self, account: str, project_id: str) -> int | None:
        """The account's id when it holds the project: an access key, a token or a host in it."""
        with self.engine.connect() as conn:
            account_id = conn.execute(select(accounts.c.id).where(accounts.c.name == account)).scalar()
            if account_id is None:
                return None
            for table in (access_keys, credentials, hosts):
                found = conn.execute(
                    select(table.c.account_id)
                    .where(table.c.account_id == account_id, table.c.project_id == project_id)
                    .limit(1)
                ).first()
                if found is not None:
                    return int(account_id)
            return None

    @staticmethod
    def _eps(scope: Scope) -> list[str] | None:
        return None if scope.enterprise_project_ids is None else sorted(scope.enterprise_project_ids)

    def add_access_key(self, key: AccessKey) -> None:
        with self._write() as conn:
            conn.execute(
                insert(access_keys).values(
                    access_key_id=key.access_key_id,
                    secret=key.secret,
                    account_id=key.scope.account_id,
                    project_id=key.scope.project_id,
                    enterprise_project_ids=self._eps(key.scope),
                    created_at=key.created_at,
                )
            )

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._read() as conn:
            row = conn.execute(select(access_keys).where(access_keys.c.access_key_id == access_key_id)).first()
        return rows.access_key(row._mapping) if row else None

    def add_credential(self, kind: str, credential: Credential) -> None:
        with self._write() as conn:
            conn.execute(
                insert(credentials).values(
                    token_hash=credential.token_hash,
                    kind=kind,
                    account_id=credential.scope.account_id,
                    project_id=credential.scope.project_id,
                    enterprise_project_ids=self._eps(credential.scope),
                    enterprise_project_id=credential.enterprise_project_id,
                    group_id=credential.group_id,
                    expires_at=credential.expires_at,
                )
            )

    def get_credential(self, kind: str, token_hash: str, now: int) -> Credential | None:
        with self._read() as conn:
            row = conn.execute(
                select(credentials).where(
                    credentials.c.token_hash == token_hash, credentials.c.kind == kind, credentials.c.expires_at > now
                )
            ).first()
        return rows.credential(row._mapping) if row else None

    def remember_nonce(self, access_key_id: str, nonce: str, expires_at: int) -> bool:
        with self._write() as conn:
            if expires_at % 64 == 0:  # now and then, forget nonces whose signatures have expired anyway
                conn.execute(delete(nonces).where(nonces.c.expires_at < expires_at - 3_600_000))
            row = nonces.c
            stmt = self._insert_ignore(nonces).values(access_key_id=access_key_id, nonce=nonce, expires_at=expires_at)
            return self._inserted(conn, stmt.returning(row.nonce))

    # ------------------------------------------------------------------ hosts
    def ensure_group(self, account_id: int, project_id: str, name: str) -> str:
        scope = and_(host_groups.c.account_id == account_id, host_groups.c.project_id == project_id)
        with self._write() as conn:
            conn.execute(
                self._insert_ignore(host_groups).values(
                    group_id=uuid.uuid4().hex, account_id=account_id, project_id=project_id, name=name
                )
            )
            return str(
                conn.execute(select(host_groups.c.group_id).where(scope, host_groups.c.name == name)).scalar_one()
            )

    def enroll_host(self, host: Host, agent_secret_hash: str) -> Host:
        # stopped_at is only ever set by a goodbye: a new host has none (and a schema before 0007 no column)
        values = {name: getattr(host, name) for name in rows.HOST_COLUMNS if name not in ("id", "stopped_at")}
        with self._write() as conn:
            pk = conn.execute(
                insert(hosts).values(**values, agent_secret_hash=agent_secret_hash).returning(hosts.c.id)
            ).scalar_one()
        host.id = int(pk)
        return host

    def get_host_by_agent(self, agent_id: str) -> tuple[Host, str] | None:
        with self._read() as conn:
            row = conn.execute(select(hosts).where(hosts.c.agent_id == agent_id)).first()
        return (rows.host(row._mapping), row._mapping["agent_secret_hash"]) if row else None

    def touch_host(self, host_pk: int, now: int) -> None:
        with self._write() as conn:
            conn.execute(update(hosts).where(hosts.c.id == host_pk).values(last_seen=now))

    def host_stopped(self, host_pk: int, now: int) -> None:
        with self._write() as conn:
            conn.execute(update(hosts).where(hosts.c.id == host_pk).values(stopped_at=now))

    def find_hosts(self, scope: Scope, host_ids: Sequence[str] = (), group_ids: Sequence[str] = ()) -> list[Host]:
        if not host_ids and not group_ids:
            return []
        which = or_(hosts.c.host_id.in_(list(host_ids)), hosts.c.group_id.in_(list(group_ids)))
        with self._read() as conn:
            found = conn.execute(select(hosts).where(*scoped(scope, hosts), which).order_by(hosts.c.id))
            return [rows.host(r._mapping) for r in found]

    def list_hosts(self, scope: Scope, flt: HostFilter, page: Page) -> tuple[int, list[Host]]:
        conds = scoped(scope, hosts)
        conds += host_conditions(host_id=flt.host_id, name=flt.name, private_ip=flt.private_ip, public_ip=flt.public_ip)
        if flt.group_id:
            conds.append(hosts.c.group_id == flt.group_id)
        if flt.enterprise_project_id:
            conds.append(hosts.c.enterprise_project_id == flt.enterprise_project_id)
        if flt.host_ids is not None:
            conds.append(hosts.c.host_id.in_(sorted(flt.host_ids)))
        if flt.remark:
            conds.append(
                or_(
                    contains(hosts.c.name, flt.remark),
                    contains(hosts.c.private_ip, flt.remark),
                    contains(hosts.c.public_ip, flt.remark),
                )
            )
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(hosts).where(*conds)).scalar_one()
            found = conn.execute(select(hosts).where(*conds).order_by(hosts.c.id).offset(page.offset).limit(page.limit))
            return int(total), [rows.host(r._mapping) for r in found]

    # ------------------------------------------------------------------ tasks
    def insert_task(self, root: RootTask, subtask_list: Sequence[Subtask]) -> RootTask:
        with self._write() as conn:
            return self._insert_task(conn, root, subtask_list)

    @staticmethod
    def _insert_task(conn: Connection, root: RootTask, subtask_list: Sequence[Subtask]) -> RootTask:
        totals = summarize([StatusGroup(SubtaskStatus.PENDING, len(subtask_list))])
        root.counts, root.status = totals.counts, totals.status
        root.id = int(
            conn.execute(insert(root_tasks).values(**rows.root_values(root)).returning(root_tasks.c.id)).scalar_one()
        )
        if subtask_list:
            values = []
            for sub in subtask_list:
                sub.root_id = root.id
                values.append(rows.subtask_values(sub))
            conn.execute(insert(subtasks), values)
            record_root_enterprise_projects(conn, subtasks.c.root_id == root.id)
        return root

    def find_by_client_token(self, scope: Scope, client_token: str) -> RootTask | None:
        """The project's task made with this client token key, whichever enterprise project it is in."""
        with self._read() as conn:
            row = conn.execute(
                select(root_tasks).where(
                    root_tasks.c.account_id == scope.account_id,
                    root_tasks.c.project_id == scope.project_id,
                    root_tasks.c.client_token == client_token,
                )
            ).first()
        return rows.root(row._mapping) if row else None

    def get_root(self, scope: Scope, *, numeric_id: int | None = None, task_id: str | None = None) -> RootTask | None:
        conds = root_visible(scope)
        if numeric_id is not None:
            conds.append(root_tasks.c.id == numeric_id)
        if task_id is not None:
            conds.append(root_tasks.c.task_id == task_id)
        with self._read() as conn:
            row = conn.execute(select(root_tasks).where(*conds)).first()
            return self._as_seen(conn, scope, [rows.root(row._mapping)])[0] if row else None

    def latest_root(self, scope: Scope) -> RootTask | None:
        with self._read() as conn:
            row = conn.execute(
                select(root_tasks)
                .where(*root_visible(scope))
                .order_by(root_tasks.c.start_time.desc(), root_tasks.c.id.desc())
                .limit(1)
            ).first()
            return self._as_seen(conn, scope, [rows.root(row._mapping)])[0] if row else None

    @staticmethod
    def _host_match(match: HostMatch) -> list[ColumnElement[bool]]:
        conds = host_conditions(
            host_id=match.host_id, name=match.host_name, private_ip=match.private_ip, public_ip=match.public_ip
        )
        if match.statuses is not None:
            conds.append(subtasks.c.status.in_(sorted(s.value for s in match.statuses)))
        return conds

    def _root_conditions(self, scope: Scope, flt: RootFilter) -> list[ColumnElement[bool]]:
        match = flt.hosts
        on_hosts = self._host_match(match)
        if flt.enterprise_project_id is not None:
            on_hosts.append(hosts.c.enterprise_project_id == flt.enterprise_project_id)
        few = bool(match.host_name or match.private_ip or match.public_ip or match.host_id)
        conds = root_visible(scope, on_hosts, few_hosts=few)
        if flt.task_id:
            conds.append(root_tasks.c.task_id == flt.task_id)
        if flt.name:
            conds.append(contains(root_tasks.c.name, flt.name))
        if flt.origins is not None:
            conds.append(root_tasks.c.origin.in_(sorted(o.value for o in flt.origins)))
        if flt.statuses is not None:
            conds.append(root_tasks.c.status.in_(sorted(s.value for s in flt.statuses)))
        if flt.start_from is not None:
            conds.append(root_tasks.c.start_time >= flt.start_from)
        if flt.start_to is not None:
            conds.append(root_tasks.c.start_time <= flt.start_to)
        if flt.paid is not None:
            conds.append(root_tasks.c.paid == flt.paid)
        return conds

    def list_roots(self, scope: Scope, flt: RootFilter, page: Page) -> tuple[int, list[RootTask]]:
        conds = self._root_conditions(scope, flt)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(root_tasks).where(*conds)).scalar_one()
            found = conn.execute(
                select(root_tasks)
                .where(*conds)
                .order_by(root_tasks.c.start_time.desc(), root_tasks.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            )
            return int(total), self._as_seen(conn, scope, [rows.root(r._mapping) for r in found])

    @staticmethod
    def _subtask_host_columns() -> list[Any]:
        return [*subtasks.c, *(c.label("h_" + c.name) for c in hosts.c)]

    def _load_roots(self, conn: Connection, ids: set[int]) -> dict[int, RootTask]:
        if not ids:
            return {}
        found = conn.execute(select(root_tasks).where(root_tasks.c.id.in_(sorted(ids))))
        return {r.id: rows.root(r._mapping) for r in found}

    def list_subtasks(self, scope: Scope, flt: SubtaskFilter, page: Page) -> tuple[int, list[SubtaskView]]:
        conds = [*scoped(scope, root_tasks, enterprise_project=hosts.c.enterprise_project_id)]
        conds += self._host_match(flt.hosts)
        if flt.subtask_id:
            conds.append(subtasks.c.subtask_id == flt.subtask_id)
        if flt.root_task_id:
            conds.append(root_tasks.c.task_id == flt.root_task_id)
        if flt.origins is not None:
            conds.append(root_tasks.c.origin.in_(sorted(o.value for o in flt.origins)))
        start = func.coalesce(subtasks.c.start_time, root_tasks.c.start_time)
        if flt.start_from is not None:
            conds.append(start >= flt.start_from)
        if flt.start_to is not None:
            conds.append(start <= flt.start_to)
        joined = subtasks.join(root_tasks, root_tasks.c.id == subtasks.c.root_id).join(
            hosts, hosts.c.id == subtasks.c.host_pk
        )
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            found = conn.execute(
                select(*self._subtask_host_columns())
                .select_from(joined)
                .where(*conds)
                .order_by(root_tasks.c.start_time.desc(), subtasks.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            ).all()
            roots = self._load_roots(conn, {r.root_id for r in found})
        return int(total), [
            SubtaskView(rows.subtask(r._mapping), rows.host(r._mapping, "h_"), roots[r.root_id]) for r in found
        ]

    def subtasks_of(
        self, scope: Scope, roots: Sequence[RootTask], flt: RootFilter | None = None
    ) -> dict[int, list[SubtaskView]]:
        by_id = {r.id: r for r in roots}
        out: dict[int, list[SubtaskView]] = {r.id: [] for r in roots}
        if not by_id:
            return out
        conds = [subtasks.c.root_id.in_(sorted(by_id)), *scoped(scope, hosts)]
        if flt is not None:
            conds.extend(self._host_match(flt.hosts))
        with self._read() as conn:
            found = conn.execute(
                select(*self._subtask_host_columns())
                .select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
                .where(*conds)
                .order_by(subtasks.c.root_id, subtasks.c.id)
            )
            for r in found:
                out[r.root_id].append(
                    SubtaskView(rows.subtask(r._mapping), rows.host(r._mapping, "h_"), by_id[r.root_id])
                )
        return out

    def change_subtask(
        self,
        subtask_pk: int,
        change: SubtaskChange,
        *,
        report: tuple[int, str] | None = None,
        detections: Sequence[Detection] = (),
        seen_at: int | None = None,
        quarantined: Sequence[tuple[Detection, dict[str, Any]]] = (),
    ) -> ReportOutcome:
        with self._write() as conn:
            if report is not None and seen_at is not None:  # a report proves its agent alive: no second write
                conn.execute(update(hosts).where(hosts.c.id == report[0]).values(last_seen=seen_at))
            root_id = conn.execute(select(subtasks.c.root_id).where(subtasks.c.id == subtask_pk)).scalar()
            if root_id is None:
                raise UnknownSubtask(subtask_pk)
            # Lock order is root then subtask, for every writer, so two reports never deadlock.
            conn.execute(self._lock(select(root_tasks.c.id).where(root_tasks.c.id == root_id)))
            current = rows.subtask(
                conn.execute(self._lock(select(subtasks).where(subtasks.c.id == subtask_pk))).one()._mapping
            )
            if report is not None:
                stmt = self._insert_ignore(agent_reports).values(
                    host_pk=report[0], report_key=report[1], created_at=current.updated_at
                )
                if not self._inserted(conn, stmt.returning(agent_reports.c.report_key)):
                    return ReportOutcome(current, duplicate=True, detections_added=0)
            changed = change(current)
            added = 0
            for found in detections:
                found.root_id, found.subtask_id, found.host_pk = root_id, subtask_pk, current.host_pk
            for found in sorted(detections, key=identity):  # alerts are locked in one order by every writer
                self._link_alert(conn, found)
                stmt = self._insert_ignore(detections_table).values(**rows.detection_values(found))
                if self._inserted(conn, stmt.returning(detections_table.c.id)):
                    self._seen_again(conn, found)
                    added += 1
            if added:
                changed.viruses_found = int(
                    conn.execute(
                        select(func.count())
                        .select_from(detections_table)
                        .where(detections_table.c.subtask_id == subtask_pk)
                    ).scalar_one()
                )
            conn.execute(update(subtasks).where(subtasks.c.id == subtask_pk).values(**rows.subtask_values(changed)))
            if quarantined and seen_at is not None:
                self._auto_quarantine(conn, current.host_pk, subtask_pk, quarantined, seen_at)
            if changed.status is SubtaskStatus.SUCCEEDED and current.status is not SubtaskStatus.SUCCEEDED:
                root = rows.root(conn.execute(select(root_tasks).where(root_tasks.c.id == root_id)).one()._mapping)
                self._resolve_alerts(conn, root, changed, changed.updated_at)
            self._refresh_root(conn, int(root_id))
        return ReportOutcome(changed, duplicate=False, detections_added=added)

    def _refresh_root(self, conn: Connection, root_id: int) -> None:
        """Recompute a root's totals from its subtasks: the one place a root's state is written."""
        totals = self._totals(conn, [root_id]).get(root_id, summarize(()))
        conn.execute(update(root_tasks).where(root_tasks.c.id == root_id).values(**_totals_values(totals)))

    @staticmethod
    def _totals(
        conn: Connection, root_ids: Sequence[int], on_hosts: Sequence[ColumnElement[bool]] = ()
    ) -> dict[int, RootTotals]:
        """Each root's totals (core.states.summarize) over its subtasks, or over those whose host meets `on_hosts`."""
        groups: dict[int, list[StatusGroup]] = {}
        stmt = (
            select(
                subtasks.c.root_id,
                subtasks.c.status,
                func.count(),
                func.coalesce(func.sum(subtasks.c.progress), 0),
                func.coalesce(func.sum(subtasks.c.files_scanned), 0),
                func.coalesce(func.sum(subtasks.c.viruses_found), 0),
                func.max(subtasks.c.end_time),
            )
            .where(subtasks.c.root_id.in_(sorted(set(root_ids))), *on_hosts)
            .group_by(subtasks.c.root_id, subtasks.c.status)
        )
        if on_hosts:
            stmt = stmt.select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
        for root_id, status, n, prog, nfiles, nvir, end in conn.execute(stmt):
            ended = None if end is None else int(end)
            group = StatusGroup(SubtaskStatus(status), int(n), int(prog), int(nfiles), int(nvir), ended)
            groups.setdefault(root_id, []).append(group)
        return {root_id: summarize(found) for root_id, found in groups.items()}

    def _as_seen(self, conn: Connection, scope: Scope, roots: list[RootTask]) -> list[RootTask]:
        """Roots as a caller limited to some enterprise projects sees them: totals and targets of its hosts only.

        A task over several enterprise projects shows each key the state of its own hosts' subtasks: the
        stored totals (over every host) would tell one enterprise project how another's scan went.
        """
        if scope.enterprise_project_ids is None or not roots:
            return roots
        ids = [r.id for r in roots]
        on_hosts = scoped(scope, hosts)
        totals = self._totals(conn, ids, on_hosts)
        seen: dict[int, tuple[set[str], set[str]]] = {i: (set(), set()) for i in ids}
        for root_id, host_id, group_id in conn.execute(
            select(subtasks.c.root_id, hosts.c.host_id, hosts.c.group_id)
            .select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
            .where(subtasks.c.root_id.in_(ids), *on_hosts)
        ):
            seen[root_id][0].add(host_id)
            if group_id:
                seen[root_id][1].add(group_id)
        for root in roots:
            _apply(totals.get(root.id, summarize(())), root)
            host_ids, group_ids = seen[root.id]
            root.targets = [t for t in root.targets if t.target in (host_ids if t.type == "uuid" else group_ids)]
        return roots

    def get_subtask(self, subtask_id: str) -> Subtask | None:
        with self._read() as conn:
            row = conn.execute(select(subtasks).where(subtasks.c.subtask_id == subtask_id)).first()
        return rows.subtask(row._mapping) if row else None

    def agent_subtasks(self, host_pk: int) -> list[tuple[Subtask, RootTask]]:
        with self._read() as conn:
            found = conn.execute(
                select(subtasks)
                .where(subtasks.c.host_pk == host_pk, subtasks.c.status.in_(sorted(s.value for s in ACTIVE)))
                .order_by(subtasks.c.id)
            ).all()
            roots = self._load_roots(conn, {r.root_id for r in found})
        return [(rows.subtask(r._mapping), roots[r.root_id]) for r in found]

    def stale_subtasks(self, now: int, seen_before: int, started_before: int) -> list[tuple[Subtask, Host]]:
        """Unfinished subtasks, of tasks whose time has come, whose host went silent or that ran too long."""
        joined = subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk).join(
            root_tasks, root_tasks.c.id == subtasks.c.root_id
        )
        with self._read() as conn:
            found = conn.execute(
                select(*self._subtask_host_columns())
                .select_from(joined)
                .where(
                    subtasks.c.status.in_(sorted(s.value for s in ACTIVE)),
                    root_tasks.c.start_time <= now,
                    or_(
                        func.coalesce(hosts.c.last_seen, hosts.c.created_at) < seen_before,
                        func.coalesce(subtasks.c.start_time, root_tasks.c.start_time) < started_before,
                    ),
                )
            )
            return [(rows.subtask(r._mapping), rows.host(r._mapping, "h_")) for r in found]

    # ------------------------------------------------------------------ schedules
    def insert_schedule(self, schedule: Schedule) -> Schedule:
        with self._write() as conn:
            schedule.id = int(
                conn.execute(
                    insert(schedules).values(**rows.schedule_values(schedule)).returning(schedules.c.id)
                ).scalar_one()
            )
        return schedule

    def _schedule_conditions(self, scope: Scope, flt: ScheduleFilter) -> list[ColumnElement[bool]]:
        conds = [*scoped(scope, schedules), schedules.c.kind == flt.kind.value]
        if flt.schedule_id is not None:
            conds.append(schedules.c.schedule_id == flt.schedule_id)
        if flt.name:
            conds.append(contains(schedules.c.name, flt.name))
        return conds

    def get_schedule(self, scope: Scope, flt: ScheduleFilter) -> Schedule | None:
        with self._read() as conn:
            row = conn.execute(select(schedules).where(*self._schedule_conditions(scope, flt))).first()
        return rows.schedule(row._mapping) if row else None

    def find_schedule_by_client_token(self, scope: Scope, client_token: str) -> Schedule | None:
        """The project's schedule made with this client token key, whichever enterprise project it is in."""
        with self._read() as conn:
            row = conn.execute(
                select(schedules).where(
                    schedules.c.account_id == scope.account_id,
                    schedules.c.project_id == scope.project_id,
                    schedules.c.client_token == client_token,
                )
            ).first()
        return rows.schedule(row._mapping) if row else None

    def list_schedules(self, scope: Scope, flt: ScheduleFilter, page: Page) -> tuple[int, list[Schedule]]:
        conds = self._schedule_conditions(scope, flt)
        with self._read() as conn:
            found = [
                rows.schedule(r._mapping)
                for r in conn.execute(select(schedules).where(*conds).order_by(schedules.c.id.desc()))
            ]
        if flt.scan_type is not None:  # inside the template's JSON: filtered here, schedules are few
            found = [s for s in found if s.template.scan_type is flt.scan_type]
        return len(found), found[page.offset : page.offset + page.limit]

    def update_schedule(self, schedule: Schedule) -> None:
        values = rows.schedule_values(schedule)
        with self._write() as conn:
            conn.execute(update(schedules).where(schedules.c.id == schedule.id).values(**values))

    def delete_schedules(self, scope: Scope, flt: ScheduleFilter, schedule_ids: Sequence[str]) -> int:
        conds = [*self._schedule_conditions(scope, flt), schedules.c.schedule_id.in_(list(schedule_ids))]
        with self._write() as conn:
            return int(conn.execute(delete(schedules).where(*conds)).rowcount)

    def due_schedules(self, now: int, limit: int) -> list[Schedule]:
        with self._read() as conn:
            found = conn.execute(
                select(schedules)
                .where(schedules.c.enabled.is_(True), schedules.c.next_fire_at <= now)
                .order_by(schedules.c.next_fire_at, schedules.c.id)
                .limit(limit)
            )
            return [rows.schedule(r._mapping) for r in found]

    def fire_schedule(
        self, schedule_pk: int, due: int, next_fire_at: int | None, task: tuple[RootTask, Sequence[Subtask]] | None
    ) -> bool:
        with self._write() as conn:
            # PostgreSQL: a second replica's UPDATE waits for the first to commit, then re-reads the row,
            # sees next_fire_at moved and matches nothing. SQLite: BEGIN IMMEDIATE serializes writers.
            claimed = conn.execute(
                update(schedules)
                .where(schedules.c.id == schedule_pk, schedules.c.next_fire_at == due)
                .values(
                    next_fire_at=next_fire_at,
                    last_fired_at=due,
                    last_task_id=task[0].task_id if task else schedules.c.last_task_id,
                )
            ).rowcount
            if claimed != 1:
                return False
            if task is not None:
                self._insert_task(conn, *task)
        return True

    # ------------------------------------------------------------------ detections and statistics
    def list_detections(self, scope: Scope, flt: DetectionFilter, page: Page) -> tuple[int, list[DetectionView]]:
        d = detections_table
        conds = scoped(scope, root_tasks, enterprise_project=hosts.c.enterprise_project_id)
        if flt.root_task_id:
            conds.append(root_tasks.c.task_id == flt.root_task_id)
        if flt.task_name:
            conds.append(contains(root_tasks.c.name, flt.task_name))
        conds += host_conditions(
            host_id=flt.host_id, name=flt.host_name, private_ip=flt.private_ip, public_ip=flt.public_ip
        )
        if flt.handle_status is not None:
            conds.append(d.c.handle_status == flt.handle_status.value)
        if flt.severities is not None:
            conds.append(d.c.severity.in_(sorted(s.value for s in flt.severities)))
        if flt.malware_name:
            conds.append(contains(d.c.malware_name, flt.malware_name))
        if flt.file_path:
            conds.append(contains(d.c.file_path, flt.file_path))
        if flt.file_hashes is not None:
            conds.append(d.c.file_hash.in_(sorted(flt.file_hashes)))
        if flt.result_ids is not None:
            conds.append(d.c.result_id.in_(sorted(flt.result_ids)))
        if flt.asset_value is not None:
            conds.append(hosts.c.asset_value == flt.asset_value)
        if flt.isolate_tags is not None:
            conds.append(d.c.isolate_tag.in_(sorted(flt.isolate_tags)))
        if flt.enterprise_project_id is not None:
            conds.append(hosts.c.enterprise_project_id == flt.enterprise_project_id)
        joined = d.join(root_tasks, root_tasks.c.id == d.c.root_id).join(hosts, hosts.c.id == d.c.host_pk)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            found = conn.execute(
                select(*d.c, *(c.label("h_" + c.name) for c in hosts.c))
                .select_from(joined)
                .where(*conds)
                .order_by(d.c.occur_time.desc(), d.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            ).all()
            roots = self._load_roots(conn, {r.root_id for r in found})
        return int(total), [
            DetectionView(rows.detection(r._mapping), rows.host(r._mapping, "h_"), roots[r.root_id]) for r in found
        ]

    def statistics(self, scope: Scope) -> Statistics:
        visible = root_visible(scope)
        scanning: ColumnElement[bool]
        if scope.enterprise_project_ids is None:
            scanning = root_tasks.c.status.in_([RootStatus.PENDING.value, RootStatus.RUNNING.value])
        else:  # pending or running for this caller: one of its hosts has not finished (so not for all of them)
            active = [subtasks.c.status.in_(sorted(s.value for s in ACTIVE))]
            scanning = and_(
                root_tasks.c.status.in_([RootStatus.PENDING.value, RootStatus.RUNNING.value]),
                *root_visible(scope, active),
            )
        with self._read() as conn:
            malware, malware_hosts = conn.execute(  # alerts, not occurrences: one per infected file
                select(func.count(), func.count(func.distinct(alerts.c.host_pk)))
                .select_from(alerts.join(hosts, hosts.c.id == alerts.c.host_pk))
                .where(*scoped(scope, hosts), alerts.c.status == AlertStatus.OPEN.value)
            ).one()
            tasks, latest = conn.execute(select(func.count(), func.max(root_tasks.c.start_time)).where(*visible)).one()
            running = conn.execute(select(func.count()).select_from(root_tasks).where(*visible, scanning)).scalar_one()
        return Statistics(int(malware), int(malware_hosts), int(tasks), int(running), int(latest or 0))
