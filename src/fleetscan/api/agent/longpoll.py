"""Long-poll for `GET /agent/v1/work`: an idle agent's request waits until work arrives for its host.

One watcher per server process asks the database, every `interval` seconds, which hosts were given a pending
subtask or action since its watermark (`ControlPlane.new_work`: two indexed range reads, whatever the number of
agents), and wakes the requests parked for those hosts. Because it reads the shared database, a task started
through another replica (or a schedule firing on one) wakes this replica's agents the same way; no server keeps
anything another needs. The watermark trails by `lag` seconds, so that a row whose id was taken before a
later-committed one (PostgreSQL sequences commit out of order) is still seen; waking a host twice is harmless,
its request reads its work again and waits on if nothing changed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any, Final

from starlette.concurrency import run_in_threadpool

from ...core.service import ControlPlane

log = logging.getLogger("fleetscan.server")

MAX_WAIT_S: Final = 60.0  # the longest `wait` a request may ask for
INTERVAL_S: Final = 0.5  # how often the watcher reads the database while requests are parked
LAG_S: Final = 5.0
MARGIN: Final = 100  # ids below the first watermark still looked at (rows committed just after it was read)


class WorkBell:
    """Requests parked per host, and the one watcher that wakes them."""

    def __init__(self, plane: ControlPlane, interval: float = INTERVAL_S, lag: float = LAG_S) -> None:
        self.plane, self.interval, self.lag = plane, interval, lag
        self.parked: dict[int, set[asyncio.Event]] = {}
        self.closing = False  # the server is stopping: held requests answer now, new ones do not wait
        self._watcher: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    def close(self) -> None:
        """Answer every held request: the server waits for in-flight requests before it stops."""
        self.closing = True
        self.ring(set(self.parked))

    def _close_on_exit_signals(self) -> None:
        """Chain SIGTERM and SIGINT to the server's own handlers (uvicorn's), so that a stop does not wait up to a
        long-poll's `wait` for the held requests."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def chained(signum: int, frame: FrameType | None, previous: Callable[..., Any] = previous) -> None:
                loop.call_soon_threadsafe(self.close)
                previous(signum, frame)

            try:
                signal.signal(sig, chained)
            except ValueError:  # not the main thread (an embedded server): stops wait for held requests instead
                return

    async def ticket(self, host_pk: int) -> asyncio.Event:
        """Park a request for the host before it reads its work, so that work arriving meanwhile still wakes it."""
        await self._start()
        event = asyncio.Event()
        self.parked.setdefault(host_pk, set()).add(event)
        return event

    def leave(self, host_pk: int, event: asyncio.Event) -> None:
        waiting = self.parked.get(host_pk)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.parked[host_pk]

    def ring(self, host_pks: set[int]) -> None:
        for pk in host_pks & self.parked.keys():
            for event in self.parked[pk]:
                event.set()

    async def _start(self) -> None:
        if self._watcher is None:
            self._close_on_exit_signals()
        if self._watcher is None or self._watcher.done():
            self._ready = asyncio.Event()
            self._watcher = asyncio.create_task(self._watch(self._ready))
        assert self._ready is not None
        await self._ready.wait()

    async def _watch(self, ready: asyncio.Event) -> None:
        """Runs for the life of the process once a first request parked: one cheap query per interval."""
        _, top = await run_in_threadpool(self.plane.new_work, (2**62, 2**62))
        marks: collections.deque[tuple[float, tuple[int, int]]] = collections.deque()
        first = (max(0, top[0] - MARGIN), max(0, top[1] - MARGIN))
        loop = asyncio.get_running_loop()
        marks.append((loop.time(), first))
        ready.set()
        while True:
            await asyncio.sleep(self.interval)
            if not self.parked:
                continue
            now = loop.time()
            while len(marks) > 1 and marks[1][0] <= now - self.lag:
                marks.popleft()  # the oldest watermark still at least `lag` old is the one to read from
            try:
                hosts, top = await run_in_threadpool(self.plane.new_work, marks[0][1])
            except Exception:  # a database hiccup: parked requests time out and poll again
                log.exception("long-poll watcher failed")
                continue
            marks.append((now, top))
            self.ring(hosts)
