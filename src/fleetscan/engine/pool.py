"""Worker processes for matching, started as fresh interpreters that speak length-prefixed pickles over pipes.

Not ``multiprocessing``: its spawn and forkserver methods re-import the caller's ``__main__`` in every worker
(which breaks or re-runs scripts without a main guard), and fork is unsafe in a threaded caller such as the agent.
A fresh ``python -c`` only imports the engine. A worker that dies (a crash in a parser on a hostile file) fails
only its outstanding batches, which the scanner reports as read errors, and is replaced.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import IO, Any

import fleetscan

__all__ = ["WorkerPool", "WorkerDied", "serve"]

_LEN = struct.Struct("<Q")
_BOOT = "from fleetscan.engine.pool import serve; serve()"


class WorkerDied(RuntimeError):
    """The worker process exited while it had this batch."""


def _send(fh: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(_LEN.pack(len(data)))
    fh.write(data)
    fh.flush()


def _recv(fh: IO[bytes]) -> Any:
    head = fh.read(_LEN.size)
    if len(head) < _LEN.size:
        raise EOFError
    (n,) = _LEN.unpack(head)
    data = fh.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


def serve() -> None:
    """Worker main loop: a WorkerConfig, then batches of paths until stdin closes."""
    from .workers import init_worker, scan_batch

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but protocol frames on the real stdout
    init_worker(_recv(stdin))
    while True:
        try:
            batch_id, paths = _recv(stdin)
        except EOFError:
            return
        _send(stdout, (batch_id, scan_batch(paths)))


class _Worker:
    def __init__(self, cfg_blob: bytes, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.pending: dict[int, Future[Any]] = {}
        self.lock = threading.Lock()
        self.alive = True
        self.stdin.write(cfg_blob)
        self.stdin.flush()
        self.reader = threading.Thread(target=self._read, name="fleetscan-worker-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while True:
                batch_id, results = _recv(self.stdout)
                with self.lock:
                    fut = self.pending.pop(batch_id)
                fut.set_result(results)
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        with self.lock:
            self.alive = False
            orphans, self.pending = list(self.pending.values()), {}
        code = self.proc.wait()
        for fut in orphans:
            fut.set_exception(WorkerDied(f"worker process exited with status {code}"))

    def submit(self, batch_id: int, paths: list[str]) -> Future[Any]:
        fut: Future[Any] = Future()
        with self.lock:
            if not self.alive:
                fut.set_exception(WorkerDied("worker process is gone"))
                return fut
            self.pending[batch_id] = fut
        try:
            _send(self.stdin, (batch_id, paths))
        except OSError:
            pass  # the reader sees the exit and fails the future
        return fut

    def close(self) -> None:
        try:
            self.stdin.close()
        except OSError:
            pass
        self.reader.join()


class WorkerPool:
    """``submit(paths)`` returns a Future of the batch's results; batches go to the least busy worker."""

    def __init__(self, n: int, cfg: Any) -> None:
        data = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
        self._blob = _LEN.pack(len(data)) + data
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(fleetscan.__file__)))
        path = os.environ.get("PYTHONPATH", "")
        self._env = {**os.environ, "PYTHONPATH": pkg_parent + (os.pathsep + path if path else "")}
        self._workers = [_Worker(self._blob, self._env) for _ in range(max(1, n))]
        self._next_id = 0

    def submit(self, paths: list[str]) -> Future[Any]:
        for i, w in enumerate(self._workers):
            if not w.alive:
                w.close()
                self._workers[i] = _Worker(self._blob, self._env)
        worker = min(self._workers, key=lambda w: len(w.pending))
        self._next_id += 1
        return worker.submit(self._next_id, paths)

    def shutdown(self) -> None:
        for w in self._workers:
            w.close()
