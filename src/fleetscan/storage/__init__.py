"""Storage: the core's ports (core/ports.py) on SQLite and PostgreSQL (SQLAlchemy Core + Alembic)."""

from __future__ import annotations

from ..core.ports import Storage, SubtaskChange
from ..core.tasks import ReportOutcome
from .sql import SqlStorage, open_storage

__all__ = ["ReportOutcome", "SqlStorage", "Storage", "SubtaskChange", "open_storage"]
