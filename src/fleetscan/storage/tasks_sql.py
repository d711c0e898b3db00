"""SQL for the tasks port: root tasks, their subtasks, agents' reports and the root totals written from them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError

from ..core.alerts import AlertStatus
from ..core.errors import UnknownSubtask
from ..core.models import Detection, Host, RootTask, Scope, Subtask, SubtaskView
from ..core.ports import SubtaskChange
from ..core.queries import HostMatch, Page, RootFilter
from ..core.states import ACTIVE, RootTotals, StatusGroup, SubtaskStatus, Tally, summarize
from ..core.tasks import ReportOutcome, SubtaskReport
from . import rows
from .alerts_sql import AlertsSql, FindingKey, finding_key, resolve_candidates_many, resolve_many, resolved_by
from .base import id_chunks
from .bulk import JsonRows, ids_param, in_ids, rows_param
from .conditions import contains, host_conditions, root_visible, scoped
from .driver import DriverStatement, Pipeline, savepoint
from .handling_sql import HandlingSql
from .schema import (
    agent_actions,
    agent_reports,
    alerts,
    hosts,
    root_enterprise_projects,
    root_tasks,
    subtasks,
)
from .schema import detections as detections_table


def record_root_enterprise_projects(conn: Connection, *which: ColumnElement[bool]) -> None:
    """Record the enterprise projects of the hosts of the root tasks whose subtasks match `which`."""
    of_hosts = (
        select(subtasks.c.root_id, hosts.c.enterprise_project_id)
        .select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
        .where(*which)
        .distinct()
    )
    conn.execute(insert(root_enterprise_projects).from_select(["root_id", "enterprise_project_id"], of_hosts))


def insert_task_rows(conn: Connection, root: RootTask, subtask_list: Sequence[Subtask]) -> RootTask:
    """Write a root task and its subtasks in the caller's transaction (a start, or a schedule's firing)."""
    tally = Tally.of(_group(sub) for sub in subtask_list)
    totals = summarize(tally.groups())
    root.counts, root.status = totals.counts, totals.status
    row = {**rows.root_values(root), **_tally_values(tally)}
    root.id = int(conn.execute(insert(root_tasks).values(**row).returning(root_tasks.c.id)).scalar_one())
    if subtask_list:
        values = []
        for sub in subtask_list:
            sub.root_id = root.id
            values.append(rows.subtask_values(sub))
        conn.execute(insert(subtasks), values)
        record_root_enterprise_projects(conn, subtasks.c.root_id == root.id)
    return root


def _group(sub: Subtask) -> StatusGroup:
    """One subtask as a group of one, for a root's tally."""
    return StatusGroup(sub.status, 1, sub.progress, sub.files_scanned, sub.viruses_found, sub.end_time)


def _tally_values(tally: Tally) -> dict[str, Any]:
    return {"open_progress": tally.open_progress, "last_end": tally.last_end}


TALLY_PREFIX = "tally_"  # a root's tally columns beside its subtask's in one row (`_ReportStatements.lock_task`)


def _stored_tally(row: Mapping[str, Any], prefix: str = "") -> Tally | None:
    """A root row's tally, or None when it has none yet (then its subtasks are recounted)."""
    if row[prefix + "open_progress"] is None:
        return None
    per_status = {status: int(row[f"{prefix}n_{status.value}"]) for status in SubtaskStatus}
    last_end = row[prefix + "last_end"]
    return Tally(
        {k: v for k, v in per_status.items() if v},
        int(row[prefix + "open_progress"]),
        int(row[prefix + "files_scanned"]),
        int(row[prefix + "viruses_found"]),
        None if last_end is None else int(last_end),
    )


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


def _root_rows(tallies: Mapping[int, Tally]) -> list[dict[str, Any]]:
    """Each root's row as `write_roots` takes it: its totals by core.states.summarize, and the tally they are made
    from."""
    return [
        {**_totals_values(summarize(t.groups())), **_tally_values(t), "pk_": root_id}
        for root_id, t in sorted(tallies.items())
    ]


def _new_findings(current: Subtask, detections: Sequence[Detection], stored: set[FindingKey]) -> list[Detection]:
    """A report's findings its subtask does not hold yet, each once (`stored` grows with them), made the
    subtask's: one of its findings is stored once, however often reported."""
    new = []
    for found in detections:
        key = finding_key(current.id, found)
        if key in stored:
            continue
        stored.add(key)
        found.root_id, found.subtask_id, found.host_pk = current.root_id, current.id, current.host_pk
        new.append(found)
    return new


