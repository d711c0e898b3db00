"""Statements of an agent report's hot path, compiled once and run on the database driver's own cursor.

A report runs half a dozen small statements. Through `Connection.execute` each costs about 50 µs of Python
(execution context, parameter and result processing) for 10 µs of work in the driver; at 20,000 agents that was
most of the server's CPU (`bench/fleet.py` with py-spy). So these few statements are still written with SQLAlchemy
Core, but compiled once per dialect and executed on the DBAPI cursor of the same connection, inside the same
transaction. What SQLAlchemy's types did is done here for the only types they carry: integers and strings pass as
they are, booleans as SQLite's integers, and JSON columns through `DriverStatement.json`.

Savepoints are the same story: `savepoint` is SAVEPOINT, RELEASE and ROLLBACK TO on the cursor, without the
bookkeeping of `Connection.begin_nested`, for the reports of a batch that are written one by one.

On PostgreSQL each statement is also a round trip, and a report batch's statements hold its root tasks' row locks
from the first to COMMIT: every round trip in between is time another worker's batch waits for those rows.
`Pipeline` sends several statements at once (psycopg's pipeline mode), BEGIN and COMMIT among them.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

__all__ = ["DriverStatement", "Pipeline", "savepoint"]

# SQLite's default paramstyle is `?`; the named one lets every statement take the same dict on both backends.
_SQLITE_NAMED = sqlite.dialect(paramstyle="named")
_names = itertools.count()


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


class DriverStatement:
    """One Core statement, compiled for the engine's dialect, run with a dict of parameters on the driver cursor."""

    def __init__(self, stmt: ClauseElement, engine: Engine, json_columns: frozenset[str] = frozenset()) -> None:
        self.is_sqlite = engine.dialect.name == "sqlite"
        compiled = stmt.compile(dialect=_SQLITE_NAMED if self.is_sqlite else engine.dialect)
        self.sql = str(compiled)
        # values written into the statement itself (`.values(x=0)`) are parameters too once compiled
        self.fixed = {name: value for name, value in compiled.params.items() if value is not None}
        self.json_columns = json_columns  # bound and returned as JSON

    def json(self, value: Any) -> Any:
        """A JSON parameter as the driver takes it: text for SQLite, psycopg's Json wrapper for PostgreSQL."""
        if value is None:
            return None
        if self.is_sqlite:
            return json.dumps(value, separators=(",", ":"))
        from psycopg.types.json import Json

        return Json(value)

    def run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The executed cursor (rows to fetch, if the statement returns any)."""
        cursor = _cursor(conn)
        _execute(conn, cursor, self.sql, self._bound(params))
        return cursor

    def run_many(self, conn: Connection, many: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per parameter dict: the driver's executemany (on PostgreSQL, one round trip for
        all, or none of its own inside a `Pipeline`)."""
        if many:
            _execute(conn, _cursor(conn), self.sql, [self._bound(params) for params in many], many=True)

    def _bound(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.fixed:
            params = {**self.fixed, **params}
        if self.json_columns:
            params = {k: self.json(v) if k in self.json_columns else v for k, v in params.items()}
        return params

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a dict by column name (JSON columns decoded), or None."""
        found = self.all(conn, params, limit=1)
        return found[0] if found else None

    def all(self, conn: Connection, params: Mapping[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        """The rows (the first `limit` of them) as dicts by column name, JSON columns decoded."""
        return self.rows(self.run(conn, params), limit)

    def rows(self, cursor: Any, limit: int | None = None) -> list[dict[str, Any]]:
        """`all` of a cursor `run` returned: in a `Pipeline`, statements are all run first and read afterwards."""
        found = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
        if not found:
            return []
        names = [d[0] for d in cursor.description]
        decoded = self.json_columns.intersection(names)
        out = [dict(zip(names, row, strict=True)) for row in found]
        for row in out:
            for name in decoded:
                if isinstance(row[name], str):  # SQLite hands JSON back as text; psycopg decodes it itself
                    row[name] = json.loads(row[name])
        return out


def _execute(conn: Connection, cursor: Any, sql: str, params: Any = None, many: bool = False) -> None:
    """The driver's errors raised as SQLAlchemy raises them (`DBAPIError` and its kinds, such as
    `OperationalError` for a deadlock): callers tell the database's trouble from a report's own by those."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params) if params is not None else cursor.execute(sql)
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, dialect=conn.dialect) from exc


@contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """The block's writes kept when it returns, undone when it raises (the exception goes on to the caller)."""
    name = f"fs_{next(_names)}"
    cursor = _cursor(conn)
    _execute(conn, cursor, f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        _execute(conn, cursor, f"ROLLBACK TO SAVEPOINT {name}")
        _execute(conn, cursor, f"RELEASE SAVEPOINT {name}")
        raise
    _execute(conn, cursor, f"RELEASE SAVEPOINT {name}")


class Pipeline:
    """A write transaction whose statements go to PostgreSQL several at a time: `together` sends its block's
    statements in one pipeline, their results read when the first is fetched (one round trip for all).

    psycopg sends a BEGIN of its own before a transaction's first statement and waits for it, pipeline or not. So
    the connection (`base.SqlBase._write_pipelined`) is in autocommit mode and BEGIN is a statement of ours, sent
    with the first block; `together(commit=True)` sends COMMIT with the last. A transaction not committed so is
    committed (or rolled back) by SQLAlchemy as any other: psycopg sends COMMIT as long as the server is in a
    transaction. On SQLite, which has no round trips, blocks run as they are in SQLAlchemy's own transaction.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_sqlite = conn.dialect.name == "sqlite"
        self._begun = self.is_sqlite  # SQLite's BEGIN IMMEDIATE is SQLAlchemy's (storage/engine.py)

    @contextmanager
    def together(self, commit: bool = False) -> Iterator[None]:
        """The block's statements (and BEGIN before the first block; COMMIT after it with `commit`) in one pipeline.

        Errors of the database come out of a pipeline when results are read or at its end: they are raised as
        SQLAlchemy's (`DBAPIError`), as `_execute` raises them, whichever statement they belong to."""
        if self.is_sqlite:
            yield
            return
        dbapi = self.conn.dialect.loaded_dbapi
        raw = self.conn.connection.driver_connection
        try:
            with raw.pipeline():  # type: ignore[union-attr]
                cursor = _cursor(self.conn)
                if not self._begun:
                    cursor.execute("BEGIN")
                    self._begun = True
                yield
                if commit:
                    cursor.execute("COMMIT")
        except dbapi.Error as exc:
            raise DBAPIError.instance("(pipeline)", None, exc, dbapi.Error, dialect=self.conn.dialect) from exc
