"""Options every command that touches the database shares, with their environment variables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..core.service import ControlPlane
from ..storage.sql import database_url as resolve_url
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


def open_plane(data_dir: str, database_url: str | None) -> ControlPlane:
    """The control plane every command and the server use: storage behind its validation layer."""
    return ControlPlane(validated(open_storage(resolve_url(data_dir, database_url))))
