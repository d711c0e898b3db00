"""SQL for the listings port: pages of root tasks and of hosts' parts in them, as core.listing's rows.

Each page is one read transaction (so its total and its rows agree) of at most three SELECTs: the count,
the page, and for HSS the page's subtasks joined with their hosts. Only the columns a listing renders are
selected, and each SQL row becomes its named tuple whole, with no per-field step (the HSS page's up to
2,000 task hosts straight from the driver's tuples: `_task_host_rows`). The filters
and the tenant rule are the tasks port's own (`_root_conditions`, `scoped`), and a caller limited to some
enterprise projects sees each task's totals over its own hosts only, as `_as_seen` shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import astuple
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Connection, CursorResult, Integer, Text, func, select, type_coerce

from ..core.listing import TASK_ROOT_COUNTS, MachineRow, TaskHost, TaskPage, TaskRoot
from ..core.models import Scope
from ..core.queries import HostMatch, Page, RootFilter, SubtaskFilter
from ..core.states import summarize
from .conditions import scoped
from .schema import hosts, root_tasks, subtasks
from .tasks_sql import TasksSql

_ROOT_COLUMNS = [
    *(root_tasks.c[name] for name in TaskRoot._fields[:12]),
    root_tasks.c.status,
    root_tasks.c.progress,
    *(root_tasks.c[name] for name in TASK_ROOT_COUNTS),
]
_SUBTASK_COLUMNS = [
    *(subtasks.c[name] for name in ("root_id", "subtask_id", "status", "progress", "files_scanned", "viruses_found")),
    *(subtasks.c[name] for name in ("start_time", "end_time", "fail_reason")),
    # As the driver returns them: a result processor's call per row and value cost more than the rest of the row.
    type_coerce(subtasks.c.using_quota, Integer).label("using_quota"),
    type_coerce(subtasks.c.not_scanned, Text).label("not_scanned"),
]
_HOST_COLUMNS = [
    hosts.c[name]
    for name in (
        "host_id name private_ip public_ip asset_value agent_id os_type os_name os_version last_seen stopped_at".split()
    )
]
_TASK_HOST_COLUMNS = [*_SUBTASK_COLUMNS, *_HOST_COLUMNS]
assert [c.name for c in _TASK_HOST_COLUMNS] == ["status" if f == "status_value" else f for f in TaskHost._fields], (
    "the SELECT's columns are TaskHost's fields, in order"
)
assert [c.name for c in _ROOT_COLUMNS] == ["status" if f == "status_value" else f for f in TaskRoot._fields], (
    "the SELECT's columns are TaskRoot's fields, in order"
)


def _task_host_rows(result: CursorResult[Any]) -> list[TaskHost]:
    """A result of `_TASK_HOST_COLUMNS` (no result processor among them) as TaskHost rows, made from the driver's own
    tuples.

    Up to 2,000 rows a page: SQLAlchemy's `Row` around each, and `_make`'s Python frame per row, cost a fifth of
    the query. `tuple.__new__` makes the named tuple in C; the SELECT has TaskHost's fields (asserted above).
    One fetchall either way: iterating steps the cursor one fetchone at a time.
    """
    try:
        return list(map(_new_task_host, result.cursor.fetchall()))
    finally:
        result.close()


_new_task_host: Callable[[tuple[Any, ...]], TaskHost] = partial(tuple.__new__, TaskHost)


class ListingsSql(TasksSql):
    """core.ports.ListingStore, on the tasks port's conditions."""

    def task_page(self, scope: Scope, flt: RootFilter, page: Page, *, with_hosts: bool = False) -> TaskPage:
        conds = self._root_conditions(scope, flt)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(root_tasks).where(*conds)).scalar_one()
            found = conn.execute(
                select(*_ROOT_COLUMNS)
                .where(*conds)
                .order_by(root_tasks.c.start_time.desc(), root_tasks.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            )
            roots = self._seen_rows(conn, scope, [TaskRoot._make(r) for r in found.all()])
            hosts_of = self._task_hosts(conn, scope, roots, flt.hosts) if with_hosts else {}
        return TaskPage(int(total), roots, hosts_of)

    def _task_hosts(
        self, conn: Connection, scope: Scope, roots: Sequence[TaskRoot], match: HostMatch
    ) -> dict[int, list[TaskHost]]:
        """Each root's subtasks on the caller's granted hosts (those `match` matches), in subtask order."""
        out: dict[int, list[TaskHost]] = {r.id: [] for r in roots}
        if not roots:
            return out
        found = conn.execute(
            select(*_TASK_HOST_COLUMNS)
            .select_from(subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk))
            .where(subtasks.c.root_id.in_(sorted(out)), *scoped(scope, hosts), *self._host_match(match))
            .order_by(subtasks.c.root_id, subtasks.c.id)
        )
        for row in _task_host_rows(found):
            out[row.root_id].append(row)
        return out

    def _seen_rows(self, conn: Connection, scope: Scope, roots: list[TaskRoot]) -> list[TaskRoot]:
        """`roots` with the totals a caller limited to some enterprise projects sees (see TasksSql._as_seen)."""
        if scope.enterprise_project_ids is None or not roots:
            return roots
        totals = self._totals(conn, [r.id for r in roots], scoped(scope, hosts))
        out = []
        for root in roots:
            seen = totals.get(root.id, summarize(()))
            shown = root._replace(status_value=seen.status.value, progress=seen.progress, end_time=seen.end_time)
            out.append(TaskRoot._make((*shown[:-7], *astuple(seen.counts))))
        return out

    def machine_page(self, scope: Scope, flt: SubtaskFilter, page: Page) -> tuple[int, list[MachineRow]]:
        conds: list[ColumnElement[bool]] = [
            *scoped(scope, root_tasks, enterprise_project=hosts.c.enterprise_project_id),
            *self._host_match(flt.hosts),
        ]
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
        width = len(_TASK_HOST_COLUMNS)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            found = conn.execute(
                select(*_TASK_HOST_COLUMNS, root_tasks.c.origin, root_tasks.c.scan_paths, root_tasks.c.start_time)
                .select_from(joined)
                .where(*conds)
                .order_by(root_tasks.c.start_time.desc(), subtasks.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            )
            machines = [MachineRow(TaskHost._make(r[:width]), *r[width:]) for r in found.all()]
        return int(total), machines
