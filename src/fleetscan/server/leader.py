"""Which worker process of a server runs the once-per-server jobs (the sweeper, the scheduler).

With `fleetscan server --workers N` every worker builds the same app. Those jobs are safe to run anywhere at
once (each change is a claim or a row-locked, idempotent update: see sweeper.py and scheduler.py), but N
copies would poll the database N times as often for nothing. So the workers share a lock file in the server's
private run folder: the one holding an exclusive `flock` on it is the leader and runs the jobs; the others
try again at each tick, so when the leader dies (the kernel drops its lock) another takes over within one
interval. Separate replicas (servers) each have their own leader; the jobs' claims keep them apart.
"""

from __future__ import annotations

import fcntl
import os

__all__ = ["Leader"]


class Leader:
    """`held()` is True in exactly one process among those sharing `lock_path`; always True without one."""

    def __init__(self, lock_path: str | None = None) -> None:
        self.lock_path = lock_path
        self._fd: int | None = None

    def held(self) -> bool:
        if self.lock_path is None or self._fd is not None:
            return True
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd  # kept open for the process's life: closing it would let the lock go
        return True
