"""`fleetscan db upgrade`."""

from __future__ import annotations

import click

from .options import database_options, open_plane


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@database_options
def upgrade(data_dir: str, database_url: str | None) -> None:
    """Migrate the database to the newest schema (the server also does this on start)."""
    open_plane(data_dir, database_url)
    click.echo("database is at the newest schema")
