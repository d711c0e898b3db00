"""`/healthz` answers whatever the database does; `/readyz` follows the database: reachable and at the schema."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import scrape, value
from tests.support.postgres import PostgresServer
from tests.support.server import ServerProcess

Outage = tuple[str, Callable[[], None], Callable[[], None]]


@pytest.fixture
def outage(backend: str, tmp_path: Path) -> Iterator[Outage]:
    """A database of its own, and how to take it away and bring it back."""
    if backend == "sqlite":
        files = [tmp_path / name for name in ("fleetscan.db", "fleetscan.db-wal", "fleetscan.db-shm")]

        def move(there: bool) -> None:
            for path in files:
                src, dst = (
                    (path, path.with_name(path.name + ".away"))
                    if there
                    else (
                        path.with_name(path.name + ".away"),
                        path,
                    )
                )
                if src.exists():
                    src.rename(dst)

        yield f"sqlite:///{files[0]}", lambda: move(True), lambda: move(False)
        return
    postgres = PostgresServer()  # its own cluster: the session's stays up for the other tests
    postgres.start()
    try:
        yield postgres.new_database(), postgres.pause, postgres.resume
    finally:
        postgres.stop()


def ready(server: ServerProcess) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=30)


def alive(server: ServerProcess) -> int:
    return httpx.get(f"{server.url}/healthz", timeout=30).status_code


def eventually_ready(server: ServerProcess) -> httpx.Response:
    deadline = time.monotonic() + 60
    while (reply := ready(server)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    return reply


def test_readyz_fails_while_the_database_is_gone_and_healthz_does_not(backend: str, outage: Outage) -> None:
    database_url, take_away, bring_back = outage
    server = ServerProcess(database_url, workers=None).start()  # the CLI's default: a worker per core
    try:
        assert len(server.worker_pids()) == (os.cpu_count() or 1) or os.cpu_count() == 1
        assert ready(server).json() == {"status": "ready"}
        assert alive(server) == 200

        take_away()
        for _ in range(4):  # whichever worker answers
            reply = ready(server)
            assert reply.status_code == 503, reply.text
            assert reply.json()["status"] == "unavailable"
            assert reply.json()["reason"].startswith("database unreachable"), reply.json()
            assert alive(server) == 200
        if backend == "postgresql":  # (a SQLite file moved away stays open in the server: its data still answers)
            metrics = scrape(server)
            assert value(metrics, "fleetscan_database_up") == 0
            assert value(metrics, "fleetscan_database_errors_total", kind="OperationalError") > 0

        bring_back()
        assert eventually_ready(server).json() == {"status": "ready"}
        assert alive(server) == 200
        assert value(scrape(server), "fleetscan_database_up") == 1
    finally:
        server.stop()


def test_readyz_fails_while_the_schema_is_behind(tmp_path: Path) -> None:
    database = tmp_path / "fleetscan.db"
    server = ServerProcess(f"sqlite:///{database}").start()
    try:
        with sqlite3.connect(database) as db:
            (head,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
            db.execute("UPDATE alembic_version SET version_num = '0001_initial_schema'")
        reply = ready(server)
        assert reply.status_code == 503
        assert reply.json()["reason"] == f"database schema at 0001_initial_schema; this server needs {head}"
        with sqlite3.connect(database) as db:
            db.execute("UPDATE alembic_version SET version_num = ?", (head,))
        assert ready(server).status_code == 200
    finally:
        server.stop()
