"""Which database a command opens, and the engine settings each backend needs (SQLite WAL, PostgreSQL pool)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

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


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # LIFO: the connection used last goes out next, so a request finds the caches a connection keeps warm (SQLite's
    # page cache, PostgreSQL's prepared statements) instead of a colder one queued behind it (bench/api_list.py).
    if not url.startswith("sqlite"):
        # A fixed pool, no overflow: an overflow connection is closed when it is returned, and each new one costs
        # PostgreSQL a backend process; under load that churn was the largest cost of a report (bench/fleet.py).
        # Threads beyond the pool wait their turn. docs/deployment.md sizes max_connections from this.
        return create_engine(
            url, pool_size=POSTGRES_POOL_SIZE, max_overflow=0, pool_timeout=60, pool_pre_ping=True, pool_use_lifo=True
        )
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
