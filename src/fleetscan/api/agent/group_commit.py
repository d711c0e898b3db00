"""Group commit of agents' reports: those arriving while a transaction is being written go into the next one.

A report's own work is small: a few rows changed. Its BEGIN and COMMIT, the write lock's hand-over, the trip to a
worker thread and, per statement, a round trip to PostgreSQL or a hand-over of the GIL while SQLite's write lock
is held, cost many times more. Here a server process writes reports one batch at a time: a report that arrives
while a batch is in flight waits for it, then goes with every other report that arrived meanwhile, and storage
writes the batch a few statements for all (`TaskStore.change_subtasks`). Nothing waits on a timer: a lone report
is written at once, and under load batches grow by themselves.

Each report keeps its own idempotency key, outcome and error: one refused (an illegal transition, an unknown
subtask, a value no column takes) is answered alone while the others commit. When the database itself fails the
batch (a PostgreSQL deadlock against another process's batch, say, over an alert two reports of different tasks
share; a failed COMMIT), nothing of it is stored and each report is tried again alone; so is a report whose
outcome is the database's transient error (`OperationalError`: `write` may commit a batch in parts, and answer
the part the database failed so). Alone, a report that meets such an error is tried up to `RETRIES` times.
No report is answered before the transaction holding it has committed: a 2xx still means durable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from ..metrics import REPORT_TRANSACTIONS, REPORTS_GROUPED
from .batching import Batcher, Outcome

__all__ = ["GroupCommit"]

K = TypeVar("K")
V = TypeVar("V")

MAX_BATCH = 64  # reports per transaction: a bound on how long one batch holds the write lock
RETRIES = 5  # tries of a report alone that meets a deadlock or another transient database error

WriteMany = Callable[[Sequence[K]], Sequence[V | Exception]]


class GroupCommit(Generic[K, V]):
    """Runs `write(batch)` (one transaction, an outcome or an error per item) for reports arriving together, one
    batch at a time per process: SQLite has one writer, and on PostgreSQL concurrent batches of one process would
    only meet on the same tasks' row locks while the GIL keeps them serial anyway."""

    def __init__(self, write: WriteMany[K, V], max_batch: int = MAX_BATCH) -> None:
        self.write = write
        self.batches: Batcher[K, V] = Batcher(self._commit, max_batch)

    async def run(self, item: K) -> V:
        """`item` written in the next batch's transaction; its outcome (or its error) once that has committed."""
        return await self.batches.run(item)

    def _commit(self, batch: Sequence[K]) -> list[Outcome[V]]:
        """In a worker thread: the batch in one transaction, or, if the database failed it, each item alone."""
        try:
            written = self.write(batch)
        except DBAPIError:  # the database's trouble, not the reports': nothing of the batch is stored
            written = [self._alone(item) for item in batch]
        else:  # an item the database failed within the batch (its part was undone): tried again alone
            written = [
                self._alone(item) if isinstance(w, OperationalError) else w
                for item, w in zip(batch, written, strict=True)
            ]
        REPORT_TRANSACTIONS.inc()
        REPORTS_GROUPED.inc(len(batch))
        return [(None, w) if isinstance(w, Exception) else (w, None) for w in written]

    def _alone(self, item: K) -> V | Exception:
        error: Exception | None = None
        for attempt in range(RETRIES):
            try:
                [written] = self.write([item])
                return written
            except OperationalError as exc:  # a deadlock victim, a dropped connection: again, a little later
                error = exc
                time.sleep(0.01 * 2**attempt)
            except Exception as exc:  # answered to its own report
                return exc
        assert error is not None
        return error
