"""The one writer of coalesced heartbeats (`core/beats.py`): every `interval_s`, the beats noted since the last
flush go to the database in one transaction; at shutdown, the last ones too."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from ..core.service import ControlPlane

log = logging.getLogger("fleetscan.server")

BEAT_FLUSH_S = 2.0  # how late a beat may reach `last_seen`: readers of it allow for this (ControlPlane.beat_delay_ms)
# How long a verified agent credential (and which host owns a subtask) is reused without a database read. Both
# are fixed at enrollment and subtask creation; a credential changed or removed in the database is dropped by the
# bulk check every CREDENTIAL_RECHECK_S (ControlPlane.recheck_credentials), not by this bound. At 5 s it missed on
# every beat (30 s apart) and every report (5 s apart): one read of the host per request, half the server's time
# at 10,000 agents.
AGENT_CREDENTIAL_TTL_S = 300.0
CREDENTIAL_RECHECK_S = 5.0  # how often each process checks its cached credentials against the database, in bulk


def beat_flush_s(online_window_s: float, offline_after_s: float) -> float:
    """How often beats are written: every BEAT_FLUSH_S, or a quarter of the shortest silence the server acts on
    when that is shorter (a lab's `--offline-after 2`), so the delay stays small beside it."""
    return min(BEAT_FLUSH_S, online_window_s / 4, offline_after_s / 4)


async def flush_forever(plane: ControlPlane, interval_s: float = BEAT_FLUSH_S) -> None:
    try:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await run_in_threadpool(plane.flush_beats)
            except Exception:  # the beats are kept for the next flush; the writer must outlive a database hiccup
                log.exception("storing heartbeats failed")
    finally:
        try:
            await asyncio.shield(run_in_threadpool(plane.flush_beats))
        except Exception:
            log.exception("storing the last heartbeats failed")
