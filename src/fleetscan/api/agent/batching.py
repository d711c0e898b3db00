"""Requests that arrive together served by one call: those that come while a call is in flight go into the next.

Under load many requests need the same kind of database work at once: reports to write (`group_commit.py`),
credentials to verify after a restart. One call for many of them pays one trip to a worker thread, one
transaction and one round of statements instead of one each. Nothing waits on a timer: a lone request is served at
once, and under load batches grow by themselves. Each request keeps its own answer or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

__all__ = ["Batcher", "Outcome"]

K = TypeVar("K")
V = TypeVar("V")

Outcome = tuple[V | None, BaseException | None]  # each request's answer, or its own error


class Batcher(Generic[K, V]):
    """`serve(keys)` runs in a worker thread, `streams` calls at a time, with at most `max_batch` keys each, and
    returns one outcome per key, in order. If it raises, every request of the call hears that error."""

    def __init__(self, serve: Callable[[Sequence[K]], Sequence[Outcome[V]]], max_batch: int, streams: int = 1) -> None:
        self.serve, self.max_batch, self.streams = serve, max_batch, streams
        self.queue: list[tuple[K, asyncio.Future[V]]] = []
        self.running = 0

    async def run(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self.queue.append((key, future))
        if self.running < self.streams:
            self.running += 1
            asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue[: self.max_batch], self.queue[self.max_batch :]
                await self._serve(batch)
        finally:
            self.running -= 1

    async def _serve(self, batch: Sequence[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            outcomes = list(await run_in_threadpool(self.serve, [key for key, _ in batch]))
        except BaseException as exc:  # the whole call failed: every waiter hears why
            outcomes = [(None, exc)] * len(batch)
        for (_, future), (value, error) in zip(batch, outcomes, strict=True):
            if future.done():  # its request went away meanwhile
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)  # type: ignore[arg-type]
