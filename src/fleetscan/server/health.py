"""`/healthz` (the process answers) and `/readyz` (it can serve: its database answers at the schema it needs).

A load balancer or orchestrator probes them, so they need no credentials and say little: `/readyz`'s reason
names what is wrong (unreachable, schema behind), the details go to the server's log.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.service import ControlPlane

__all__ = ["READY_TIMEOUT_S", "routes"]

READY_TIMEOUT_S = 5.0
"""A database slower than this to answer one query is as good as unreachable for a load balancer."""

log = logging.getLogger("fleetscan.server")


async def healthz(_request: Request) -> Response:
    """Alive: the event loop answers. Touches nothing else, so a database outage never restarts the server."""
    return JSONResponse({"status": "ok"})


def routes(plane: ControlPlane) -> list[Route]:
    async def readyz(_request: Request) -> Response:
        try:
            problem = await asyncio.wait_for(run_in_threadpool(plane.readiness), READY_TIMEOUT_S)
        except TimeoutError:
            problem = f"database did not answer within {READY_TIMEOUT_S:g} s"
        except Exception as exc:  # the probe must answer, whatever broke
            log.exception("readiness check failed")
            problem = f"readiness check failed: {type(exc).__name__}"
        if problem is not None:
            log.warning("not ready: %s", problem)
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    return [Route("/healthz", healthz, methods=["GET", "HEAD"]), Route("/readyz", readyz, methods=["GET", "HEAD"])]
