"""Assembles the edges around one ControlPlane. Every replica builds the same app over the same database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.agent.routes import routes as agent_routes
from ..api.alibaba.routes import routes as alibaba_routes
from ..api.edge import BodyLimits
from ..api.huawei.routes import routes as huawei_routes
from ..console.routes import routes as console_routes
from ..core.service import ControlPlane
from .beats import AGENT_CREDENTIAL_TTL_S, beat_flush_s, flush_forever
from .scheduler import schedule_forever
from .sweeper import SweepLimits, sweep_forever


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    plane: ControlPlane,
    limits: SweepLimits | None = None,
    schedule_interval_s: float = 5.0,
    body_limits: BodyLimits | None = None,
) -> Starlette:
    """`body_limits` caps request bodies per edge (`api/edge.py`): the cloud dialects, the agent protocol."""
    caps = body_limits or BodyLimits()
    table: list[BaseRoute] = [
        Route("/healthz", healthz),
        *agent_routes(plane, caps.agent),
        *huawei_routes(plane, caps.cloud, caps.signatures),
        *alibaba_routes(plane, caps.cloud),
        *console_routes(),
    ]

    # An agent's credential verified once serves it a few seconds; heartbeats are written in batches.
    sweep = limits or SweepLimits()
    flush_s = beat_flush_s(plane.online_window_ms / 1000, sweep.offline_after_s)
    plane.cache_credentials(AGENT_CREDENTIAL_TTL_S)
    plane.coalesce_heartbeats(int(flush_s * 1000))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep_forever(plane, sweep))
        scheduler = asyncio.create_task(schedule_forever(plane, schedule_interval_s))
        beats = asyncio.create_task(flush_forever(plane, flush_s))
        try:
            yield
        finally:
            for job in (sweeper, scheduler, beats):
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job

    app = Starlette(routes=table, lifespan=lifespan)
    app.state.plane = plane
    return app
