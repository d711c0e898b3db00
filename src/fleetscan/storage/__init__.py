"""Storage: one interface the core calls, with SQLite and PostgreSQL behind it (SQLAlchemy Core + Alembic)."""

from __future__ import annotations

from .interface import ReportOutcome, Storage, SubtaskChange
from .sql import SqlStorage, open_storage

__all__ = ["ReportOutcome", "SqlStorage", "Storage", "SubtaskChange", "open_storage"]
