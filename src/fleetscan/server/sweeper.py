"""The server's periodic housekeeping: end subtasks whose agent went silent or that ran too long.

Every replica runs it; the storage applies each change under a row lock and ending an ended subtask
changes nothing, so replicas never double-count.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from ..core.service import ControlPlane

log = logging.getLogger("fleetscan.server")


@dataclass(frozen=True)
class SweepLimits:
    offline_after_s: float = 300.0  # an agent silent this long: its unfinished subtasks fail
    scan_timeout_s: float = 86_400.0  # a subtask running this long: timed out (Alibaba status 4)
    interval_s: float = 15.0


async def sweep_forever(plane: ControlPlane, limits: SweepLimits) -> None:
    while True:
        try:
            ended = await run_in_threadpool(
                plane.expire_stale,
                offline_after_ms=int(limits.offline_after_s * 1000),
                timeout_after_ms=int(limits.scan_timeout_s * 1000),
            )
            if ended:
                log.info("ended %d stale subtasks", ended)
        except Exception:  # the sweeper must outlive a database hiccup
            log.exception("sweep failed")
        await asyncio.sleep(limits.interval_s)
