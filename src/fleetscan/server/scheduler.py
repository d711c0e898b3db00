"""The server's scheduler: start the root task of every HSS policy and Alibaba cycle task that is due.

Every replica runs it over the same database. Firing is a claim (`Storage.fire_schedule` moves a schedule's
next_fire_at from the due time it read, in the transaction that inserts the task), so a due time starts one
task however many replicas see it at once; the losers change nothing.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from ..core.service import ControlPlane

log = logging.getLogger("fleetscan.server")


async def schedule_forever(plane: ControlPlane, interval_s: float) -> None:
    while True:
        try:
            started = await run_in_threadpool(plane.fire_schedules)
            for root in started:
                log.info("schedule started task %s (%s)", root.task_id, root.name)
        except Exception:  # the scheduler must outlive a database hiccup
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval_s)
