"""A local verdict cache: an unchanged file is not scanned again.

A file is unchanged when its (device, inode) still has the same size, mtime and ctime (ctime catches a rewrite
that restored the mtime) and the cache entry was made with the same signature version and scan options. The whole
table for the current key is loaded at start, so a rescan costs a dictionary lookup per file on top of the walk.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

__all__ = ["VerdictCache", "CachedVerdict"]

CachedVerdict = tuple[int, str]
"""(status, JSON payload) as stored."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, version TEXT NOT NULL, status INTEGER NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (dev, ino)
);
CREATE TABLE IF NOT EXISTS totals (scope TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
"""


class VerdictCache:
    """Disabled (every lookup misses) when ``path`` is None."""

    def __init__(self, path: str | os.PathLike[str] | None, version: str) -> None:
        self.version = version
        self._db: sqlite3.Connection | None = None
        self._rows: dict[tuple[int, int], tuple[int, int, int, int, str]] = {}
        self._pending: list[tuple[Any, ...]] = []
        if path is None:
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        cur = self._db.execute(
            "SELECT dev, ino, size, mtime_ns, ctime_ns, status, payload FROM verdicts WHERE version = ?", (version,)
        )
        self._rows = {(r[0], r[1]): (r[2], r[3], r[4], r[5], r[6]) for r in cur}

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> CachedVerdict | None:
        row = self._rows.get((dev, ino))
        if row is None or row[0] != size or row[1] != mtime_ns or row[2] != ctime_ns:
            return None
        return row[3], row[4]

    def put(self, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int, status: int, payload: Any) -> None:
        if self._db is None:
            return
        self._pending.append((dev, ino, size, mtime_ns, ctime_ns, self.version, status, json.dumps(payload)))
        if len(self._pending) >= 5000:
            self.flush()

    def flush(self) -> None:
        if self._db is None or not self._pending:
            return
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._pending)
        self._pending.clear()

    def totals(self, scope: str) -> tuple[int, int] | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT files, bytes FROM totals WHERE scope = ?", (scope,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_totals(self, scope: str, files: int, nbytes: int) -> None:
        if self._db is None:
            return
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO totals VALUES (?, ?, ?)", (scope, files, nbytes))

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
