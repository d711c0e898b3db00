"""WHERE-clause pieces every listing shares, written once.

The tenant rule lives here: `scoped` is the one condition that keeps a caller to its account, project and
granted enterprise projects. A row that belongs to a host (a subtask, a detection, its handling history, a
quarantined file) is in the enterprise project of that host, never in the one its root task was labelled with:
a task may span several. A root task is visible when one of its subtasks' hosts is (`root_visible`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, exists, select

from ..core.models import Scope
from .schema import hosts, root_enterprise_projects, root_tasks, subtasks


def scoped(scope: Scope, table: Table, *, enterprise_project: Any = None) -> list[ColumnElement[bool]]:
    """Rows of `table` in the caller's account and project, in an enterprise project the caller is granted.

    `enterprise_project` is the column that decides: by default `table`'s own (hosts, schedules); for rows that
    belong to a host, `hosts.c.enterprise_project_id` of the host the query joins.
    """
    conds: list[ColumnElement[bool]] = [
        table.c.account_id == scope.account_id,
        table.c.project_id == scope.project_id,
    ]
    if scope.enterprise_project_ids is not None:
        column = table.c.enterprise_project_id if enterprise_project is None else enterprise_project
        conds.append(column.in_(sorted(scope.enterprise_project_ids)))
    return conds


def root_visible(
    scope: Scope, host_match: Sequence[ColumnElement[bool]] = (), *, few_hosts: bool = False
) -> list[ColumnElement[bool]]:
    """Root tasks of the caller's project with a subtask on a granted host that matches `host_match`.

    With every enterprise project granted and no host condition, the root's own columns decide, so the
    common listing stays one index range; with some granted, the enterprise projects of the task's hosts
    (`root_enterprise_projects`) do. `few_hosts` (a filter on host names or addresses): find those hosts first,
    then their tasks; other host conditions test each task's subtasks, stopping at the first that matches.
    """
    conds = scoped(scope.whole_project, root_tasks)
    if not host_match:
        if scope.enterprise_project_ids is not None:
            rep = root_enterprise_projects
            granted = rep.c.enterprise_project_id.in_(sorted(scope.enterprise_project_ids))
            conds.append(exists(select(rep.c.root_id).where(rep.c.root_id == root_tasks.c.id, granted)))
        return conds
    on_hosts = [*scoped(scope, hosts), *host_match]
    joined = subtasks.join(hosts, hosts.c.id == subtasks.c.host_pk)
    if few_hosts:
        conds.append(root_tasks.c.id.in_(select(subtasks.c.root_id).select_from(joined).where(*on_hosts)))
    else:
        conds.append(
            exists(select(subtasks.c.id).select_from(joined).where(subtasks.c.root_id == root_tasks.c.id, *on_hosts))
        )
    return conds


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """A substring match, as both consoles filter text; LIKE's own wildcards in `text` match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")  # type: ignore[no-any-return]


def host_conditions(
    *,
    host_id: str | None = None,
    name: str | None = None,
    private_ip: str | None = None,
    public_ip: str | None = None,
) -> list[ColumnElement[bool]]:
    """The host filters of every listing: exact host id, substrings of name and addresses."""
    conds: list[ColumnElement[bool]] = []
    if host_id:
        conds.append(hosts.c.host_id == host_id)
    if name:
        conds.append(contains(hosts.c.name, name))
    if private_ip:
        conds.append(contains(hosts.c.private_ip, private_ip))
    if public_ip:
        conds.append(contains(hosts.c.public_ip, public_ip))
    return conds
