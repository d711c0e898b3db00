"""`fleetscan signatures add | list | remove`: the signature sets the server hands its agents.

Each change makes a new immutable version of the project's sets (core/signature_sets.py); agents pick it up with
their next `/work` and scan with it from their next scan, without a restart.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..core.errors import DomainError
from ..core.signature_sets import SignatureVersion, describe
from .options import database_options, open_plane


def signature_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)
    func = click.option("--project-id", required=True)(func)
    func = click.option("--account", default="default", show_default=True)(func)
    return database_options(func)


def _show(version: SignatureVersion | None, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(describe(version)))
        return
    if version is None:
        click.echo("no signature sets")
        return
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(version.created_at / 1000))
    click.echo(f"version {version.version}  {when}  {len(version.files)} file(s)")
    for name, files in version.sets().items():
        click.echo(f"  {name}")
        for f in files:
            click.echo(f"    {f.name:<40} {f.kind:<7} {f.size:>10}  {f.sha256}")


@click.group()
def signatures() -> None:
    """Add, list and remove the signature sets agents download."""


@signatures.command()
@signature_options
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", "set_name", default=None, help="The set's name (default: the first file's name).")
def add(
    data_dir: str, database_url: str | None, account: str, project_id: str, as_json: bool, files: tuple[Path, ...],
    set_name: str | None,
) -> None:
    """Check FILEs with the engine and store them in a set, as a new version (same-named files replaced)."""
    contents = []
    for path in files:
        try:
            contents.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise click.ClickException(f"{path}: {exc.strerror or exc}") from None
    plane = open_plane(data_dir, database_url)
    try:
        version = plane.add_signatures(plane.project_scope(account, project_id), set_name or files[0].stem, contents)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        _show(version, True)
    else:
        click.echo(f"version {version.version}: {len(files)} file(s) in set {set_name or files[0].stem}")


@signatures.command("list")
@signature_options
def list_(data_dir: str, database_url: str | None, account: str, project_id: str, as_json: bool) -> None:
    """The project's newest version and its sets."""
    plane = open_plane(data_dir, database_url)
    _show(plane.signature_version(plane.project_scope(account, project_id)), as_json)


@signatures.command()
@signature_options
@click.argument("name")
def remove(data_dir: str, database_url: str | None, account: str, project_id: str, as_json: bool, name: str) -> None:
    """A new version without the set NAME."""
    plane = open_plane(data_dir, database_url)
    try:
        version = plane.remove_signature_set(plane.project_scope(account, project_id), name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    _show(version, True) if as_json else click.echo(f"version {version.version}: set {name} removed")
