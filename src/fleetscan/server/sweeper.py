"""The server's periodic housekeeping: end subtasks whose agent went silent or that ran too long.

Every replica runs it (one worker of each: `leader.py`); the storage applies each change under a row lock
and ending an ended subtask changes nothing, so replicas never double-count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..core.service import ControlPlane
from .leader import Leader
from .periodic import run_every

log = logging.getLogger("fleetscan.server")


@dataclass(frozen=True)
class SweepLimits:
    offline_after_s: float = 300.0  # an agent silent this long: its unfinished subtasks fail
    scan_timeout_s: float = 86_400.0  # a subtask running this long: timed out (Alibaba status 4)
    interval_s: float = 15.0


def sweep(plane: ControlPlane, limits: SweepLimits) -> None:
    ended = plane.expire_stale(
        offline_after_ms=int(limits.offline_after_s * 1000), timeout_after_ms=int(limits.scan_timeout_s * 1000)
    )
    if ended:
        log.info("ended %d stale subtasks", ended)


async def sweep_forever(plane: ControlPlane, limits: SweepLimits, leader: Leader | None = None) -> None:
    await run_every("sweep", lambda: sweep(plane, limits), limits.interval_s, leader or Leader())
