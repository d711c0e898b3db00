"""A local verdict cache: an unchanged file is not scanned again.

A file is unchanged when its (device, inode) still has the same size, mtime and ctime (ctime catches a rewrite
that restored the mtime) and the entry was made under the same key: signature version and scan options.

A rescan must cost little more than listing the tree, so the whole table for a key is one pickled row of a SQLite
file, read in one query. Nearly every file is clean, and a clean file is kept as one integer stamp per inode, which
is what makes that row small and quick to load (5 ms for 50,000 files, against 60 ms for a row per file). The few
other verdicts keep their payload. SQLite keeps the file consistent across a crash and between scans running at
once: a write merges what changed since the row was read into the row as it is now.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import time
from typing import Any

from .results import CLEAN

__all__ = ["VerdictCache", "CachedVerdict", "stamp"]

CachedVerdict = tuple[int, str]
"""(status, JSON payload) as stored."""

_CLEAN_VERDICT: CachedVerdict = (CLEAN, "[[], null, \"\"]")
_SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tables (
    key TEXT PRIMARY KEY, generation INTEGER NOT NULL, used_at REAL NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (scope TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
"""
#: Tables kept for other keys (older signature versions, other options), most recently used first.
KEEP_KEYS = 4
#: Seconds between writes while a scan runs: each write rewrites the whole table, so it must not follow every file.
FLUSH_INTERVAL = 30.0
_M64 = (1 << 64) - 1

Clean = dict[int, dict[int, int]]
"""device -> inode -> stamp"""
Other = dict[tuple[int, int], tuple[int, int, str]]
"""(device, inode) -> (stamp, status, JSON payload)"""


def stamp(size: int, mtime_ns: int, ctime_ns: int) -> int:
    """One integer that is equal exactly when all three are (each fits in 64 bits, negative times included)."""
    return ((size & _M64) << 128) | ((mtime_ns & _M64) << 64) | (ctime_ns & _M64)


class VerdictCache:
    """Disabled (every lookup misses) when ``path`` is None."""

    def __init__(self, path: str | os.PathLike[str] | None, key: str) -> None:
        self.key = key
        self._db: sqlite3.Connection | None = None
        self._clean: Clean = {}
        self._other: Other = {}
        self._new_clean: Clean = {}
        self._new_other: Other = {}
        self._generation = 0
        self._flushed_at = time.monotonic()
        if path is None:
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if self._db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
            self._db.executescript(
                "BEGIN IMMEDIATE; DROP TABLE IF EXISTS verdicts; DROP TABLE IF EXISTS tables;"
                f"DROP TABLE IF EXISTS totals; {_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;"
            )
        row = self._db.execute("SELECT generation, data FROM tables WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self._generation, (self._clean, self._other) = row[0], _loads(row[1])

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def __len__(self) -> int:
        return sum(len(d) for d in self._clean.values()) + len(self._other)

    def get(self, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> CachedVerdict | None:
        st = ((size & _M64) << 128) | ((mtime_ns & _M64) << 64) | (ctime_ns & _M64)  # stamp(), inlined: per file
        inodes = self._clean.get(dev)
        if inodes is not None and inodes.get(ino) == st:
            return _CLEAN_VERDICT
        other = self._other.get((dev, ino))
        if other is not None and other[0] == st:
            return other[1], other[2]
        return None

    def put(self, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int, status: int, payload: Any) -> None:
        if self._db is None:
            return
        st = stamp(size, mtime_ns, ctime_ns)
        _put(self._clean, self._other, dev, ino, st, status, payload)
        _put(self._new_clean, self._new_other, dev, ino, st, status, payload)
        if time.monotonic() - self._flushed_at >= FLUSH_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Write the table, merging this scan's new verdicts into whatever another scan wrote meanwhile."""
        self._flushed_at = time.monotonic()
        if self._db is None or not (self._new_clean or self._new_other):
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT generation, data FROM tables WHERE key = ?", (self.key,)).fetchone()
            if row is not None and row[0] != self._generation:
                self._clean, self._other = _loads(row[1])
                for dev, inodes in self._new_clean.items():
                    for ino, st in inodes.items():
                        _put(self._clean, self._other, dev, ino, st, CLEAN, None)
                for (dev, ino), (st, status, payload) in self._new_other.items():
                    _put(self._clean, self._other, dev, ino, st, status, payload)
            self._generation = (row[0] if row is not None else 0) + 1
            data = pickle.dumps((self._clean, self._other), protocol=pickle.HIGHEST_PROTOCOL)
            db.execute("INSERT OR REPLACE INTO tables VALUES (?, ?, ?, ?)", (self.key, self._generation, time.time(),
                                                                              data))
            db.execute(
                "DELETE FROM tables WHERE key NOT IN (SELECT key FROM tables ORDER BY used_at DESC LIMIT ?)",
                (KEEP_KEYS,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._new_clean, self._new_other = {}, {}

    def totals(self, scope: str) -> tuple[int, int] | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT files, bytes FROM totals WHERE scope = ?", (scope,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def set_totals(self, scope: str, files: int, nbytes: int) -> None:
        if self._db is None:
            return
        self._db.execute("INSERT OR REPLACE INTO totals VALUES (?, ?, ?)", (scope, files, nbytes))

    def close(self) -> None:
        if self._db is not None and not (self._new_clean or self._new_other):
            # Used, not changed: keep it among the most recently used tables.
            self._db.execute("UPDATE tables SET used_at = ? WHERE key = ?", (time.time(), self.key))
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None


def _put(clean: Clean, other: Other, dev: int, ino: int, st: int, status: int, payload: Any) -> None:
    if status == CLEAN:
        clean.setdefault(dev, {})[ino] = st
        other.pop((dev, ino), None)
    else:
        other[(dev, ino)] = (st, status, payload if isinstance(payload, str) else json.dumps(payload))
        inodes = clean.get(dev)
        if inodes is not None:
            inodes.pop(ino, None)


def _loads(data: bytes) -> tuple[Clean, Other]:
    """The cache file is the user's own (or the agent's state folder), as trusted as the code that reads it."""
    clean, other = pickle.loads(data)
    return clean, other
