"""Several uvicorn worker processes on one socket: `fleetscan server --workers N`.

The parent binds the socket, migrates the database once, makes a private run folder (the workers' metrics
files, `PROMETHEUS_MULTIPROC_DIR`, and the leader lock of `server/leader.py`), then lets uvicorn's supervisor
start the workers and replace any that dies. Nothing a request needs lives in a worker's memory (nonces, report
keys, sessions, schedules are rows), so any worker may answer any request. A dead worker's live gauges are
dropped (`mark_process_dead`); its counters stay, so totals never go back. The folder is removed when the
server stops.

Each worker asks the kernel to kill it when the parent dies (`PR_SET_PDEATHSIG`), so a server killed with
SIGKILL leaves no worker behind still holding the port.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from socket import socket

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn.supervisors import Multiprocess

from ..server.metrics import MULTIPROC_ENV

__all__ = ["RunFolder", "die_with_parent", "supervise"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Be killed when the parent dies (Linux); if it is already gone, go at once."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


class RunFolder:
    """The server's private folder for its workers: metrics files and the leader lock."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="fleetscan-server-"))
        self.metrics = self.path / "metrics"
        self.metrics.mkdir()
        self.leader_lock = str(self.path / "leader.lock")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, which also marks each worker that left dead for the metrics."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], metrics_dir: str) -> None:
        super().__init__(config, sockets)
        self.metrics_dir = metrics_dir
        self.known: set[int] = set()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        alive = {p.pid for p in self.processes if p.pid is not None}
        for pid in self.known - alive:
            mark_process_dead(pid, self.metrics_dir)  # type: ignore[no-untyped-call]
        self.known = alive


def supervise(config: uvicorn.Config, folder: RunFolder) -> None:
    """Run `config.workers` workers of `config.app` (an app factory) until SIGTERM or SIGINT."""
    os.environ[MULTIPROC_ENV] = str(folder.metrics)  # inherited by the workers, read when they first count
    sock = config.bind_socket()
    try:
        _Supervisor(config, [sock], str(folder.metrics)).run()
    finally:
        sock.close()
