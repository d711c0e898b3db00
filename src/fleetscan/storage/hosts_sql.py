"""SQL for the hosts port: enrollment, liveness and the host listings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update

from ..core.models import Host, Scope
from ..core.queries import HostFilter, Page
from . import rows
from .base import SqlBase
from .bulk import JsonRows, ids_param, in_ids, rows_param
from .conditions import contains, host_conditions, scoped
from .driver import DriverStatement
from .schema import (
    host_groups,
    hosts,
)


class HostsSql(SqlBase):
    """core.ports.HostStore."""

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
        return self.hosts_by_agents([agent_id]).get(agent_id)

    def hosts_by_agents(self, agent_ids: Sequence[str]) -> dict[str, tuple[Host, str]]:
        if not agent_ids:
            return {}
        with self._read() as conn:
            found = self._of_agents(hosts).all(conn, {"ids": ids_param(agent_ids, self.is_sqlite)})
        return {row["agent_id"]: (rows.host(row), row["agent_secret_hash"]) for row in found}

    def agent_secret_hashes(self, agent_ids: Sequence[str]) -> dict[str, str]:
        if not agent_ids:
            return {}
        stmt = self._of_agents(hosts.c.agent_id, hosts.c.agent_secret_hash)
        with self._read() as conn:
            return dict(stmt.run(conn, {"ids": ids_param(agent_ids, self.is_sqlite)}).fetchall())

    def touch_host(self, host_pk: int, now: int) -> None:
        self.touch_hosts({host_pk: now})

    def touch_hosts(self, seen: Mapping[int, int]) -> None:
        """Many hosts' beats in one transaction of one round trip (storage/bulk.py); `last_seen` never goes back.
        A statement per host passed the GIL around thousands of times while holding SQLite's one write lock, and
        on PostgreSQL was a send and a wake of the backend per host (about 700 a second at 20,000 agents). On
        PostgreSQL the hosts are locked first, in key order, so that two processes flushing the same hosts wait
        on each other and never deadlock, whatever join the UPDATE is planned with."""
        if not seen:
            return
        lock, write = self._beats_statements()
        in_order = sorted(seen.items())
        beats: dict[str, Any] = {"rows": rows_param({"pk": pk, "at": at} for pk, at in in_order)}
        with self._write_pipelined() as (conn, pipeline), pipeline.together(commit=True):
            if lock is not None:  # PostgreSQL
                lock.run(conn, {"rows": rows_param({"id": pk} for pk, _ in in_order)})
                beats["pks"] = [pk for pk, _ in in_order]
            write.run(conn, beats)

    def _beats_statements(self) -> tuple[DriverStatement | None, DriverStatement]:
        """The lock of the beats' hosts (PostgreSQL: in the order sent) and the UPDATE of their `last_seen`."""

        def build() -> tuple[DriverStatement | None, DriverStatement]:
            beats = JsonRows(hosts, ["pk", "at"], self.is_sqlite, extra={"pk": "bigint", "at": "bigint"})
            later = f"hosts.last_seen IS NULL OR hosts.last_seen < {beats.field('at')}"
            if self.is_sqlite:
                return None, DriverStatement(text(beats.update("id", "pk", {"last_seen": "at"}, later)), self.engine)
            # the UPDATE's own lock strength: a report inserted meanwhile (its key's reference to the host) goes on
            lock = JsonRows(hosts, ["id"], self.is_sqlite).matching(["id"], lock="FOR NO KEY UPDATE")
            # `= ANY`: the hosts by their index, not a scan of every host (`bulk.in_ids`)
            where = f"({later}) AND {in_ids('hosts.id', 'pks', self.is_sqlite)}"
            written = beats.update("id", "pk", {"last_seen": "at"}, where)
            return DriverStatement(text(lock), self.engine), DriverStatement(text(written), self.engine)

        return self._built("_beats_statements", build)

    def _of_agents(self, *columns: Any) -> DriverStatement:
        """SELECT of `columns` of the hosts of the agent ids in the JSON array `:ids`: the credentials of every
        agent at once (a restarted server meets each one within a beat; each process checks all it holds every
        few seconds), one statement run on the driver's cursor, not an IN list per 500 built by SQLAlchemy."""
        of_ids = text(in_ids("hosts.agent_id", "ids", self.is_sqlite, integers=False))
        name = "_of_agents:" + ",".join(str(c) for c in columns)
        return self._built(name, lambda: DriverStatement(select(*columns).where(of_ids), self.engine))

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
