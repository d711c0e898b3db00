"""SQL for alerts (core/alerts.py): find or make a finding's alert, copy handling across an alert's occurrences,
resolve what a scan no longer found. A mixin of SqlStorage; every method runs inside its caller's transaction
(a report's, or a handling request's), so an alert never disagrees with its occurrences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, literal, null, select, text, update

from ..core import alerts as a
from ..core.models import Detection, HandleStatus, RootTask, Scope, Subtask
from . import rows
from .base import SqlBase
from .bulk import JsonRows, rows_param
from .conditions import scoped
from .driver import DriverStatement, Pipeline
from .schema import alerts, detections, hosts, root_tasks


def identity(found: Detection) -> tuple[int, str, str, str]:
    """What makes two findings one alert: host, exact path, SHA-256 and signature (also the lock order)."""
    return found.host_pk, rows.path_digest(found.exact_path), found.file_hash, found.malware_name


# identity()'s order in SQL: byte order for the name, as Python compares it (a locale collation might not).
_IDENTITY_ORDER = (alerts.c.host_pk, alerts.c.path_digest, alerts.c.file_hash, alerts.c.malware_name.collate("C"))

_IDENTITY = ("host_pk", "path_digest", "file_hash", "malware_name")
_FINDING_KEY = ("subtask_id", "path_digest", "file_hash", "malware_name")  # detections' unique key

FindingKey = tuple[int, str, str, str]
"""A stored finding's key: its subtask's pk, then its path digest, SHA-256 and signature."""


def finding_key(subtask_pk: int, found: Detection) -> FindingKey:
    return subtask_pk, rows.path_digest(found.exact_path), found.file_hash, found.malware_name


def _handling(found: Detection) -> dict[str, Any]:
    """A finding's handling as its alert's columns hold it."""
    return {
        "handle_status": found.handle_status.value,
        "handle_method": found.handle_method,
        "memo": found.memo,
        "isolate_tag": found.isolate_tag,
    }


@dataclass(frozen=True)
class _FindingStatements:
    """What a report's new findings run, a batch's findings at once (`TasksSql.change_subtasks`): which are stored
    already, their alerts made and locked, the findings stored and their alerts seen again. Compiled once and run
    on the driver's cursor (storage/driver.py)."""

    stored: DriverStatement
    make_alerts: DriverStatement
    lock_identities: DriverStatement
    insert_findings: DriverStatement
    seen_again: DriverStatement

    @classmethod
    def build(cls, base: SqlBase) -> _FindingStatements:
        sqlite_db = base.is_sqlite
        handling: dict[str, Any] = {c: bindparam(c) for c in ("handle_status", "handle_method", "memo", "isolate_tag")}
        made: dict[str, Any] = {c: bindparam(c) for c in (*_IDENTITY, "first_seen", "last_seen")} | handling
        made |= {"occurrences": literal(0), "status": literal(a.AlertStatus.OPEN.value)}
        columns = ["id", *_IDENTITY, "status", "handle_status", "handle_method", "memo", "isolate_tag"]
        # locked in the order of the rows sent, which `_link_alerts` sends in identity order
        lock = JsonRows(alerts, list(_IDENTITY), sqlite_db).matching(columns, lock=True)

        def driver(stmt: Any) -> DriverStatement:
            return DriverStatement(stmt, base.engine)

        return cls(
            stored=driver(text(JsonRows(detections, list(_FINDING_KEY), sqlite_db).matching(list(_FINDING_KEY)))),
            make_alerts=driver(base._insert_ignore(alerts).values(made)),
            lock_identities=driver(text(lock)),
            insert_findings=driver(
                insert(detections).values({c: bindparam(c) for c in (*rows.DETECTION_FIELDS, "path_digest")})
            ),
            seen_again=driver(
                update(alerts)
                .where(alerts.c.id == bindparam("pk_"))
                .values(
                    occurrences=alerts.c.occurrences + bindparam("n_"),
                    last_seen=case(  # the newest occurrence's, even when a late report brings an older one
                        (alerts.c.last_seen > bindparam("last_seen"), alerts.c.last_seen), else_=bindparam("last_seen")
                    ),
                    status=literal(a.AlertStatus.OPEN.value),
                    resolved_by_task=null(),
                    resolved_at=null(),
                    **handling,
                )
            ),
        )


