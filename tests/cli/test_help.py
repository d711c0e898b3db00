"""`fleetscan --help` lists every command without importing them (the server's imports alone take half a second)."""

from __future__ import annotations

import subprocess
import sys

import click

from fleetscan.cli import COMMANDS, main


def test_the_listed_help_is_each_commands_own() -> None:
    ctx = click.Context(main)
    for name, (_, _, listed) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.help is not None
        assert listed == command.help.split("\n\n")[0].replace("\n", " "), name


def test_top_level_help_imports_no_subcommand() -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "fleetscan", "--help"], capture_output=True, text=True, check=True
    )
    assert all(f"  {name} " in out.stdout for name in COMMANDS)
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "fleetscan.cli" in imported
    assert not {f"fleetscan.cli.{module}" for module, _, _ in COMMANDS.values()} & imported
    assert "starlette" not in imported and "sqlalchemy" not in imported
