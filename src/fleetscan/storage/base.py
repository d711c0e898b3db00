"""The plumbing every storage area shares: one engine, read and write transactions, dialect-neutral upserts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, select
from sqlalchemy.dialects import postgresql, sqlite

from ..core.models import RootTask
from . import rows
from .checkpoint import Checkpointer
from .driver import Pipeline
from .schema import hosts, root_tasks, subtasks
from .writer_lock import WriterLock

T = TypeVar("T")

IDS_PER_READ = 500  # ids per IN list: within SQLite's bound on parameters, and a plan that stays an index read


def id_chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """The distinct ids, sorted, in IN lists of at most IDS_PER_READ (credentials and subtasks read in bulk)."""
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), IDS_PER_READ):
        yield wanted[i : i + IDS_PER_READ]


def _lock_file(engine: Engine) -> str | None:
    """The writer lock's file beside an SQLite database file (where SQLite keeps its -wal and -shm too)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + "-writer.lock"


class SqlBase:
    """What each area's mixin (access, hosts, tasks, ...) builds on; SqlStorage composes the areas."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        # SQLite has one writer at a time: threads and processes queue here rather than in SQLite's busy
        # handler, which sleeps and retries (milliseconds of latency each time, and the GIL passed around).
        self._one_writer: contextlib.AbstractContextManager[None] = (
            WriterLock(_lock_file(engine)) if self.is_sqlite else contextlib.nullcontext()
        )
        self._checkpointer: Checkpointer | None = None
        self._shared = threading.local()  # the read transaction of `reading`, per thread

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        # Inside `reading`: the one read transaction.
        joined: Connection | None = getattr(self._shared, "read", None)
        if joined is not None:
            yield joined
            return
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Every read this thread makes in the block shares one transaction: one connection checkout, one BEGIN
        and one COMMIT for an answer made of several reads (an agent's `/work`). A write ends the shared read
        first (later reads have their own again): holding a pooled connection while waiting for another to write
        with could exhaust the pool, and an SQLite read cannot safely become a write."""
        if getattr(self._shared, "read", None) is not None:
            yield
            return
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(self.engine.connect())
            stack.enter_context(conn.begin())
            self._shared.read, self._shared.read_end = conn, stack.pop_all()
        try:
            yield
        finally:
            self._end_shared_read()

    def _end_shared_read(self) -> None:
        end: contextlib.ExitStack | None = getattr(self._shared, "read_end", None)
        self._shared.read, self._shared.read_end = None, None
        if end is not None:
            end.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        self._end_shared_read()
        with self._one_writer, self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _write_pipelined(self) -> Iterator[tuple[Connection, Pipeline]]:
        """`_write` for statements sent several at a time (driver.Pipeline): the block's first statements must be
        in `Pipeline.together`, whose BEGIN the transaction starts with. On PostgreSQL the connection is in
        autocommit mode for the block (psycopg then sends no BEGIN of its own) and back out of it when returned to
        the pool; one that cannot be is discarded."""
        if self.is_sqlite:
            with self._write() as conn:
                yield conn, Pipeline(conn)
            return
        self._end_shared_read()
        with self._one_writer, self._writer.connect() as conn:
            raw: Any = conn.connection.driver_connection
            raw.autocommit = True
            try:
                with conn.begin():
                    yield conn, Pipeline(conn)
            finally:
                try:
                    raw.autocommit = False
                except Exception:  # noqa: BLE001 - broken, or still in a transaction: not for the pool
                    conn.invalidate()

    def _built(self, name: str, build: Callable[[], T]) -> T:
        """Statements of a hot path built once per storage (`driver.DriverStatement`): building one costs more
        than running it, many times a second."""
        key = "built:" + name  # not an attribute's name: nothing it could shadow
        found: T | None = self.__dict__.get(key)
        if found is None:
            found = self.__dict__[key] = build()
        return found

    def _insert_ignore(self, table: Any) -> Any:
        dialect = sqlite if self.is_sqlite else postgresql
        return dialect.insert(table).on_conflict_do_nothing()

    @staticmethod
    def _inserted(conn: Connection, stmt: Any) -> bool:
        """Whether an insert-or-ignore wrote its row (rowcount is not reliable for this on every driver)."""
        return conn.execute(stmt).first() is not None

    def _lock(self, stmt: Select[Any]) -> Select[Any]:
        return stmt if self.is_sqlite else stmt.with_for_update()

    def start_checkpoints(self) -> None:
        """SQLite's WAL checkpoints in a thread of their own from now on (storage/checkpoint.py)."""
        if self.is_sqlite and self._checkpointer is None and _lock_file(self.engine) is not None:
            self._checkpointer = Checkpointer(self.engine).start()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    @staticmethod
    def _subtask_host_columns() -> list[Any]:
        return [*subtasks.c, *(c.label("h_" + c.name) for c in hosts.c)]

    def _load_roots(self, conn: Connection, ids: set[int]) -> dict[int, RootTask]:
        if not ids:
            return {}
        found = conn.execute(select(root_tasks).where(root_tasks.c.id.in_(sorted(ids))))
        return {r.id: rows.root(r._mapping) for r in found}
