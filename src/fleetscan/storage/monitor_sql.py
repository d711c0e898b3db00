"""SQL for what `/metrics` and `/readyz` read (core/ports.MonitorStore). A mixin of SqlStorage.

The fleet's gauges are one statement of three one-row aggregates joined together, so a scrape costs one round
trip: the hosts (enrolled, online), the subtasks by state summed from the root tasks' totals (one row per task,
not per host), and the in-flight subtasks of tasks not yet ended (found through their tasks, so the cost follows
the work in progress, not the history).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy import and_, case, func, or_, select, text, true
from sqlalchemy.exc import SQLAlchemyError

from ..core.monitoring import IN_FLIGHT, FleetGauges
from ..core.states import RootStatus, SubtaskStatus
from .base import SqlBase
from .migrate import alembic_config
from .schema import hosts, root_tasks, subtasks

_OPEN_ROOTS = sorted(s.value for s in (RootStatus.PENDING, RootStatus.RUNNING))
_IN_FLIGHT = sorted(s.value for s in IN_FLIGHT)
_SCHEMA_QUERY = "SELECT version_num FROM alembic_version"


@functools.cache
def schema_head() -> str | None:
    """The newest migration this server knows: what a ready database's schema is at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]


class MonitorSql(SqlBase):
    """core.ports.MonitorStore."""

    def fleet_gauges(self, now: int, online_since: int, delay_thresholds_ms: Sequence[int]) -> FleetGauges:
        online = and_(
            hosts.c.last_seen >= online_since,
            or_(hosts.c.stopped_at.is_(None), hosts.c.stopped_at < hosts.c.last_seen),
        )
        agents = select(
            func.count().label("enrolled"), func.coalesce(func.sum(case((online, 1), else_=0)), 0).label("online")
        ).subquery()
        states = select(
            *(func.coalesce(func.sum(root_tasks.c[f"n_{s.value}"]), 0).label(s.value) for s in SubtaskStatus)
        ).subquery()
        waited = [
            func.coalesce(func.sum(case((subtasks.c.updated_at < now - ms, 1), else_=0)), 0).label(f"over_{i}")
            for i, ms in enumerate(delay_thresholds_ms)
        ]
        in_flight = (
            select(func.min(subtasks.c.updated_at).label("oldest"), *waited)
            .select_from(subtasks.join(root_tasks, root_tasks.c.id == subtasks.c.root_id))
            .where(root_tasks.c.status.in_(_OPEN_ROOTS), subtasks.c.status.in_(_IN_FLIGHT))
            .subquery()
        )
        query = select(agents, states, in_flight).select_from(agents.join(states, true()).join(in_flight, true()))
        with self._read() as conn:
            row = conn.execute(query).one()._mapping
        oldest = row["oldest"]
        return FleetGauges(
            agents_enrolled=int(row["enrolled"]),
            agents_online=int(row["online"]),
            subtasks={s: int(row[s.value]) for s in SubtaskStatus},
            delayed={ms // 1000: int(row[f"over_{i}"]) for i, ms in enumerate(delay_thresholds_ms)},
            longest_delay_ms=max(0, now - int(oldest)) if oldest is not None else 0,
        )

    def readiness(self) -> str | None:
        try:
            versions = self._schema_versions()
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            return f"database unreachable: {_first_line(exc)}"
        head = schema_head()
        if versions != [head]:
            return f"database schema at {', '.join(versions) or 'none'}; this server needs {head}"
        return None

    def _schema_versions(self) -> list[str]:
        """Read on a new connection for SQLite: a pooled one keeps reading a file deleted or moved away; PostgreSQL's
        pool checks a connection that sat idle before lending it (storage/engine.py)."""
        if not self.is_sqlite:
            with self._read() as conn:
                return [str(v) for v in conn.execute(text(_SCHEMA_QUERY)).scalars()]
        path = self.engine.url.database or ""
        if path in ("", ":memory:"):
            with self._read() as conn:
                return [str(v) for v in conn.execute(text(_SCHEMA_QUERY)).scalars()]
        # mode=rw: a file that is not there is an error, never a new empty database.
        probe = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=5)
        try:
            return [str(v) for (v,) in probe.execute(_SCHEMA_QUERY).fetchall()]
        finally:
            probe.close()
