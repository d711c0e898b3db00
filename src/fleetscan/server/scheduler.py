"""The server's scheduler: start the root task of every HSS policy and Alibaba cycle task that is due.

Every replica runs it over the same database (one worker of each: `leader.py`). Firing is a claim
(`Storage.fire_schedule` moves a schedule's next_fire_at from the due time it read, in the transaction that
inserts the task), so a due time starts one task however many replicas see it at once; the losers change
nothing.
"""

from __future__ import annotations

import logging

from ..core.service import ControlPlane
from .leader import Leader
from .periodic import run_every

log = logging.getLogger("fleetscan.server")


def fire_due(plane: ControlPlane) -> None:
    for root in plane.fire_schedules():
        log.info("schedule started task %s (%s)", root.task_id, root.name)


async def schedule_forever(plane: ControlPlane, interval_s: float, leader: Leader | None = None) -> None:
    await run_every("scheduler pass", lambda: fire_due(plane), interval_s, leader or Leader())
