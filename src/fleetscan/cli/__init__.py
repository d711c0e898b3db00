"""The `fleetscan` command line.

Subcommands are imported only when called: `fleetscan scan` on a host should not pay for importing the
server, SQLAlchemy and the SDK-facing adapters it never uses.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module, attribute, its help's first paragraph, which `fleetscan --help` shows without importing it)
    "server": ("server", "server", "Serve both API dialects and the agent protocol (migrates an empty database "
               "first)."),
    "run": ("server", "run", "The server, a ready access key and a local agent for this machine: everything to try "
            "fleetscan."),
    "db": ("db", "db", "Database maintenance."),
    "admin": ("admin", "admin", "Issue access keys, tokens and agent enrollment tokens; make a TLS "
              "identity."),
    "task": ("task", "task", "Start, list and cancel scan tasks."),
    "signatures": ("signatures", "signatures", "Add, list and remove the signature sets agents download."),
    "sweep": ("sweep", "sweep", "Sweep the fleet for files by SHA-256: the hosts known to hold them at once, then a "
              "hash-only scan's finds."),
    "agent": ("agent", "agent", "Enroll this host (once), then take its scan subtasks, scan, and report until "
              "stopped."),
    "scan": ("scan", "scan", "Scan PATHs (or the quick/full locations) for malware with YARA, hash and ClamAV "
             "signatures."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's command list, written from :data:`COMMANDS`: importing every subcommand (the server pulls in
        Starlette, SQLAlchemy and uvicorn) made ``fleetscan --help`` take 0.6 s. A test keeps the texts equal to
        the commands' own help."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl(
                [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)) for name in names]
            )


@click.group(cls=LazyGroup)
@click.version_option(package_name="fleetscan")
def main() -> None:
    """fleetscan: antivirus control plane, agent and scanner."""
