"""`fleetscan task` at a shell: one-line errors and a non-zero exit, never a traceback or a silent empty answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.server import ServerProcess, Tenant, cli


def _task(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetscan", "task", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_unknown_task_and_host_are_one_line_errors(server: ServerProcess, tenant: Tenant) -> None:
    flags = ("--account", tenant.account, "--project-id", tenant.project_id)
    cancel = cli(server.database_url, "task", "cancel", *flags, "nosuchtask")
    assert "nosuchtask" in _one_line_error(cancel)
    start = cli(server.database_url, "task", "start", *flags, "--host-id", "nope")
    assert "host" in _one_line_error(start)


def test_unknown_project_is_refused(server: ServerProcess, tenant: Tenant) -> None:
    known = cli(server.database_url, "task", "list", "--account", tenant.account, "--project-id", tenant.project_id)
    assert known.returncode == 0 and "0 task(s)" in known.stdout
    for flags in (
        ("--account", tenant.account, "--project-id", "nosuchproject"),
        ("--account", "nosuchaccount", "--project-id", tenant.project_id),
    ):
        done = cli(server.database_url, "task", "list", *flags)
        assert "project" in (line := _one_line_error(done)) and "not found" in line


def test_a_missing_database_is_refused_unless_create(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _task("list", "--project-id", "p", cwd=elsewhere)
    assert "no database" in _one_line_error(done)
    assert not (elsewhere / "data").exists()  # nothing was created
    made = _task("list", "--project-id", "p", "--create", cwd=elsewhere)
    assert (elsewhere / "data" / "fleetscan.db").exists()
    assert "not found" in _one_line_error(made)  # a new database knows no project yet
