"""The `fleetscan` command line.

Subcommands are imported only when called: `fleetscan scan` on a host should not pay for importing the
server, SQLAlchemy and the SDK-facing adapters it never uses.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[str, str]] = {
    "server": ("server", "server"),
    "run": ("server", "run"),
    "db": ("db", "db"),
    "admin": ("admin", "admin"),
    "task": ("task", "task"),
    "agent": ("agent", "agent"),
    "scan": ("scan", "scan"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="fleetscan")
def main() -> None:
    """fleetscan: antivirus control plane, agent and scanner."""
