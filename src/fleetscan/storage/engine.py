"""Which database a command opens, and the engine settings each backend needs (SQLite WAL, PostgreSQL pool)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc

from .checkpoint import CHECKPOINT_SAFETY_PAGES


def database_url(data_dir: str | Path | None, url: str | None) -> str:
    """The URL a command uses: an explicit URL wins, else an SQLite file in the data folder."""
    if url:
        return url
    folder = Path(data_dir or "./data").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'fleetscan.db'}"


SQLITE_POOL_SIZE = 40
POSTGRES_POOL_SIZE = 20  # connections per server process
PING_AFTER_IDLE_SECONDS = 1.0  # a PostgreSQL connection idle this long in the pool is checked before it is lent


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # LIFO: the connection used last goes out next, so a request finds the caches a connection keeps warm (SQLite's
    # page cache, PostgreSQL's prepared statements) instead of a colder one queued behind it (bench/api_list.py).
    if not url.startswith("sqlite"):
        # A fixed pool, no overflow: an overflow connection is closed when it is returned, and each new one costs
        # PostgreSQL a backend process; under load that churn was the largest cost of a report (bench/fleet.py).
        # Threads beyond the pool wait their turn. docs/deployment.md sizes max_connections from this.
        engine = create_engine(url, pool_size=POSTGRES_POOL_SIZE, max_overflow=0, pool_timeout=60, pool_use_lifo=True)
        _ping_when_idle(engine)
        return engine
    # As many pooled connections as the server has worker threads (anyio's 40): a smaller pool closes and reopens
    # a connection (and its PRAGMAs) whenever a burst overflows it, which was a tenth of a loaded server's time.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=8,
        pool_use_lifo=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN be ours, so that writers can take the lock up front (BEGIN IMMEDIATE)
        # instead of failing with "database is locked" when a read lock cannot be upgraded.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_SAFETY_PAGES}")  # checkpoints: storage/checkpoint.py
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A pooled PostgreSQL connection that sat idle is checked before it is lent; one in use a moment ago is not.

    SQLAlchemy's `pool_pre_ping` checks every checkout: a round trip (BEGIN and SELECT 1 on psycopg) before each
    transaction, a sixth of a report batch's round trips under load (bench/fleet.py). A connection that served a
    request within the last second is as good as checked; one that waited longer (a database restarted in the
    meantime) is checked, and replaced when it fails (SQLAlchemy retries a checkout refused with
    DisconnectionError on a new connection). A connection that fails in use is caught by SQLAlchemy's own
    disconnect handling, which recycles the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            dbapi_connection.autocommit = True  # no transaction left open by the check
            try:
                dbapi_connection.execute("SELECT 1")
            finally:
                dbapi_connection.autocommit = False
        except Exception as error:  # noqa: BLE001 - any failure: this connection is not to be lent
            raise exc.DisconnectionError(f"pooled connection failed its check: {error}") from error
