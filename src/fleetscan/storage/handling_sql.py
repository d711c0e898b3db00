"""SQL for handling detections (core/handling.py): the part of SqlStorage that writes actions, quarantined files,
the handling history and the whitelist. A mixin of SqlStorage, kept apart so each file has one job.

Every method is one transaction. What a handling request changes is the core's pure plan (`h.plan_handling`):
this module reads what the plan needs under row locks (PostgreSQL) or the database write lock (SQLite) and writes
the plan whole, so two replicas cannot queue two actions for one detection, and a refused operation on any
detection of a batch changes none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, select, tuple_, update

from ..core import handling as h
from ..core.errors import UnknownAction
from ..core.models import Detection, HandleStatus, Host, Scope
from ..core.queries import Page
from . import rows
from .base import SqlBase
from .conditions import contains, host_conditions, scoped
from .schema import (
    agent_actions,
    alarm_whitelist,
    detections,
    handle_history,
    hosts,
    quarantined_files,
)

NewId = Callable[[], str]


def _action(row: Any) -> h.AgentAction:
    m = row._mapping
    return h.AgentAction(
        action_id=m["action_id"],
        host_pk=m["host_pk"],
        kind=h.ActionKind(m["kind"]),
        quarantine_id=m["quarantine_id"],
        file_path=m["file_path"],
        file_hash=m["file_hash"],
        detection_pk=m["detection_pk"],
        status=h.ActionStatus(m["status"]),
        error=m["error"],
        memo=m["memo"],
        user_name=m["user_name"],
        created_at=m["created_at"],
        finished_at=m["finished_at"],
        file_path_raw=m["file_path_raw"],
        id=m["id"],
    )


QUARANTINE_FIELDS = (
    "quarantine_id host_pk file_path file_hash detection_pk malware_name source status file_size uid gid mode "
    "file_mtime error created_at updated_at md5"
).split()


def _quarantined(m: Any, prefix: str = "") -> h.QuarantinedFile:
    values = {name: m[prefix + name] for name in QUARANTINE_FIELDS}
    values["source"] = h.IsolateTag(values["source"])
    values["status"] = h.QuarantineStatus(values["status"])
    return h.QuarantinedFile(**values, id=m[prefix + "id"])


def _quarantine_values(q: h.QuarantinedFile) -> dict[str, Any]:
    values = {name: getattr(q, name) for name in QUARANTINE_FIELDS}
    values["source"] = q.source.value
    values["status"] = q.status.value
    return values


def _record_values(record: h.HandleRecord) -> dict[str, Any]:
    values = {k: v for k, v in record.__dict__.items() if k != "id"}
    values["handle_status"] = record.handle_status.value
    return values


class HandlingSql(SqlBase):
    """core.ports.HandlingStore."""

    if TYPE_CHECKING:

        def _spread_handling(self, conn: Connection, found: Detection) -> None: ...
        def _occurrence_ids(self, conn: Connection, found: Detection) -> list[int]: ...
        def _lock_alerts_of(self, conn: Connection, result_ids: Sequence[str]) -> None: ...

    # ------------------------------------------------------------------ helpers
    def _save_detection(self, conn: Connection, found: Detection) -> None:
        """Handling is the alert's: written on it and on every occurrence of it (storage/alerts_sql.py)."""
        self._spread_handling(conn, found)

    @staticmethod
    def _history(conn: Connection, found: Detection, operation: str, memo: str, user: str, now: int) -> None:
        record = h.HandleRecord(found.id, operation, found.handle_status, found.handle_method, memo, user, now)
        conn.execute(insert(handle_history).values(**_record_values(record)))

    # ------------------------------------------------------------------ people's operations
    def handle_detections(self, scope: Scope, request: h.HandleRequest, now: int, new_id: NewId) -> h.HandleOutcome:
        """Read what `h.plan_handling` needs, under locks, and write the plan it returns, in one transaction."""
        with self._write() as conn:
            plan = h.plan_handling(request, self._named(conn, scope, request.result_ids), now, new_id)
            self._write_plan(conn, scope, plan)
        return plan.outcome()

    def _named(self, conn: Connection, scope: Scope, result_ids: Sequence[str]) -> list[h.Named]:
        """The results of the caller's scope among `result_ids`, locked, each with its alert's pending action and
        held copy: alerts are locked before their occurrences, as reports take them."""
        d, q = detections, quarantined_files
        self._lock_alerts_of(conn, result_ids)
        found_rows = conn.execute(
            self._lock(
                select(d, hosts.c.enterprise_project_id.label("host_enterprise_project_id"))
                .select_from(d.join(hosts, hosts.c.id == d.c.host_pk))
                .where(*scoped(scope, hosts), d.c.result_id.in_(sorted(set(result_ids))))
                .order_by(d.c.id)
            )
        ).all()
        found = [rows.detection(r._mapping) for r in found_rows]
        occurrences = {f.id: self._occurrence_ids(conn, f) for f in found}
        of_occurrence = {pk: f.id for f in found for pk in occurrences[f.id]}
        every = sorted(of_occurrence)
        busy = set(
            conn.execute(
                select(agent_actions.c.detection_pk).where(
                    agent_actions.c.detection_pk.in_(every), agent_actions.c.status == h.ActionStatus.PENDING.value
                )
            ).scalars()
        )
        held: dict[int, str] = {}
        for pk, quarantine_id in conn.execute(
            select(q.c.detection_pk, q.c.quarantine_id)
            .where(q.c.detection_pk.in_(every), q.c.status.in_(sorted(s.value for s in h.HELD)))
            .order_by(q.c.id.desc())
        ):
            held.setdefault(of_occurrence[pk], str(quarantine_id))  # the newest copy, through any occurrence
        return [
            h.Named(
                f,
                str(r.host_enterprise_project_id),
                action_pending=bool(busy.intersection(occurrences[f.id])),
                held=held.get(f.id),
                occurrences=tuple(occurrences[f.id]),
            )
            for f, r in zip(found, found_rows, strict=True)
        ]

    def _write_plan(self, conn: Connection, scope: Scope, plan: h.HandlingPlan) -> None:
        for found in plan.handled:
            self._save_detection(conn, found)
        if plan.whitelist_remove:
            conn.execute(delete(alarm_whitelist).where(alarm_whitelist.c.detection_pk.in_(plan.whitelist_remove)))
        for add in plan.whitelist_add:
            conn.execute(
                self._insert_ignore(alarm_whitelist).values(
                    account_id=scope.account_id,
                    project_id=scope.project_id,
                    enterprise_project_id=add.enterprise_project_id,
                    field=add.entry.field.value,
                    value=add.entry.value,
                    detection_pk=add.detection_pk,
                    created_at=plan.now,
                )
            )
        for copy in plan.quarantines:
            conn.execute(insert(quarantined_files).values(**_quarantine_values(copy)))
        for quarantine_id in plan.restoring:
            conn.execute(
                update(quarantined_files)
                .where(quarantined_files.c.quarantine_id == quarantine_id)
                .values(status=h.QuarantineStatus.RESTORING.value, error="", updated_at=plan.now)
            )
        for action in plan.actions:
            values = {k: v for k, v in action.__dict__.items() if k != "id"}
            values.update(kind=action.kind.value, status=action.status.value)
            action.id = int(
                conn.execute(insert(agent_actions).values(**values).returning(agent_actions.c.id)).scalar_one()
            )
        if plan.history:
            conn.execute(insert(handle_history), [_record_values(r) for r in plan.history])

    # ------------------------------------------------------------------ the agent's side
    def pending_actions(self, host_pk: int) -> list[h.AgentAction]:
        with self._read() as conn:
            found = conn.execute(
                select(agent_actions)
                .where(agent_actions.c.host_pk == host_pk, agent_actions.c.status == h.ActionStatus.PENDING.value)
                .order_by(agent_actions.c.id)
            )
            return [_action(r) for r in found]

    def finish_action(
        self, host_pk: int, action_id: str, ok: bool, error: str, facts: dict[str, Any], now: int
    ) -> h.AgentAction:
        """Record an action's end once; a repeated answer returns the action as it was first recorded."""
        with self._write() as conn:
            row = conn.execute(
                self._lock(
                    select(agent_actions).where(
                        agent_actions.c.action_id == action_id, agent_actions.c.host_pk == host_pk
                    )
                )
            ).first()
            if row is None:
                raise UnknownAction(action_id)
            action = _action(row)
            if action.status != h.ActionStatus.PENDING:
                return action
            found = None
            if action.detection_pk is not None:
                found = rows.detection(
                    conn.execute(select(detections).where(detections.c.id == action.detection_pk)).one()._mapping
                )
            plan = h.plan_finish(action, found, ok, error, facts, now)
            ended = plan.action
            conn.execute(
                update(agent_actions)
                .where(agent_actions.c.id == ended.id)
                .values(status=ended.status.value, error=ended.error, finished_at=ended.finished_at)
            )
            changes = {k: (v.value if isinstance(v, h.QuarantineStatus) else v) for k, v in plan.file_changes.items()}
            conn.execute(
                update(quarantined_files)
                .where(quarantined_files.c.quarantine_id == ended.quarantine_id)
                .values(**changes)
            )
            if plan.handled is not None:
                self._save_detection(conn, plan.handled)
            if plan.history is not None:
                conn.execute(insert(handle_history).values(**_record_values(plan.history)))
        return ended

    def record_auto_quarantine(
        self, host_pk: int, subtask_pk: int, items: Sequence[tuple[Detection, dict[str, Any]]], now: int
    ) -> int:
        """Findings an `auto` task's agent quarantined itself; each recorded once, by its quarantine id."""
        with self._write() as conn:
            return self._auto_quarantine(conn, host_pk, subtask_pk, items, now)

    def _auto_quarantine(
        self,
        conn: Connection,
        host_pk: int,
        subtask_pk: int,
        items: Sequence[tuple[Detection, dict[str, Any]]],
        now: int,
    ) -> int:
        """`record_auto_quarantine` inside a caller's transaction (a report's: its detections and these are one)."""
        added = 0
        d = detections
        for finding, facts in items:
            row = conn.execute(
                select(d).where(
                    d.c.subtask_id == subtask_pk,
                    d.c.path_digest == rows.path_digest(finding.exact_path),
                    d.c.file_hash == finding.file_hash,
                    d.c.malware_name == finding.malware_name,
                )
            ).first()
            if row is None:
                continue  # not stored (whitelisted): nothing to attach the quarantine to
            found = rows.detection(row._mapping)
            record = h.auto_quarantined(finding, found, facts, host_pk, now)
            stmt = self._insert_ignore(quarantined_files).values(**_quarantine_values(record))
            if not self._inserted(conn, stmt.returning(quarantined_files.c.id)):
                continue
            h.after_quarantine(found, h.IsolateTag.AUTO)
            self._save_detection(conn, found)
            self._history(conn, found, h.IsolateTag.AUTO.value, "", h.AGENT, now)
            added += 1
        return added

    def whitelist(self, host: Host) -> set[h.WhitelistEntry]:
        return self.whitelists([host])[0]

    def whitelists(self, hosts: Sequence[Host]) -> list[set[h.WhitelistEntry]]:
        w = alarm_whitelist
        owners = sorted({(x.account_id, x.project_id, x.enterprise_project_id) for x in hosts})
        entries: dict[tuple[int, str, str], set[h.WhitelistEntry]] = {owner: set() for owner in owners}
        if owners:
            with self._read() as conn:
                found = conn.execute(
                    select(w.c.account_id, w.c.project_id, w.c.enterprise_project_id, w.c.field, w.c.value).where(
                        tuple_(w.c.account_id, w.c.project_id, w.c.enterprise_project_id).in_(owners)
                    )
                )
                for account, project, enterprise_project, field, value in found:
                    entries[(account, project, enterprise_project)].add(
                        h.WhitelistEntry(h.WhitelistField(field), value)
                    )
        return [entries[(x.account_id, x.project_id, x.enterprise_project_id)] for x in hosts]

    # ------------------------------------------------------------------ listings
    def list_history(self, scope: Scope, flt: h.HistoryFilter, page: Page) -> tuple[int, list[h.HistoryView]]:
        hh, d = handle_history, detections
        conds = scoped(scope, hosts)
        if flt.malware_name:
            conds.append(contains(d.c.malware_name, flt.malware_name))
        if flt.file_path:
            conds.append(contains(d.c.file_path, flt.file_path))
        if flt.severities is not None:
            conds.append(d.c.severity.in_(sorted(flt.severities)))
        conds += host_conditions(name=flt.host_name, private_ip=flt.private_ip, public_ip=flt.public_ip)
        if flt.asset_value:
            conds.append(hosts.c.asset_value == flt.asset_value)
        if flt.handle_method:
            conds.append(hh.c.handle_method == flt.handle_method)
        if flt.user_name:
            conds.append(contains(hh.c.user_name, flt.user_name))
        if flt.event_type is not None:
            conds.append(d.c.event_type == flt.event_type)
        joined = hh.join(d, d.c.id == hh.c.detection_pk).join(hosts, hosts.c.id == d.c.host_pk)
        order = (hh.c.handle_time.asc(), hh.c.id.asc()) if flt.ascending else (hh.c.handle_time.desc(), hh.c.id.desc())
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            found = conn.execute(
                select(*hh.c, *(c.label("d_" + c.name) for c in d.c), *(c.label("h_" + c.name) for c in hosts.c))
                .select_from(joined)
                .where(*conds)
                .order_by(*order)
                .offset(page.offset)
                .limit(page.limit)
            ).all()
        out = []
        for r in found:
            m = r._mapping
            record = h.HandleRecord(
                detection_pk=m["detection_pk"],
                operation=m["operation"],
                handle_status=HandleStatus(m["handle_status"]),
                handle_method=m["handle_method"],
                memo=m["memo"],
                user_name=m["user_name"],
                handle_time=m["handle_time"],
                id=m["id"],
            )
            detection = rows.detection({k[2:]: v for k, v in m.items() if isinstance(k, str) and k.startswith("d_")})
            out.append(h.HistoryView(record, detection, rows.host(m, "h_")))
        return int(total), out

    def list_quarantined(self, scope: Scope, flt: h.QuarantineFilter, page: Page) -> tuple[int, list[h.QuarantineView]]:
        q = quarantined_files
        conds = scoped(scope, hosts)
        if flt.quarantine_pk is not None:
            conds.append(q.c.id == flt.quarantine_pk)
        if flt.file_path:
            conds.append(contains(q.c.file_path, flt.file_path))
        if flt.file_hash:
            conds.append(q.c.file_hash == flt.file_hash)
        conds += host_conditions(
            host_id=flt.host_id, name=flt.host_name, private_ip=flt.private_ip, public_ip=flt.public_ip
        )
        if flt.asset_value:
            conds.append(hosts.c.asset_value == flt.asset_value)
        if flt.group_id:
            conds.append(hosts.c.group_id == flt.group_id)
        if flt.statuses is not None:
            conds.append(q.c.status.in_(sorted(s.value for s in flt.statuses)))
        if flt.updated_from is not None:
            conds.append(q.c.updated_at >= flt.updated_from)
        if flt.updated_to is not None:
            conds.append(q.c.updated_at <= flt.updated_to)
        joined = q.join(hosts, hosts.c.id == q.c.host_pk)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(and_(*conds))).scalar_one()
            found = conn.execute(
                select(*q.c, *(c.label("h_" + c.name) for c in hosts.c))
                .select_from(joined)
                .where(*conds)
                .order_by(q.c.updated_at.desc(), q.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            ).all()
            pks = sorted({r.detection_pk for r in found if r.detection_pk is not None})
            by_pk = {
                r.id: rows.detection(r._mapping)
                for r in (conn.execute(select(detections).where(detections.c.id.in_(pks))) if pks else [])
            }
        out = []
        for r in found:
            m = r._mapping
            host: Host = rows.host(m, "h_")
            out.append(h.QuarantineView(_quarantined(m), host, by_pk.get(m["detection_pk"])))
        return int(total), out
