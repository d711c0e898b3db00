"""Options every command that touches the database shares, with their environment variables."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError

from ..core.errors import DomainError
from ..core.service import ControlPlane
from ..storage.engine import database_url as resolve_url
from ..storage.sql import open_storage
from ..storage.validated import validated

F = TypeVar("F", bound=Callable[..., Any])


def database_options(func: F) -> F:
    func = click.option(
        "--database-url",
        envvar="FLEETSCAN_DATABASE_URL",
        default=None,
        help="SQLAlchemy URL, e.g. postgresql://user@host/db. Wins over --data-dir.",
    )(func)
    func = click.option(
        "--data-dir",
        envvar="FLEETSCAN_DATA_DIR",
        default="./data",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Folder of the embedded SQLite database (and the server's other files).",
    )(func)
    return func


def _sqlite_file(data_dir: str, database_url: str | None) -> Path | None:
    """The SQLite file a command would open, or None for a server database (or SQLite in memory)."""
    if database_url is None:
        return Path(data_dir).resolve() / "fleetscan.db"
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url.removeprefix("sqlite:///"))
    return None


def open_plane(
    data_dir: str, database_url: str | None, *, create: bool = True, migrate: bool = True, serving: bool = False
) -> ControlPlane:
    """The control plane every command and the server use: storage behind its validation layer.

    With `create` False, a database that does not exist is refused rather than made: a command run from
    the wrong folder would otherwise answer from a new, empty database as if it were the server's. With
    `migrate` False the schema is left as it is (a server's workers: their parent migrated it once). `serving`:
    the server's own process (storage.open_storage).
    """
    if not create:
        path = _sqlite_file(data_dir, database_url)
        if path is not None and not path.is_file():
            raise click.ClickException(
                f"no database at {path}: run from the server's folder, pass --data-dir or --database-url, "
                "or --create to make one"
            )
    try:
        storage = open_storage(resolve_url(data_dir, database_url), migrate=migrate, serving=serving)
        return ControlPlane(validated(storage))
    except OperationalError as exc:
        raise click.ClickException(f"cannot open the database: {str(exc.orig).strip().splitlines()[0]}") from None


def migrate_database(data_dir: str, database_url: str | None) -> None:
    """Bring the database to the newest schema and let go of it (a server's parent, before its workers start)."""
    try:
        open_storage(resolve_url(data_dir, database_url)).engine.dispose()
    except OperationalError as exc:
        raise click.ClickException(f"cannot open the database: {str(exc.orig).strip().splitlines()[0]}") from None


def one_line_errors(func: F) -> F:
    """A domain error (unknown task, host or project; a bad value) as click's one-line error and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper  # type: ignore[return-value]
