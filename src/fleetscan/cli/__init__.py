"""The `fleetscan` command line."""

from __future__ import annotations

import click

from .admin import admin
from .agent import agent
from .db import db
from .server import run, server
from .task import task


@click.group()
@click.version_option(package_name="fleetscan")
def main() -> None:
    """fleetscan: antivirus control plane, agent and scanner."""


main.add_command(server)
main.add_command(run)
main.add_command(db)
main.add_command(admin)
main.add_command(agent)
main.add_command(task)

try:  # the scanner's command arrives with the engine package
    from .scan import scan

    main.add_command(scan)
except ImportError:  # pragma: no cover
    pass
