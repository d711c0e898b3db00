"""SqlStorage: the core's ports (core/ports.py) over SQLAlchemy Core, for SQLite (WAL) and PostgreSQL.

One mixin per port, one module per area (access, hosts, tasks, listings, schedules, detections, alerts, handling,
signatures, monitor), all on the plumbing of base.SqlBase; this module only composes them.
"""

from __future__ import annotations

from .access_sql import AccessSql
from .detections_sql import DetectionsSql
from .engine import make_engine
from .hosts_sql import HostsSql
from .listings_sql import ListingsSql
from .metrics import instrument
from .monitor_sql import MonitorSql
from .schedules_sql import SchedulesSql
from .signatures_sql import SignaturesSql
from .tasks_sql import TasksSql


class SqlStorage(AccessSql, HostsSql, ListingsSql, TasksSql, SchedulesSql, DetectionsSql, SignaturesSql, MonitorSql):
    """Every port on one engine: the core's Storage."""


def open_storage(url: str, *, migrate: bool = True, serving: bool = False) -> SqlStorage:
    """`serving`: a server's process, writing all day: SQLite's checkpoints then run beside its writes
    (storage/checkpoint.py) rather than inside them."""
    storage = SqlStorage(make_engine(url))
    instrument(storage.engine)
    if migrate:
        from .migrate import upgrade

        upgrade(storage.engine)
    if serving:
        storage.start_checkpoints()
    return storage