class AlertsSql(SqlBase):
    """core.ports.AlertStore, and the alert side of a report's or a handling request's transaction."""

    def open_alert_counts(self, scope: Scope, host_ids: Sequence[str]) -> dict[str, int]:
        """Open alerts per host (of the caller's scope): Alibaba's EventCount, a host's infected files."""
        if not host_ids:
            return {}
        with self._read() as conn:
            found = conn.execute(
                select(hosts.c.host_id, func.count())
                .select_from(alerts.join(hosts, hosts.c.id == alerts.c.host_pk))
                .where(
                    *scoped(scope, hosts),
                    hosts.c.host_id.in_(sorted(set(host_ids))),
                    alerts.c.status == a.AlertStatus.OPEN.value,
                )
                .group_by(hosts.c.host_id)
            )
            return {str(host_id): int(n) for host_id, n in found}

    def alert_of_result(self, scope: Scope, result_id: str) -> a.Alert | None:
        """The alert a result (of the caller's scope) is an occurrence of, with the tasks that saw it."""
        d = detections
        with self._read() as conn:
            row = conn.execute(
                select(alerts, d.c.file_path)
                .select_from(alerts.join(d, d.c.alert_id == alerts.c.id).join(hosts, hosts.c.id == alerts.c.host_pk))
                .where(*scoped(scope, hosts), d.c.result_id == result_id)
            ).first()
            if row is None:
                return None
            tasks = conn.execute(
                select(root_tasks.c.task_id)
                .select_from(d.join(root_tasks, root_tasks.c.id == d.c.root_id))
                .where(d.c.alert_id == row.id)
                .order_by(d.c.occur_time, d.c.id)
            ).scalars()
            m = row._mapping
            return a.Alert(
                host_pk=m["host_pk"],
                file_path=m["file_path"],
                file_hash=m["file_hash"],
                malware_name=m["malware_name"],
                first_seen=m["first_seen"],
                last_seen=m["last_seen"],
                occurrences=m["occurrences"],
                status=a.AlertStatus(m["status"]),
                resolved_by_task=m["resolved_by_task"],
                resolved_at=m["resolved_at"],
                handle_status=HandleStatus(m["handle_status"]),
                handle_method=m["handle_method"],
                task_ids=tuple(dict.fromkeys(str(t) for t in tasks)),
                id=m["id"],
            )

    def _ask_stored(self, conn: Connection, keys: Sequence[FindingKey]) -> Callable[[], set[FindingKey]]:
        """Sends the read of which of these findings are stored already (in a pipeline, with whatever else goes);
        the returned call reads the answer. Under their subtasks' lock, what is not stored is new."""
        if not keys:
            return set
        st = self._finding_statements()
        asked = [dict(zip(_FINDING_KEY, key, strict=True)) for key in keys]
        cursor = st.stored.run(conn, {"rows": rows_param(asked)})
        return lambda: {(int(pk), str(digest), str(sha), str(name)) for pk, digest, sha, name in cursor.fetchall()}

    def _link_alerts(self, conn: Connection, founds: Sequence[Detection], pipeline: Pipeline | None = None) -> None:
        """Find or make each new finding's alert, locked, in identity order (every writer's order), in one round
        trip: each finding takes its alert's id and handling (the alert's word holds; a resolved alert's
        quarantine no longer does, `core.alerts.reopened`)."""
        if not founds:
            return
        st = self._finding_statements()
        made: dict[tuple[int, str, str, str], Detection] = {}
        for found in sorted(founds, key=identity):
            made.setdefault(identity(found), found)
        asked = [dict(zip(_IDENTITY, key, strict=True)) for key in made]  # in identity order: the lock's
        new_alerts = [
            {**key, "first_seen": found.occur_time, "last_seen": found.occur_time, **_handling(found)}
            for key, found in zip(asked, made.values(), strict=True)
        ]
        with pipeline.together() if pipeline is not None else nullcontext():
            st.make_alerts.run_many(conn, new_alerts)
            linked = st.lock_identities.all(conn, {"rows": rows_param(asked)})
        by_identity = {tuple(row[c] for c in _IDENTITY): row for row in linked}
        for found in founds:
            row = by_identity[identity(found)]
            found.alert_id = int(row["id"])
            found.handle_status, found.handle_method = HandleStatus(row["handle_status"]), row["handle_method"]
            found.memo, found.isolate_tag = row["memo"], row["isolate_tag"]
            if row["status"] == a.AlertStatus.RESOLVED.value:
                a.reopened(found)

    def _store_findings(self, conn: Connection, founds: Sequence[Detection]) -> None:
        """New findings (`_link_alerts` linked them) stored, each one more occurrence of its alert, which is open
        (again) with their handling: two statements for all, sent (not waited for) in a pipeline."""
        if not founds:
            return
        st = self._finding_statements()
        seen: dict[int, dict[str, Any]] = {}
        for found in founds:
            assert found.alert_id is not None
            row = seen.setdefault(
                found.alert_id, {"pk_": found.alert_id, "n_": 0, "last_seen": found.occur_time, **_handling(found)}
            )
            row["n_"] += 1
            row["last_seen"] = max(row["last_seen"], found.occur_time)
        st.insert_findings.run_many(conn, [rows.detection_values(found) for found in founds])
        st.seen_again.run_many(conn, [seen[pk] for pk in sorted(seen)])

    def _finding_statements(self) -> _FindingStatements:
        return self._built("_finding_statements", lambda: _FindingStatements.build(self))

    @staticmethod
    def _spread_handling(conn: Connection, found: Detection) -> None:
        """Write `found`'s handling on its alert and on every occurrence of it: one alert, one state."""
        values = _handling(found)
        if found.alert_id is None:
            conn.execute(update(detections).where(detections.c.id == found.id).values(**values))
            return
        conn.execute(update(alerts).where(alerts.c.id == found.alert_id).values(**values))
        conn.execute(update(detections).where(detections.c.alert_id == found.alert_id).values(**values))

    def _lock_alerts_of(self, conn: Connection, result_ids: Sequence[str]) -> None:
        """Lock the alerts of these results in identity order: every writer takes alerts in that order and
        before their occurrences (a report links its findings first), so handling never deadlocks a report."""
        if self.is_sqlite:  # BEGIN IMMEDIATE already holds the database's one write lock
            return
        of_results = select(detections.c.alert_id).where(detections.c.result_id.in_(sorted(set(result_ids))))
        conn.execute(
            self._lock(select(alerts.c.id).where(alerts.c.id.in_(of_results)).order_by(*_IDENTITY_ORDER))
        ).all()

    @staticmethod
    def _occurrence_ids(conn: Connection, found: Detection) -> list[int]:
        """The detections of `found`'s alert (just `found` when it has none)."""
        if found.alert_id is None:
            return [found.id]
        same = select(detections.c.id).where(detections.c.alert_id == found.alert_id)
        return [int(i) for i in conn.execute(same).scalars()]


