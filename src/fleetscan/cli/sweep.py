"""`fleetscan sweep --sha256 H`: which hosts hold a file, from what the fleet reported and from a scan started now.

The known hosts are answered at once (stored findings); then a hash-only task scans every host of the project
(core/sweep.py) and its findings are printed as they arrive, until the task ends or `--timeout`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ..core.errors import DomainError
from ..core.sweep import SweepHit
from .options import database_options, open_plane


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _line(hit: SweepHit) -> str:
    return f"  {hit.host_name} ({hit.host_id})  {hit.file_path}  sha256:{hit.sha256[:12]}…  {_when(hit.last_seen)}"


@click.command()
@database_options
@click.option("--account", default="default", show_default=True)
@click.option("--project-id", required=True)
@click.option("--sha256", "hashes", multiple=True, required=True, help="A SHA-256 to look for (repeatable).")
@click.option("--host-id", "host_ids", multiple=True, help="Sweep only these hosts (default: every host).")
@click.option("--no-wait", is_flag=True, help="Start the task and return, without waiting for its findings.")
@click.option("--timeout", default=600.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for the task to end.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between looks at the task.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document at the end.")
def sweep(
    data_dir: str, database_url: str | None, account: str, project_id: str, hashes: tuple[str, ...],
    host_ids: tuple[str, ...], no_wait: bool, timeout: float, interval: float, as_json: bool,
) -> None:
    """Sweep the fleet for files by SHA-256: the hosts known to hold them at once, then a hash-only scan's finds."""
    plane = open_plane(data_dir, database_url)
    scope = plane.project_scope(account, project_id)
    try:
        plan, known = plane.start_sweep(scope, hashes, host_ids)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    root, wanted = plan.root, [h.sha256 for h in plan.root.sweep]
    if not as_json:
        click.echo(f"known from earlier scans: {len(known)} file(s)")
        for hit in known:
            click.echo(_line(hit))
        click.echo(f"sweep task {root.task_id} ({root.name}) on {len(plan.subtasks)} host(s)")
    found: dict[tuple[str, str, str], SweepHit] = {}
    status, deadline = root.status.value, time.monotonic() + timeout
    while not no_wait:
        ended = plane.get_root(scope, task_id=root.task_id).status
        for hit in plane.sweep_found(scope, root.task_id, wanted):  # read after the status: nothing is missed
            key = (hit.sha256, hit.host_id, hit.file_path)
            if key not in found:
                found[key] = hit
                if not as_json:
                    click.echo("found" + _line(hit)[1:])
        status = ended.value
        if ended.terminal or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    result: dict[str, Any] = {
        "task_id": root.task_id,
        "name": root.name,
        "sha256": wanted,
        "hosts": len(plan.subtasks),
        "known": [h.as_dict() for h in known],
        "found": [h.as_dict() for h in found.values()],
        "status": status,
        "waited": not no_wait,
    }
    if as_json:
        click.echo(json.dumps(result))
    elif not no_wait:
        holding = len({h.host_id for h in found.values()})
        click.echo(f"task {status}: {len(found)} file(s) on {holding} host(s)")
