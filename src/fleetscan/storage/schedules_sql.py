"""SQL for the schedules port: periodic scans and their firing, once across replicas."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, insert, select, update

from ..core.models import RootTask, Scope, Subtask
from ..core.queries import Page
from ..core.schedules import Schedule, ScheduleFilter
from . import rows
from .base import SqlBase
from .conditions import contains, scoped
from .schema import (
    schedules,
)
from .tasks_sql import insert_task_rows


class SchedulesSql(SqlBase):
    """core.ports.ScheduleStore."""

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
                insert_task_rows(conn, *task)
        return True
