"""Group commit of agents' reports: those arriving while a transaction is being written go into the next one.

A report's own work is small (a handful of statements); its BEGIN and COMMIT, the write lock's hand-over and the
trip to a worker thread cost as much again. Here a server process writes reports one batch at a time: a report
that arrives while a batch is in flight waits for it, then goes with every other report that arrived meanwhile.
Nothing waits on a timer: a lone report is written at once, and under load batches grow by themselves.

Each report keeps its own idempotency key, outcome and error: it runs in a savepoint of the batch's transaction
(`TaskStore.grouped`), so a report that fails (an illegal transition, an unknown subtask, a refused value) is
undone and answered alone while the others commit. A report that failed on the database itself (a PostgreSQL
deadlock against another process's batch, say, over an alert two reports of different tasks share: the tasks'
own row locks are taken in one order by every batch) is tried again alone after the batch, as is every report of
a batch whose COMMIT failed; alone, a report that meets a deadlock or another transient error (`OperationalError`)
is tried up to `RETRIES` times.
No report is answered before the transaction holding it has committed: a 2xx still means durable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from ...core.ports import Piece
from ..metrics import REPORT_TRANSACTIONS, REPORTS_GROUPED
from .batching import Batcher, Outcome

__all__ = ["GroupCommit"]

T = TypeVar("T")

MAX_BATCH = 64  # reports per transaction: a bound on how long one batch holds the write lock
RETRIES = 5  # tries of a report alone that meets a deadlock or another transient database error


@dataclass
class _Queued:
    fn: Callable[[], Any]
    order: int = 0
    value: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs report writes in shared transactions, `streams` batches at a time (one on SQLite: one writer)."""

    def __init__(
        self, grouped: Callable[[], AbstractContextManager[Piece]], streams: int = 1, max_batch: int = MAX_BATCH
    ) -> None:
        self.grouped = grouped  # ControlPlane.grouped_writes: a transaction that takes pieces
        self.batches: Batcher[_Queued, Any] = Batcher(self._commit, max_batch, streams)

    async def run(self, fn: Callable[[], T], order: int = 0) -> T:
        """`fn()` in the next batch's transaction; its result (or its exception) once that batch has committed.

        A batch runs its pieces by `order` (a report's root task): every batch then takes the roots' row locks in
        the same order, so two batches (two workers, two replicas) never deadlock on them."""
        result: T = await self.batches.run(_Queued(fn, order))
        return result

    def _commit(self, batch: Sequence[_Queued]) -> list[Outcome[Any]]:
        self._write(list(batch))
        return [(item.value, item.error) for item in batch]

    def _write(self, batch: list[_Queued]) -> None:
        """In a worker thread: the batch in one transaction, then whatever must be tried again, one by one."""
        again: list[_Queued] = []
        try:
            with self.grouped() as piece:
                for item in sorted(batch, key=lambda queued: queued.order):
                    try:
                        item.value = piece(item.fn)
                    except DBAPIError:
                        again.append(item)  # the database's trouble, not the report's: alone, after the batch
                    except Exception as exc:  # the report's own error, answered to it alone
                        item.error = exc
        except DBAPIError:  # the COMMIT (or BEGIN) failed: nothing of the batch is stored
            again = [item for item in batch if item.error is None]
        REPORT_TRANSACTIONS.inc()
        REPORTS_GROUPED.inc(len(batch))
        for item in again:
            self._alone(item)

    @staticmethod
    def _alone(item: _Queued) -> None:
        for attempt in range(RETRIES):
            item.value, item.error = None, None
            try:
                item.value = item.fn()
                return
            except OperationalError as exc:  # a deadlock victim, a dropped connection: again, a little later
                item.error = exc
                time.sleep(0.01 * 2**attempt)
            except Exception as exc:  # answered to its own report
                item.error = exc
                return
