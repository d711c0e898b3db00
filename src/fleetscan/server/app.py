"""Assembles the edges around one ControlPlane. Every replica builds the same app over the same database."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.agent.routes import routes as agent_routes
from ..api.alibaba.routes import routes as alibaba_routes
from ..api.huawei.routes import routes as huawei_routes
from ..core.service import ControlPlane


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(plane: ControlPlane) -> Starlette:
    table: list[BaseRoute] = [
        Route("/healthz", healthz),
        *agent_routes(plane),
        *huawei_routes(plane),
        *alibaba_routes(plane),
    ]
    app = Starlette(routes=table)
    app.state.plane = plane
    return app
