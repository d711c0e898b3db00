"""One loop for the server's periodic jobs: run off the event loop, log, outlive a failure, sleep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from .leader import Leader

log = logging.getLogger("fleetscan.server")


async def run_every(name: str, job: Callable[[], object], interval_s: float, leader: Leader) -> None:
    """Run `job` every `interval_s` seconds in the worker that leads (`Leader`); a failure is logged, never fatal:
    the job must outlive a database hiccup."""
    while True:
        try:
            if leader.held():
                await run_in_threadpool(job)
        except Exception:
            log.exception("%s failed", name)
        await asyncio.sleep(interval_s)
