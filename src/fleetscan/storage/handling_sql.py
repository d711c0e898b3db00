"""SQL for handling detections (core/handling.py): the part of SqlStorage that writes actions, quarantined files,
the handling history and the whitelist. A mixin of SqlStorage, kept apart so each file has one job.

Every method is one transaction. Decisions are the core's pure rules (`handling.decide`), applied here under
row locks (PostgreSQL) or the database write lock (SQLite), so two replicas cannot queue two actions for one
detection, and a refused operation on any detection of a batch changes none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from ..core import handling as h
from ..core.errors import InvalidParameter, UnknownAction, UnknownResult
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
        conn.execute(
            insert(handle_history).values(
                detection_pk=found.id,
                operation=operation,
                handle_status=found.handle_status.value,
                handle_method=found.handle_method,
                memo=memo,
                user_name=user,
                handle_time=now,
            )
        )

    # ------------------------------------------------------------------ people's operations
    def handle_detections(self, scope: Scope, request: h.HandleRequest, now: int, new_id: NewId) -> h.HandleOutcome:
        d = detections
        outcome = h.HandleOutcome()
        with self._write() as conn:
            self._lock_alerts_of(conn, request.result_ids)  # alerts before their occurrences, as reports do
            found_rows = conn.execute(
                self._lock(
                    select(d, hosts.c.enterprise_project_id.label("host_enterprise_project_id"))
                    .select_from(d.join(hosts, hosts.c.id == d.c.host_pk))
                    .where(*scoped(scope, hosts), d.c.result_id.in_(sorted(set(request.result_ids))))
                    .order_by(d.c.id)
                )
            ).all()
            by_result = {r.result_id: rows.detection(r._mapping) for r in found_rows}
            eps_of = {r.id: str(r.host_enterprise_project_id) for r in found_rows}
            missing = [r for r in request.result_ids if r not in by_result]
            if missing:
                raise UnknownResult(missing[0])
            # One decision per alert: results of the same alert in several tasks are one file, handled once.
            of_alert: dict[object, Detection] = {}
            for found in by_result.values():
                of_alert.setdefault(found.alert_id if found.alert_id is not None else ("row", found.id), found)
            occurrences = {found.id: self._occurrence_ids(conn, found) for found in of_alert.values()}
            busy = set(
                conn.execute(
                    select(agent_actions.c.detection_pk).where(
                        agent_actions.c.detection_pk.in_(sorted({i for ids in occurrences.values() for i in ids})),
                        agent_actions.c.status == h.ActionStatus.PENDING.value,
                    )
                ).scalars()
            )
            pending = {pk for pk, ids in occurrences.items() if busy.intersection(ids)}
            decided = [
                (
                    found,
                    h.decide(
                        request.operation,
                        found,
                        action_pending=found.id in pending,
                        whitelist_fields=request.whitelist_fields,
                    ),
                )
                for found in of_alert.values()
            ]
            for found, decision in decided:  # every decision made: now write them all
                found.handle_status, found.handle_method = decision.handle_status, decision.handle_method
                if request.memo:
                    found.memo = request.memo
                self._save_detection(conn, found)
                self._apply_whitelist(conn, scope, eps_of[found.id], found, decision, now)
                if decision.action is not None:
                    outcome.actions.append(self._queue_action(conn, found, decision.action, request, now, new_id))
                self._history(conn, found, request.operation.value, request.memo, request.user_name, now)
            for found in by_result.values():  # every result asked for, as its alert now stands
                chosen = of_alert[found.alert_id if found.alert_id is not None else ("row", found.id)]
                found.handle_status, found.handle_method = chosen.handle_status, chosen.handle_method
                found.memo, found.isolate_tag = chosen.memo, chosen.isolate_tag
                outcome.detections.append(found)
        return outcome

    def _apply_whitelist(
        self,
        conn: Connection,
        scope: Scope,
        enterprise_project_id: str,
        found: Detection,
        decision: h.Decision,
        now: int,
    ) -> None:
        """Entries hold in the enterprise project of the detection's host, one the caller was granted."""
        if decision.whitelist_remove:
            conn.execute(delete(alarm_whitelist).where(alarm_whitelist.c.detection_pk == found.id))
        for entry in decision.whitelist_add:
            conn.execute(
                self._insert_ignore(alarm_whitelist).values(
                    account_id=scope.account_id,
                    project_id=scope.project_id,
                    enterprise_project_id=enterprise_project_id,
                    field=entry.field.value,
                    value=entry.value,
                    detection_pk=found.id,
                    created_at=now,
                )
            )

    def _queue_action(
        self, conn: Connection, found: Detection, kind: h.ActionKind, request: h.HandleRequest, now: int, new_id: NewId
    ) -> h.AgentAction:
        q = quarantined_files
        if kind == h.ActionKind.QUARANTINE:
            quarantine_id = new_id()
            conn.execute(
                insert(q).values(
                    **_quarantine_values(
                        h.QuarantinedFile(
                            quarantine_id=quarantine_id,
                            host_pk=found.host_pk,
                            file_path=found.file_path,
                            file_hash=found.file_hash,
                            detection_pk=found.id,
                            malware_name=found.malware_name,
                            source=h.IsolateTag.MANUAL,
                            status=h.QuarantineStatus.ISOLATING,
                            file_size=found.file_size,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                )
            )
        else:
            held = conn.execute(
                select(q.c.quarantine_id)
                .where(
                    q.c.detection_pk.in_(self._occurrence_ids(conn, found)),  # isolated through any occurrence
                    q.c.status.in_(sorted(s.value for s in h.HELD)),
                )
                .order_by(q.c.id.desc())
                .limit(1)
            ).scalar()
            if held is None:
                raise InvalidParameter("operate_results", f"no quarantined file of result {found.result_id}")
            quarantine_id = str(held)
            conn.execute(
                update(q)
                .where(q.c.quarantine_id == quarantine_id)
                .values(status=h.QuarantineStatus.RESTORING.value, error="", updated_at=now)
            )
        action = h.AgentAction(
            action_id=new_id(),
            host_pk=found.host_pk,
            kind=kind,
            quarantine_id=quarantine_id,
            file_path=found.file_path,
            file_hash=found.file_hash,
            detection_pk=found.id,
            file_path_raw=found.file_path_raw,
            memo=request.memo,
            user_name=request.user_name,
            created_at=now,
        )
        values = {k: v for k, v in action.__dict__.items() if k != "id"}
        values.update(kind=kind.value, status=action.status.value)
        action.id = int(conn.execute(insert(agent_actions).values(**values).returning(agent_actions.c.id)).scalar_one())
        return action

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
            action.status = h.ActionStatus.DONE if ok else h.ActionStatus.FAILED
            action.error, action.finished_at = error, now
            conn.execute(
                update(agent_actions)
                .where(agent_actions.c.id == action.id)
                .values(status=action.status.value, error=action.error, finished_at=now)
            )
            file_values: dict[str, Any] = {
                "status": h.quarantine_status(action.kind, ok).value,
                "error": action.error,
                "updated_at": now,
            }
            if ok and action.kind == h.ActionKind.QUARANTINE:
                file_values.update(
                    {k: int(facts[k]) for k in ("uid", "gid", "mode") if isinstance(facts.get(k), int)},
                )
                if isinstance(facts.get("size"), int):
                    file_values["file_size"] = facts["size"]
                if isinstance(facts.get("mtime"), int):
                    file_values["file_mtime"] = facts["mtime"]
                if isinstance(facts.get("md5"), str):
                    file_values["md5"] = facts["md5"]
            conn.execute(
                update(quarantined_files)
                .where(quarantined_files.c.quarantine_id == action.quarantine_id)
                .values(**file_values)
            )
            if action.detection_pk is not None:
                found = rows.detection(
                    conn.execute(select(detections).where(detections.c.id == action.detection_pk)).one()._mapping
                )
                if ok:
                    if action.kind == h.ActionKind.QUARANTINE:
                        h.after_quarantine(found, h.IsolateTag.MANUAL)
                    else:
                        h.after_restore(found)
                    self._save_detection(conn, found)
                operation = f"{action.kind.value}_{'done' if ok else 'failed'}"
                self._history(conn, found, operation, action.error, h.AGENT, now)
        return action

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
            record = h.QuarantinedFile(
                quarantine_id=str(facts["quarantine_id"]),
                host_pk=host_pk,
                file_path=finding.file_path,
                file_hash=finding.file_hash,
                detection_pk=found.id,
                malware_name=finding.malware_name,
                source=h.IsolateTag.AUTO,
                status=h.QuarantineStatus.ISOLATED,
                file_size=int(facts.get("size", finding.file_size)),
                uid=int(facts.get("uid", -1)),
                gid=int(facts.get("gid", -1)),
                mode=int(facts.get("mode", 0)),
                file_mtime=int(facts.get("mtime", finding.file_mtime)),
                created_at=now,
                updated_at=now,
                md5=str(facts.get("md5", "")),
            )
            stmt = self._insert_ignore(quarantined_files).values(**_quarantine_values(record))
            if not self._inserted(conn, stmt.returning(quarantined_files.c.id)):
                continue
            h.after_quarantine(found, h.IsolateTag.AUTO)
            self._save_detection(conn, found)
            self._history(conn, found, h.IsolateTag.AUTO.value, "", h.AGENT, now)
            added += 1
        return added

    def whitelist(self, host: Host) -> set[h.WhitelistEntry]:
        w = alarm_whitelist
        with self._read() as conn:
            found = conn.execute(
                select(w.c.field, w.c.value).where(
                    w.c.account_id == host.account_id,
                    w.c.project_id == host.project_id,
                    w.c.enterprise_project_id == host.enterprise_project_id,
                )
            )
            return {h.WhitelistEntry(h.WhitelistField(f), v) for f, v in found}

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
