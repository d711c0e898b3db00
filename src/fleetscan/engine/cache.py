"""A local verdict cache: an unchanged file is not scanned again.

A file is unchanged when its (device, inode) still has the same size, mtime and ctime (ctime catches a rewrite
that restored the mtime) and the entry was made under the same key: signature version and scan options.

A rescan must cost little more than listing the tree, so a key's whole table is one row of a SQLite file, read in
one query. Nearly every file is clean, and a clean file is kept as one integer stamp per inode, which is what makes
that row small and quick to load (5 ms for 50,000 files, against 60 ms for a row per file); the few other verdicts
keep their payload. While a scan runs, its new verdicts are appended as small delta rows (every 30 s, so a crash
loses little), and at its end the deltas, its own and those of any scan that ran at the same time, are folded into
the table once. Rows are ``marshal`` data, which can describe nothing but plain values: a damaged or foreign row is
dropped (those files are scanned again), never run.
"""

from __future__ import annotations

import json
import marshal
import os
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from .results import CLEAN

__all__ = ["VerdictCache", "CachedVerdict", "stamp", "KEEP_KEYS", "FLUSH_INTERVAL"]

CachedVerdict = tuple[int, str]
"""(status, JSON payload) as stored."""

_CLEAN_VERDICT: CachedVerdict = (CLEAN, '[[], null, ""]')
_SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tables (key TEXT PRIMARY KEY, used_at REAL NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deltas (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS deltas_by_key ON deltas (key, seq);
CREATE TABLE IF NOT EXISTS totals (scope TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
"""
_MARSHAL_VERSION = 4
#: Tables kept for other keys (older signature versions, other options), most recently used first.
KEEP_KEYS = 4
#: Seconds between delta writes while a scan runs.
FLUSH_INTERVAL = 30.0
_M64 = (1 << 64) - 1

Clean = dict[int, dict[int, int]]
"""device -> inode -> stamp"""
Other = dict[tuple[int, int], tuple[int, int, str]]
"""(device, inode) -> (stamp, status, JSON payload)"""


def stamp(size: int, mtime_ns: int, ctime_ns: int) -> int:
    """One integer that is equal exactly when all three are (each fits in 64 bits, negative times included)."""
    return ((size & _M64) << 128) | ((mtime_ns & _M64) << 64) | (ctime_ns & _M64)


class _Table:
    """Clean stamps and other verdicts; a file is in at most one of the two."""

    __slots__ = ("clean", "other")

    def __init__(self) -> None:
        self.clean: Clean = {}
        self.other: Other = {}

    def __bool__(self) -> bool:
        return bool(self.clean or self.other)

    def __len__(self) -> int:
        return sum(len(d) for d in self.clean.values()) + len(self.other)

    def put(self, dev: int, ino: int, st: int, status: int, payload: str) -> None:
        if status == CLEAN:
            self.clean.setdefault(dev, {})[ino] = st
            self.other.pop((dev, ino), None)
        else:
            self.other[(dev, ino)] = (st, status, payload)
            inodes = self.clean.get(dev)
            if inodes is not None:
                inodes.pop(ino, None)

    def update(self, newer: _Table) -> None:
        """Newer verdicts win, file by file."""
        for dev, inodes in newer.clean.items():
            self.clean.setdefault(dev, {}).update(inodes)
            if self.other:
                for ino in inodes:
                    self.other.pop((dev, ino), None)
        for (dev, ino), verdict in newer.other.items():
            self.other[(dev, ino)] = verdict
            mine = self.clean.get(dev)
            if mine is not None:
                mine.pop(ino, None)

    def dumps(self) -> bytes:
        return marshal.dumps((self.clean, self.other), _MARSHAL_VERSION)

    @classmethod
    def loads(cls, data: bytes) -> _Table:
        clean, other = marshal.loads(data)
        if not isinstance(clean, dict) or not isinstance(other, dict):
            raise ValueError("not a verdict table")
        table = cls()
        table.clean, table.other = clean, other
        return table

    @classmethod
    def folded(cls, blobs: Iterable[bytes]) -> _Table:
        """The rows in order, newer over older; a row that does not load is dropped, costing only rescans."""
        table: _Table | None = None
        for data in blobs:
            try:
                part = cls.loads(data)
            except (ValueError, EOFError, TypeError):
                continue
            if table is None:
                table = part
            else:
                table.update(part)
        return table if table is not None else cls()


class VerdictCache:
    """Disabled (every lookup misses) when ``path`` is None."""

    def __init__(self, path: str | os.PathLike[str] | None, key: str) -> None:
        self.key = key
        self._db: sqlite3.Connection | None = None
        self._table = _Table()
        self._new = _Table()
        self._deltas_seen = False
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
                "DROP TABLE IF EXISTS deltas; DROP TABLE IF EXISTS totals;"
                f"{_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION}; COMMIT;"
            )
        table, deltas = self._rows(self._db)
        self._deltas_seen = bool(deltas)
        self._table = _Table.folded(table + deltas)

    def _rows(self, db: sqlite3.Connection) -> tuple[list[bytes], list[bytes]]:
        """The key's table, and its deltas in the order they were written."""
        table = [r[0] for r in db.execute("SELECT data FROM tables WHERE key = ?", (self.key,))]
        deltas = [r[0] for r in db.execute("SELECT data FROM deltas WHERE key = ? ORDER BY seq", (self.key,))]
        return table, deltas

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def __len__(self) -> int:
        return len(self._table)

    def get(self, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> CachedVerdict | None:
        st = ((size & _M64) << 128) | ((mtime_ns & _M64) << 64) | (ctime_ns & _M64)  # stamp(), inlined: per file
        inodes = self._table.clean.get(dev)
        if inodes is not None and inodes.get(ino) == st:
            return _CLEAN_VERDICT
        other = self._table.other.get((dev, ino))
        if other is not None and other[0] == st:
            return other[1], other[2]
        return None

    def put(self, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int, status: int, payload: Any) -> None:
        if self._db is None:
            return
        st = stamp(size, mtime_ns, ctime_ns)
        text = "" if status == CLEAN else payload if isinstance(payload, str) else json.dumps(payload)
        self._table.put(dev, ino, st, status, text)
        self._new.put(dev, ino, st, status, text)
        if time.monotonic() - self._flushed_at >= FLUSH_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Append the verdicts made since the last flush: a write the size of what changed, not of the table."""
        self._flushed_at = time.monotonic()
        if self._db is None or not self._new:
            return
        with _transaction(self._db) as db:
            db.execute("INSERT INTO deltas (key, data) VALUES (?, ?)", (self.key, self._new.dumps()))
        self._new = _Table()
        self._deltas_seen = True

    def _fold(self) -> None:
        """Fold every delta of the key into its table, once per scan that changed anything, and keep only the most
        recently used keys."""
        assert self._db is not None
        with _transaction(self._db) as db:
            last = db.execute("SELECT max(seq) FROM deltas WHERE key = ?", (self.key,)).fetchone()[0]
            rows, deltas = self._rows(db)
            table = _Table.folded(rows + deltas)
            db.execute("INSERT OR REPLACE INTO tables VALUES (?, ?, ?)", (self.key, time.time(), table.dumps()))
            if last is not None:
                db.execute("DELETE FROM deltas WHERE key = ? AND seq <= ?", (self.key, last))
            db.execute(
                "DELETE FROM tables WHERE key NOT IN (SELECT key FROM tables ORDER BY used_at DESC LIMIT ?)",
                (KEEP_KEYS,),
            )
            db.execute("DELETE FROM deltas WHERE key NOT IN (SELECT key FROM tables) AND key != ?", (self.key,))

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
        if self._db is None:
            return
        try:
            self.flush()
            if self._deltas_seen:
                self._fold()
            else:  # used, not changed: keep it among the most recently used tables
                self._db.execute("UPDATE tables SET used_at = ? WHERE key = ?", (time.time(), self.key))
        finally:
            self._db.close()
            self._db = None


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error if SQLite has not already done so."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")