class _Undo(Exception):
    """Raised out of a transaction to roll it back: what it wrote is undone, its outcome already told."""


@dataclass(frozen=True)
class _Batch:
    """What `TasksSql.change_subtasks` read for the reports it writes in bulk, before writing them."""

    reports: Sequence[tuple[int, SubtaskReport]]  # (index in the batch, report)
    locked: Mapping[int, Mapping[str, Any]]  # subtask pk -> its row and its root's tally, locked
    seen_keys: set[tuple[int, str]]  # (host pk, report key) already written
    candidates: Mapping[int, list[tuple[int, str, str]]]  # completing subtask pk -> alerts it may resolve
    roots: Mapping[int, RootTask]  # root pk -> the root of a completing subtask with candidates
    stored: set[FindingKey]  # the reports' findings stored already


@dataclass(frozen=True)
class _ReportStatements:
    """The statements every report runs, with bind parameters in place of values, run on the driver's cursor
    (storage/driver.py): a report is their cost many times a second. `lock_tasks`, `seen_keys`,
    `insert_keys`, `write_subtasks`, `write_roots` and `write_batch` serve a whole batch of reports
    (`TasksSql.change_subtasks`) in one statement each (storage/bulk.py)."""

    lock_task: DriverStatement
    lock_tasks: DriverStatement
    report_key: DriverStatement
    seen_keys: DriverStatement
    insert_keys: DriverStatement
    write_subtask: DriverStatement
    write_subtasks: DriverStatement
    write_roots: DriverStatement
    write_batch: DriverStatement | None
    """PostgreSQL: the keys, subtasks and roots of a batch written in one statement (one round trip, not three)."""
    alerted_roots: DriverStatement
    resolve_candidates: DriverStatement
    lock_alerts: DriverStatement | None
    resolve_alerts: DriverStatement

    @classmethod
    def build(cls, base: TasksSql) -> _ReportStatements:
        pk: Any = bindparam("pk")
        tally = [root_tasks.c[f"n_{status.value}"] for status in SubtaskStatus]
        tally += [root_tasks.c.open_progress, root_tasks.c.files_scanned, root_tasks.c.viruses_found]
        subtask_columns = [*rows.SUBTASK_FIELDS, "not_scanned"]
        # which subtask, host and root a subtask belongs to never changes: a batch writes the rest
        changing = [c for c in subtask_columns if c not in ("subtask_id", "root_id", "host_pk")]
        root_columns = ["status", *(f"n_{s.value}" for s in SubtaskStatus), "progress", "files_scanned"]
        root_columns += ["viruses_found", "end_time", "open_progress", "last_end"]
        json_columns = frozenset({"not_scanned"})
        roots_json = frozenset({"scan_paths", "ignore_paths", "file_types", "targets", "sweep"})
        sqlite_db = base.is_sqlite
        joined = select(*(c.label(TALLY_PREFIX + c.name) for c in [*tally, root_tasks.c.last_end]), subtasks)
        joined = joined.select_from(root_tasks.join(subtasks, subtasks.c.root_id == root_tasks.c.id))
        # many subtasks by a JSON array of their ids, root then subtask: every batch locks in this one order
        of_pks = text(in_ids("subtasks.id", "pks", sqlite_db))
        many = joined.where(of_pks).order_by(root_tasks.c.id, subtasks.c.id)
        # the roots of the JSON array's subtasks whose host has an open alert they did not find again (a candidate)
        found_here = (
            exists()
            .where(detections_table.c.alert_id == alerts.c.id, detections_table.c.subtask_id == subtasks.c.id)
            .correlate_except(detections_table)
        )
        open_alert = (
            exists()
            .where(alerts.c.host_pk == subtasks.c.host_pk, alerts.c.status == AlertStatus.OPEN.value, ~found_here)
            .correlate_except(alerts)
        )
        of_alerted = select(subtasks.c.root_id).where(of_pks, open_alert)
        key = {"pk_": "bigint"}
        # the rows to update named again as an array: looked up by index whatever the statistics (bulk.in_ids)
        of_subs, of_roots = in_ids("subtasks.id", "sub_pks", False), in_ids("root_tasks.id", "root_pks", False)
        subs_update = JsonRows(subtasks, [*changing, "pk_"], False, key, "subs").update("id", "pk_", where=of_subs)
        roots = JsonRows(root_tasks, [*root_columns, "pk_"], False, key, "roots")
        roots_update = roots.update("id", "pk_", where=of_roots)
        keys = JsonRows(agent_reports, ["host_pk", "report_key"], sqlite_db)
        new_keys = JsonRows(agent_reports, ["host_pk", "report_key", "created_at"], sqlite_db)

        def driver(stmt: Any, json: frozenset[str] = frozenset()) -> DriverStatement:
            return DriverStatement(stmt, base.engine, json)

        def locking(stmt: Any) -> Any:
            return stmt if sqlite_db else stmt.with_for_update(of=[root_tasks, subtasks])

        return cls(
            # The subtask and its root's tally in one statement, both rows locked, the root's first (it comes
            # first in FROM): one round trip instead of three on a report's path.
            lock_task=driver(locking(joined.where(subtasks.c.id == pk)), json_columns),
            lock_tasks=driver(locking(many), json_columns),
            report_key=driver(
                base._insert_ignore(agent_reports)
                .values({c: bindparam(c) for c in ("host_pk", "report_key", "created_at")})
                .returning(agent_reports.c.report_key)
            ),
            seen_keys=driver(text(keys.matching(["host_pk", "report_key"]))),
            insert_keys=driver(text(new_keys.insert())),
            write_batch=None
            if sqlite_db
            else driver(
                text(
                    f"WITH k AS ({JsonRows(agent_reports, new_keys.fields, False, param='keys').insert()}),"
                    f" s AS ({subs_update}) {roots_update}"
                )
            ),
            write_subtask=driver(
                update(subtasks)
                .where(subtasks.c.id == bindparam("pk_"))
                .values({c: bindparam(c) for c in subtask_columns}),
                json_columns,
            ),
            write_subtasks=driver(text(JsonRows(subtasks, [*changing, "pk_"], sqlite_db, key).update("id", "pk_"))),
            write_roots=driver(text(JsonRows(root_tasks, [*root_columns, "pk_"], sqlite_db, key).update("id", "pk_"))),
            alerted_roots=driver(select(root_tasks).where(root_tasks.c.id.in_(of_alerted)), roots_json),
            resolve_candidates=driver(text(resolve_candidates_many(sqlite_db))),
            lock_alerts=None
            if sqlite_db
            else driver(
                select(alerts.c.id)
                .where(text(in_ids("alerts.id", "pks", sqlite_db)))
                .order_by(alerts.c.id)
                .with_for_update()
            ),
            resolve_alerts=driver(text(resolve_many(sqlite_db))),
        )


