"""SQLite's WAL checkpoints moved off the write path, into one thread per process.

By default the commit that grows the write-ahead log past 1,000 pages copies the log back into the database file
and syncs it, while it still holds the one write lock: under a fleet's reports that was a checkpoint every few
tenths of a second, and a commit's p99 of 15 to 18 ms (bench/fleet.py at 20,000 agents, two workers). Here a
commit checkpoints only past CHECKPOINT_SAFETY_PAGES (a bound, should this thread ever fall behind), and a daemon
thread makes a PASSIVE checkpoint every `interval_s`: it copies what no reader still needs, beside the writers,
without their lock.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

__all__ = ["CHECKPOINT_SAFETY_PAGES", "Checkpointer"]

CHECKPOINT_SAFETY_PAGES = 16_384  # 64 MiB of log at 4 KiB pages: a commit checkpoints itself past this
CHECKPOINT_INTERVAL_S = 1.0

log = logging.getLogger("fleetscan.storage")


class Checkpointer:
    """A daemon thread checkpointing one SQLite database every `interval_s` until `stop()`."""

    def __init__(self, engine: Engine, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self.engine, self.interval_s = engine, interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def checkpoint(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.checkpoint()
            except Exception:  # a locked or vanished file: the next round tries again, commits still bound the log
                log.debug("WAL checkpoint failed", exc_info=True)
