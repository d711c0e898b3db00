"""The worker pool: fresh interpreters, and a worker that dies fails only its own batch."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from fleetscan.engine import EICAR, load_signatures
from fleetscan.engine.pool import WorkerDied, WorkerPool
from fleetscan.engine.workers import DETECTED, WorkerConfig

from .conftest import write


def test_batches_round_trip_and_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    clean = write(tmp_path / "clean", b"x" * 10_000)
    bad = write(tmp_path / "bad", EICAR)
    # A tiny I/O cap makes the worker sleep after reading, so it is still busy when it is killed.
    cfg = WorkerConfig.from_sigset(load_signatures([]), bytes_per_second=2_000)
    pool = WorkerPool(1, cfg)
    try:
        ok = pool.submit([str(bad)]).result(timeout=60)
        assert ok[0][0] == DETECTED
        busy = pool.submit([str(clean)])
        time.sleep(0.5)
        worker = pool._workers[0]
        os.kill(worker.proc.pid, signal.SIGKILL)
        with pytest.raises(WorkerDied, match="exited with status -9"):
            busy.result(timeout=60)
        again = pool.submit([str(bad)]).result(timeout=60)  # a new worker took its place
        assert again[0][0] == DETECTED
        assert pool._workers[0] is not worker
    finally:
        pool.shutdown()