class TasksSql(AlertsSql, HandlingSql):
    """core.ports.TaskStore. A report writes its alerts and auto-quarantines in its own transaction, hence the bases."""

    def insert_task(self, root: RootTask, subtask_list: Sequence[Subtask]) -> RootTask:
        with self._write() as conn:
            return insert_task_rows(conn, root, subtask_list)

    def new_work(self, after: tuple[int, int]) -> tuple[set[int], tuple[int, int]]:
        pending = SubtaskStatus.PENDING.value
        with self._read() as conn:
            # The watermark first, then the rows up to it: a row committed in between is past the watermark and
            # found by the next call (each statement may see a newer snapshot on PostgreSQL's read committed).
            top = conn.execute(
                select(
                    select(func.coalesce(func.max(subtasks.c.id), 0)).scalar_subquery(),
                    select(func.coalesce(func.max(agent_actions.c.id), 0)).scalar_subquery(),
                )
            ).one()
            found = {
                int(pk)
                for (pk,) in conn.execute(
                    select(subtasks.c.host_pk).where(
                        subtasks.c.id > after[0], subtasks.c.id <= top[0], subtasks.c.status == pending
                    )
                )
            }
            found |= {
                int(pk)
                for (pk,) in conn.execute(
                    select(agent_actions.c.host_pk).where(
                        agent_actions.c.id > after[1], agent_actions.c.id <= top[1], agent_actions.c.status == pending
                    )
                )
            }
        return found, (int(top[0]), int(top[1]))

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
        reported_at: int | None = None,
        quarantined: Sequence[tuple[Detection, dict[str, Any]]] = (),
    ) -> ReportOutcome:
        with self._write() as conn:
            # Lock order is root then subtask, for every writer, so two reports never deadlock.
            locked = self._report_statements().lock_task.first(conn, {"pk": subtask_pk})
            if locked is None:
                raise UnknownSubtask(subtask_pk)
            return self._apply(conn, locked, subtask_pk, change, report, detections, reported_at, quarantined)

    def change_subtasks(self, reports: Sequence[SubtaskReport]) -> list[ReportOutcome | Exception]:
        """Many reports, in two transactions. A subtask's first report of the batch (nearly all of them) is written
        in bulk: every subtask of theirs (and its root) locked first, in one statement and one order, then a few
        statements for all (storage/bulk.py), their findings' alerts too; on PostgreSQL two round trips in all,
        three when some report has a new finding (driver.Pipeline). The others (quarantines, or a second report of
        a subtask) are written after, one by one, in a transaction of their own, as `change_subtask` writes them:
        their statements each do not keep the bulk's roots locked (under load every other worker's batch waits
        for those rows, bench/fleet.py).

        The database failing the bulk raises (nothing is written); failing the rest is the outcome of each of
        the rest (none of them is written), to be tried again."""
        outcomes: list[ReportOutcome | Exception | None] = [None] * len(reports)
        bulk: list[int] = []
        alone: list[int] = []
        taken: set[int] = set()
        for i, r in enumerate(reports):
            (alone if r.quarantined or r.subtask_pk in taken else bulk).append(i)
            taken.add(r.subtask_pk)
        if bulk:
            self._write_bulk(reports, bulk, outcomes)
        if alone:
            try:
                self._write_alone(reports, alone, outcomes)
            except DBAPIError as exc:
                for i in alone:
                    outcomes[i] = exc
        return [o if o is not None else UnknownSubtask(r.subtask_pk) for o, r in zip(outcomes, reports, strict=True)]

    def _write_bulk(
        self, reports: Sequence[SubtaskReport], bulk: Sequence[int], outcomes: list[ReportOutcome | Exception | None]
    ) -> None:
        """The reports at `bulk` (one per subtask, no quarantines) in one transaction: BEGIN, the lock, the keys
        seen, which of their findings are stored already and, for completions, their hosts' open alerts and roots
        sent together; then the new findings' alerts made and locked, if any; then the writes (the findings and
        the alerts resolved among them) and COMMIT. Its roots stay locked in between."""
        st = self._report_statements()
        with self._write_pipelined() as (conn, pipeline):
            pks = sorted({reports[i].subtask_pk for i in bulk})
            asked = [{"host_pk": reports[i].report[0], "report_key": reports[i].report[1]} for i in bulk]
            ending = [(r.report[0], r.subtask_pk) for r in (reports[i] for i in bulk) if r.may_succeed]
            findings = [finding_key(r.subtask_pk, found) for r in (reports[i] for i in bulk) for found in r.detections]
            with pipeline.together():
                locking = st.lock_tasks.run(conn, {"pks": ids_param(pks, self.is_sqlite)})
                seen_keys = st.seen_keys.run(conn, {"rows": rows_param(asked)})
                # after the lock: the subtasks' findings are settled
                alerted = self._ask_alerted(conn, ending)
                stored = self._ask_stored(conn, findings)
                locked = {int(row["id"]): row for row in st.lock_tasks.rows(locking)}
                seen = {(int(h), str(k)) for h, k in seen_keys.fetchall()}
                candidates, roots = alerted()
                stored_findings = stored()
            known = [(i, reports[i]) for i in bulk if reports[i].subtask_pk in locked]
            for i in bulk:
                if reports[i].subtask_pk not in locked:
                    outcomes[i] = UnknownSubtask(reports[i].subtask_pk)
            batch = _Batch(known, locked, seen, candidates, roots, stored_findings)
            self._apply_many(conn, pipeline, batch, outcomes)

    def _ask_alerted(
        self, conn: Connection, ending: Sequence[tuple[int, int]]
    ) -> Callable[[], tuple[dict[int, list[tuple[int, str, str]]], dict[int, RootTask]]]:
        """Sends the reads of what the completion of each (host pk, subtask pk) may resolve: the host's open alerts
        the subtask did not find again, and the roots of such subtasks (in a pipeline, with whatever else goes).
        The returned call reads the answers: candidates by subtask pk, roots by pk."""
        if not ending:
            return lambda: ({}, {})
        st = self._report_statements()
        pairs = rows_param({"host_pk": host_pk, "subtask_pk": subtask_pk} for host_pk, subtask_pk in ending)
        alerted = st.resolve_candidates.run(conn, {"rows": pairs})
        reading = st.alerted_roots.run(conn, {"pks": ids_param((pk for _, pk in ending), self.is_sqlite)})

        def answers() -> tuple[dict[int, list[tuple[int, str, str]]], dict[int, RootTask]]:
            candidates: dict[int, list[tuple[int, str, str]]] = {}
            for subtask_pk, pk, method, path in alerted.fetchall():
                candidates.setdefault(int(subtask_pk), []).append((int(pk), str(method), str(path)))
            return candidates, {int(row["id"]): rows.root(row) for row in st.alerted_roots.rows(reading)}

        return answers

    def _write_alone(
        self, reports: Sequence[SubtaskReport], alone: Sequence[int], outcomes: list[ReportOutcome | Exception | None]
    ) -> None:
        """The reports at `alone`, in order. Their subtasks and roots are locked first, all in one statement and
        the bulk's order (root, then subtask), as every batch locks them: locked one report at a time, two
        workers' batches deadlocked. Most batches have one such report: it needs no savepoint (its own error
        undoes the transaction) and its last writes go with COMMIT; several are each in a savepoint, so that one
        refused leaves the others written."""
        st = self._report_statements()
        pks = ids_param((reports[i].subtask_pk for i in alone), self.is_sqlite)
        try:
            with self._write_pipelined() as (conn, pipeline):
                with pipeline.together():
                    locked = {int(row["id"]): row for row in st.lock_tasks.rows(st.lock_tasks.run(conn, {"pks": pks}))}
                if len(alone) == 1:
                    [i] = alone
                    r = reports[i]
                    if r.subtask_pk not in locked:
                        outcomes[i] = UnknownSubtask(r.subtask_pk)
                        return
                    try:
                        outcomes[i] = self._apply(
                            conn, locked[r.subtask_pk], r.subtask_pk, r.change, r.report, r.detections,
                            r.reported_at, r.quarantined, pipeline,
                        )  # fmt: skip
                    except DBAPIError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - the report's own error: undo what it wrote
                        outcomes[i] = exc
                        raise _Undo from exc
                    return
                for i in alone:
                    r = reports[i]
                    try:
                        with savepoint(conn):
                            row = st.lock_task.first(conn, {"pk": r.subtask_pk}) if r.subtask_pk in locked else None
                            if row is None:
                                outcomes[i] = UnknownSubtask(r.subtask_pk)
                                continue
                            outcomes[i] = self._apply(
                                conn, row, r.subtask_pk, r.change, r.report, r.detections, r.reported_at, r.quarantined
                            )
                    except DBAPIError:
                        raise  # the database's trouble, not the report's: none of these is written
                    except Exception as exc:  # noqa: BLE001 - the report's own error, answered to it alone
                        outcomes[i] = exc
        except _Undo:
            pass  # the one report's error is its outcome; the transaction was rolled back

    def _apply_many(
        self,
        conn: Connection,
        pipeline: Pipeline,
        batch: _Batch,
        outcomes: list[ReportOutcome | Exception | None],
    ) -> None:
        """Reports without quarantines, one per subtask, their subtasks locked: their changes made in memory, their
        new findings' alerts made and locked (one round trip), then all written with one statement per table (one
        in all on PostgreSQL), with the alerts their completions resolve and COMMIT unless a root is left to
        recount. A report whose rule refuses it is left out."""
        st = self._report_statements()
        keys: list[dict[str, Any]] = []
        written: list[dict[str, Any]] = []
        tallies: dict[int, Tally | None] = {}
        succeeded: list[Subtask] = []
        unforeseen: list[Subtask] = []
        new_findings: list[Detection] = []
        seen_keys = set(batch.seen_keys)
        stored = set(batch.stored)
        for i, r in batch.reports:
            row = batch.locked[r.subtask_pk]
            current = rows.subtask(row)
            if r.report in seen_keys:
                outcomes[i] = ReportOutcome(current, duplicate=True, detections_added=0)
                continue
            try:
                changed = r.change(current)
            except Exception as exc:  # noqa: BLE001 - a refused transition, a value no column takes: its own
                outcomes[i] = exc
                continue
            seen_keys.add(r.report)
            added = _new_findings(current, r.detections, stored)
            changed.viruses_found = current.viruses_found + len(added)
            new_findings += added
            keys.append({"host_pk": r.report[0], "report_key": r.report[1], "created_at": current.updated_at})
            written.append({**rows.subtask_values(changed), "pk_": r.subtask_pk})
            root_id = int(current.root_id)
            tally = tallies[root_id] if root_id in tallies else _stored_tally(row, TALLY_PREFIX)
            tallies[root_id] = None if tally is None else tally.moved(_group(current), _group(changed))
            if changed.status is SubtaskStatus.SUCCEEDED and current.status is not SubtaskStatus.SUCCEEDED:
                if not r.may_succeed:  # not foreseen: what it resolves is read below
                    unforeseen.append(changed)
                elif changed.id in batch.candidates:  # its host has open alerts its scan did not find again
                    succeeded.append(changed)
            outcomes[i] = ReportOutcome(changed, duplicate=False, detections_added=len(added))
        if not written:
            return
        self._link_alerts(conn, new_findings, pipeline)
        tallied = {root_id: t for root_id, t in tallies.items() if t is not None}
        untallied = sorted(root_id for root_id, t in tallies.items() if t is None)
        candidates, roots = batch.candidates, batch.roots
        if unforeseen:  # a caller's completion not marked `may_succeed`: one more round trip, not a wrong answer
            with pipeline.together():
                more, more_roots = self._ask_alerted(conn, [(sub.host_pk, sub.id) for sub in unforeseen])()
            candidates, roots = {**candidates, **more}, {**roots, **more_roots}
            succeeded += [sub for sub in unforeseen if sub.id in more]
        resolved = self._alerts_resolved((candidates, roots), succeeded, new_findings)
        with pipeline.together(commit=not untallied):
            self._write_resolved(conn, resolved)
            self._store_findings(conn, new_findings)
            if st.write_batch is not None:
                batch_rows = {
                    "keys": rows_param(keys),
                    "subs": rows_param(written),
                    "sub_pks": [row["pk_"] for row in written],
                    "roots": rows_param(_root_rows(tallied)),
                    "root_pks": sorted(tallied),
                }
                st.write_batch.run(conn, batch_rows)
            else:
                st.insert_keys.run(conn, {"rows": rows_param(keys)})
                st.write_subtasks.run(conn, {"rows": rows_param(written)})
                self._write_roots(conn, tallied)
        for root_id in untallied:
            self._refresh_root(conn, root_id)

    @staticmethod
    def _alerts_resolved(
        read: tuple[Mapping[int, list[tuple[int, str, str]]], Mapping[int, RootTask]],
        succeeded: Sequence[Subtask],
        found: Sequence[Detection] = (),
    ) -> list[dict[str, Any]]:
        """The alerts the subtasks that just succeeded resolve (those whose path the scan covered but did not find,
        `core.alerts.resolves`), as `resolve_alerts` writes them, from the candidates and roots `_ask_alerted` read;
        but not an alert of the new findings `found`, which the read came before."""
        candidates, roots = read
        found_again = {f.alert_id for f in found}
        resolved: dict[int, dict[str, Any]] = {}
        for sub in succeeded:
            if sub.id not in candidates:  # nothing open it did not find again (its root was not read either)
                continue
            root = roots[sub.root_id]
            for pk in resolved_by(root, sub, candidates[sub.id]):
                if pk in found_again:
                    continue
                row = {"status": AlertStatus.RESOLVED.value, "resolved_by_task": root.task_id}
                resolved.setdefault(pk, {**row, "resolved_at": sub.updated_at, "pk_": pk})
        return [resolved[pk] for pk in sorted(resolved)]

    def _write_resolved(self, conn: Connection, resolved: Sequence[Mapping[str, Any]]) -> None:
        """The alerts of `_alerts_resolved` written resolved, locked first in one order (pk), as one UPDATE's
        join would not."""
        if not resolved:
            return
        st = self._report_statements()
        if st.lock_alerts is not None:
            st.lock_alerts.run(conn, {"pks": ids_param((row["pk_"] for row in resolved), self.is_sqlite)})
        st.resolve_alerts.run(conn, {"rows": rows_param(resolved)})

    def _apply(
        self,
        conn: Connection,
        locked: Mapping[str, Any],
        subtask_pk: int,
        change: SubtaskChange,
        report: tuple[int, str] | None,
        detections: Sequence[Detection],
        reported_at: int | None,
        quarantined: Sequence[tuple[Detection, dict[str, Any]]],
        pipeline: Pipeline | None = None,
    ) -> ReportOutcome:
        """One report (or one change) to a subtask locked with its root: `locked` is their row. With `pipeline`
        (the transaction holds nothing else), its last writes are sent with COMMIT."""
        st = self._report_statements()
        current = rows.subtask(locked)
        root_id = current.root_id
        together = pipeline.together if pipeline is not None else nullcontext
        with together():  # its key and which of its findings are stored already, in one round trip
            stored = self._ask_stored(conn, [finding_key(subtask_pk, found) for found in detections])
            if report is not None:
                values = {"host_pk": report[0], "report_key": report[1], "created_at": current.updated_at}
                if st.report_key.first(conn, values) is None:  # its key was seen: a duplicate
                    return ReportOutcome(current, duplicate=True, detections_added=0)
            stored_findings = stored()
        changed = change(current)
        added = _new_findings(current, detections, stored_findings)
        changed.viruses_found = current.viruses_found + len(added)
        self._link_alerts(conn, added, pipeline)
        unwritten: Sequence[Detection] = added  # stored with the last writes, unless a quarantine needs them first
        if quarantined and reported_at is not None:
            self._store_findings(conn, added)
            unwritten = ()
            self._auto_quarantine(conn, current.host_pk, subtask_pk, quarantined, reported_at)
        resolved: list[dict[str, Any]] = []
        if changed.status is SubtaskStatus.SUCCEEDED and current.status is not SubtaskStatus.SUCCEEDED:
            # its candidates and root (one round trip with a pipeline), the alerts resolved with the last writes
            with together():
                read = self._ask_alerted(conn, [(current.host_pk, subtask_pk)])()
            resolved = self._alerts_resolved(read, [changed], added)
        tally = _stored_tally(locked, TALLY_PREFIX)
        last = pipeline.together(commit=True) if pipeline is not None and tally is not None else nullcontext()
        with last:  # the subtask and its root, the writes nothing above reads
            self._write_resolved(conn, resolved)
            self._store_findings(conn, unwritten)
            st.write_subtask.run(conn, {**rows.subtask_values(changed), "pk_": subtask_pk})
            if tally is None:
                self._refresh_root(conn, int(root_id))
            else:
                self._write_roots(conn, {int(root_id): tally.moved(_group(current), _group(changed))})
        return ReportOutcome(changed, duplicate=False, detections_added=len(added))

    def _refresh_root(self, conn: Connection, root_id: int) -> None:
        """Recount a root's totals from its subtasks (a root without a stored tally)."""
        self._write_roots(conn, {root_id: Tally.of(self._groups(conn, [root_id]).get(root_id, []))})

    def _write_roots(self, conn: Connection, tallies: Mapping[int, Tally]) -> None:
        """The one place a root's state is written: its totals by core.states.summarize, and the tally they are
        made from; many roots in one statement."""
        if tallies:
            self._report_statements().write_roots.run(conn, {"rows": rows_param(_root_rows(tallies))})

    def _report_statements(self) -> _ReportStatements:
        return self._built("_report_statements", lambda: _ReportStatements.build(self))

    @classmethod
    def _totals(
        cls, conn: Connection, root_ids: Sequence[int], on_hosts: Sequence[ColumnElement[bool]] = ()
    ) -> dict[int, RootTotals]:
        """Each root's totals (core.states.summarize) over its subtasks, or over those whose host meets `on_hosts`."""
        return {root_id: summarize(found) for root_id, found in cls._groups(conn, root_ids, on_hosts).items()}

    @staticmethod
    def _groups(
        conn: Connection, root_ids: Sequence[int], on_hosts: Sequence[ColumnElement[bool]] = ()
    ) -> dict[int, list[StatusGroup]]:
        """Each root's subtasks summed per status, or those whose host meets `on_hosts`."""
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
        return groups

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

    def subtask_owners(self, subtask_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        found: dict[str, tuple[int, int, int]] = {}
        columns = (subtasks.c.subtask_id, subtasks.c.id, subtasks.c.host_pk, subtasks.c.root_id)
        with self._read() as conn:
            for chunk in id_chunks(subtask_ids):
                for subtask_id, pk, host_pk, root_id in conn.execute(select(*columns).where(columns[0].in_(chunk))):
                    found[subtask_id] = (int(pk), int(host_pk), int(root_id))
        return found

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