def resolved_by(root: RootTask, sub: Subtask, candidates: Sequence[tuple[int, str, str]]) -> list[int]:
    """Of a succeeded subtask's candidates (alert pk, handle method, a path), the alerts its scan resolves."""
    return sorted(
        int(pk) for pk, method, path in candidates if a.resolves(root, str(path), str(method), sub.not_scanned)
    )


def resolve_candidates_many(is_sqlite: bool) -> str:
    """What succeeded subtasks may resolve: each one's host's open alerts it did not find again, as (subtask pk,
    alert pk, handle method, a path); the JSON rows `:rows` name each subtask's `host_pk` and `subtask_pk`."""
    v = JsonRows(alerts, ["host_pk", "subtask_pk"], is_sqlite, {"subtask_pk": "bigint"})
    subtask_pk = v.field("subtask_pk")
    return (
        f"SELECT {subtask_pk} AS subtask_pk, al.id, al.handle_method, min(d.file_path)"
        f" FROM {v.source()}"
        f" JOIN alerts AS al ON al.host_pk = {v.field('host_pk')} AND al.status = '{a.AlertStatus.OPEN.value}'"
        " JOIN detections AS d ON d.alert_id = al.id"
        f" WHERE NOT EXISTS (SELECT 1 FROM detections AS here WHERE here.alert_id = al.id"
        f" AND here.subtask_id = {subtask_pk})"
        f" GROUP BY {subtask_pk}, al.id, al.handle_method"
    )


def resolve_many(is_sqlite: bool) -> str:
    """The alerts of the JSON rows `:rows` resolved, each by its `resolved_by_task` at its `resolved_at`."""
    fields = ["status", "resolved_by_task", "resolved_at", "pk_"]
    return JsonRows(alerts, fields, is_sqlite, {"pk_": "bigint"}).update("id", "pk_")


__all__: Sequence[str] = [
    "AlertsSql",
    "FindingKey",
    "finding_key",
    "identity",
    "resolve_candidates_many",
    "resolve_many",
    "resolved_by",
]
