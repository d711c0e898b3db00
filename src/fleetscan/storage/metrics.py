"""What storage counts about the database: its connection pool and its errors, per server process.

`instrument` hooks SQLAlchemy's pool and error events, so every caller's use of the engine is seen without any
of them knowing. With several worker processes each has its own pool: the gauges are summed over the live
workers (`livesum`), and a dead worker's share is dropped when the server marks it dead.
"""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import QueuePool

__all__ = ["instrument"]

POOL_SIZE: Final = Gauge(
    "fleetscan_database_pool_size",
    "Connections the database pools keep open (SQLAlchemy pool_size; more, up to max_overflow, under load).",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT: Final = Gauge(
    "fleetscan_database_pool_checked_out",
    "Database connections in use by a request or a background job right now.",
    multiprocess_mode="livesum",
)
ERRORS: Final = Counter(
    "fleetscan_database_errors",
    "Errors the database driver raised, by SQLAlchemy's class for them (OperationalError: unreachable, locked, "
    "timed out; IntegrityError: a constraint refused a write).",
    ("kind",),
)


def instrument(engine: Engine) -> None:
    """Count `engine`'s pool use and errors from now on."""
    if isinstance(engine.pool, QueuePool):
        POOL_SIZE.inc(engine.pool.size())

    # The pool also "checks in" a connection whose checkout failed (a database that went away): only a record
    # seen checked out is counted back, so the gauge never drifts below what is really in use.
    out: set[Any] = set()

    @event.listens_for(engine, "checkout")
    def _checkout(_connection: Any, record: Any, _proxy: Any) -> None:
        out.add(record)
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(_connection: Any, record: Any) -> None:
        if record in out:
            out.discard(record)
            POOL_CHECKED_OUT.dec()

    @event.listens_for(engine, "handle_error")
    def _error(context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception
        ERRORS.labels(type(error).__name__ if error is not None else "DBAPIError").inc()
