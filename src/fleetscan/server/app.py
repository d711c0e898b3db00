"""Assembles the edges around one ControlPlane. Every replica builds the same app over the same database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from ..api.agent.routes import routes as agent_routes
from ..api.alibaba.routes import routes as alibaba_routes
from ..api.edge import BodyLimits
from ..api.huawei.routes import routes as huawei_routes
from ..console.routes import routes as console_routes
from ..core.service import ControlPlane
from . import health
from .beats import AGENT_CREDENTIAL_TTL_S, CREDENTIAL_RECHECK_S, beat_flush_s, flush_forever
from .collector import pace_collector
from .leader import Leader
from .metrics import MetricsAccess, metrics_endpoint
from .periodic import run_every
from .scheduler import schedule_forever
from .sweeper import SweepLimits, sweep_forever


def create_app(
    plane: ControlPlane,
    limits: SweepLimits | None = None,
    schedule_interval_s: float = 5.0,
    body_limits: BodyLimits | None = None,
    tls_bundle: bytes | None = None,
    *,
    leader: Leader | None = None,
    metrics_access: MetricsAccess | None = None,
) -> Starlette:
    """`body_limits` caps request bodies per edge (`api/edge.py`): the cloud dialects, the agent protocol.
    `tls_bundle`: the certificates the server presents, which agents fetch to pin (`docs/agent-protocol.md`).
    `leader` says whether this process runs the sweeper and the scheduler (one worker of a server does);
    `metrics_access` who may read `/metrics` (loopback clients by default)."""
    caps = body_limits or BodyLimits()
    table: list[BaseRoute] = [  # tried in order: the agents' routes, most of the traffic, first
        *agent_routes(plane, caps.agent, tls_bundle),
        *health.routes(plane),
        Route("/metrics", metrics_endpoint(plane, metrics_access or MetricsAccess()), methods=["GET"]),
        *huawei_routes(plane, caps.cloud, caps.signatures),
        *alibaba_routes(plane, caps.cloud),
        *console_routes(),
    ]
    runs_jobs = leader or Leader()

    # An agent's credential verified once serves it for minutes (checked in bulk every few seconds); heartbeats
    # are written in batches.
    sweep = limits or SweepLimits()
    flush_s = beat_flush_s(plane.online_window_ms / 1000, sweep.offline_after_s)
    plane.cache_credentials(AGENT_CREDENTIAL_TTL_S)
    plane.coalesce_heartbeats(int(flush_s * 1000))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        pace_collector()
        sweeper = asyncio.create_task(sweep_forever(plane, sweep, runs_jobs))
        scheduler = asyncio.create_task(schedule_forever(plane, schedule_interval_s, runs_jobs))
        beats = asyncio.create_task(flush_forever(plane, flush_s))  # every worker: its own agents' beats
        # every worker: its own cache (Leader() without a lock file is held everywhere)
        recheck = asyncio.create_task(
            run_every("credential check", plane.recheck_credentials, CREDENTIAL_RECHECK_S, Leader())
        )
        try:
            yield
        finally:
            for job in (sweeper, scheduler, beats, recheck):
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job

    app = Starlette(routes=table, lifespan=lifespan)
    app.state.plane = plane
    return app
