"""`fleetscan task start | list | cancel`: scan tasks for people at a shell, on the server's database."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import click

from ..core.models import ScanType, Scope, SubtaskView
from ..core.queries import HostFilter, Page, RootFilter
from ..core.service import ControlPlane
from ..core.tasks import TaskRequest
from .options import database_options, one_line_errors, open_plane


def _open(
    data_dir: str, database_url: str | None, create: bool, account: str, project_id: str
) -> tuple[ControlPlane, Scope]:
    """The plane on an existing database (unless `create`), and the scope of a project it knows."""
    plane = open_plane(data_dir, database_url, create=create)
    return plane, plane.existing_scope(account, project_id)


def task_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)
    func = click.option("--project-id", required=True)(func)
    func = click.option("--account", default="default", show_default=True)(func)
    func = click.option("--create", is_flag=True, help="Make the database when it does not exist.")(func)
    return database_options(one_line_errors(func))


def _not_scanned(views: Sequence[SubtaskView]) -> dict[str, int]:
    """Files the task's hosts did not scan, summed by reason (each host's examples are in the HSS host rows)."""
    out: dict[str, int] = {}
    for view in views:
        for n in view.subtask.not_scanned:
            out[n.reason] = out.get(n.reason, 0) + n.count
    return dict(sorted(out.items()))


def _row(plane: ControlPlane, root: Any, views: Sequence[SubtaskView] = ()) -> dict[str, Any]:
    skipped = _not_scanned(views)
    return {
        "task_id": root.task_id,
        "scan_task_id": root.id,
        "name": root.name,
        "scan_type": root.scan_type.value,
        "status": root.status.value,
        "hosts": root.counts.total,
        "progress": root.progress,
        "files_scanned": root.files_scanned,
        "viruses_found": root.viruses_found,
        "not_scanned": sum(skipped.values()),
        "not_scanned_by_reason": skipped,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(root.start_time / 1000)),
    }


@click.group()
def task() -> None:
    """Start, list and cancel scan tasks."""


@task.command()
@task_options
@click.option("--host-id", "host_ids", multiple=True, help="A host to scan (repeatable).")
@click.option("--all-hosts", is_flag=True, help="Scan every host of the project.")
@click.option("--scan-type", type=click.Choice([t.value for t in ScanType]), default="quick", show_default=True)
@click.option("--path", "paths", multiple=True, help="A folder to scan (custom scans; repeatable).")
@click.option("--name", default=None)
def start(
    data_dir: str,
    database_url: str | None,
    create: bool,
    account: str,
    project_id: str,
    as_json: bool,
    host_ids: tuple[str, ...],
    all_hosts: bool,
    scan_type: str,
    paths: tuple[str, ...],
    name: str | None,
) -> None:
    """Start a scan now on some hosts."""
    plane, scope = _open(data_dir, database_url, create, account, project_id)
    if all_hosts:
        host_ids = tuple(h.host_id for h in plane.list_hosts(scope, HostFilter(), Page(0, 10_000))[1])
    if not host_ids:
        raise click.UsageError("name hosts with --host-id, or use --all-hosts")
    if scan_type == "custom" and not paths:
        raise click.UsageError("a custom scan needs --path")
    label = name or f"{scan_type.capitalize()} Scan-{time.strftime('%Y%m%d%H%M%S')}"
    plan = plane.create_task(scope, TaskRequest(label, ScanType(scan_type), host_ids=host_ids, scan_paths=list(paths)))
    if as_json:
        click.echo(json.dumps({**_row(plane, plan.root), "missing_host_ids": plan.missing_host_ids}))
    else:
        click.echo(f"started {plan.root.task_id} (scan task id {plan.root.id}) on {plan.root.counts.total} host(s)")


@task.command("list")
@task_options
@click.option("--limit", default=20, show_default=True)
def list_(
    data_dir: str, database_url: str | None, create: bool, account: str, project_id: str, as_json: bool, limit: int
) -> None:
    """The newest tasks first."""
    plane, scope = _open(data_dir, database_url, create, account, project_id)
    total, roots = plane.list_roots(scope, RootFilter(), Page(0, limit))
    views = plane.subtasks_of(scope, roots)
    rows = [_row(plane, r, views.get(r.id, [])) for r in roots]
    # The project signature versions each task's findings were made with (core/signature_sets.py).
    versions = plane.signature_versions_of_roots([r.id for r in roots])
    for row, root in zip(rows, roots, strict=True):
        row["signature_versions"] = versions.get(root.id, [])
    if as_json:
        click.echo(json.dumps({"total": total, "tasks": rows}))
        return
    for r in rows:
        click.echo(
            f"{r['task_id']}  {r['status']:<10} {r['progress']:>3}%  hosts {r['hosts']:<4} "
            f"files {r['files_scanned']:<8} viruses {r['viruses_found']:<4} {r['started']}  {r['name']}"
        )
        if r["not_scanned"]:
            reasons = ", ".join(f"{n} {reason}" for reason, n in r["not_scanned_by_reason"].items())
            click.echo(f"    not scanned: {r['not_scanned']} ({reasons})")
    click.echo(f"{total} task(s)")


@task.command()
@task_options
@click.argument("task_id")
def cancel(
    data_dir: str, database_url: str | None, create: bool, account: str, project_id: str, as_json: bool, task_id: str
) -> None:
    """Cancel every unfinished host of a task."""
    plane, scope = _open(data_dir, database_url, create, account, project_id)
    root = plane.cancel(scope, task_id)
    click.echo(json.dumps(_row(plane, root)) if as_json else f"{task_id}: {root.status.value}")
