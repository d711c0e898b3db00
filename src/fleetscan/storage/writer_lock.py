"""One writer at a time on an SQLite file, across the threads of a process and the processes sharing the file.

SQLite allows one write transaction at a time. A second writer that finds the file locked waits in SQLite's busy
handler, which sleeps and retries (1, 2, 5, 10 ... 100 ms): with `fleetscan server --workers 2` on one SQLite file,
each worker's report batches waited that way for the other's, and the server sat at 40% of a core per worker while
requests waited seconds (bench/fleet.py, 20,000 agents). Queued on an OS lock instead, the next writer wakes the
moment the last one is done: threads on a `threading.RLock`, processes on an `flock` of a file beside the database.
"""

from __future__ import annotations

import fcntl
import os
import threading
from types import TracebackType

__all__ = ["WriterLock"]


class WriterLock:
    """Re-entrant within a thread; `path` is the lock file (None: an in-memory database, threads only)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0  # the process the descriptor was opened in: a forked child opens its own (flock is per open)

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            assert self.path is not None
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._depth == 0 and self.path is not None:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)  # blocks this thread only; the GIL is let go
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self.path is not None:
                fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._threads.release()
