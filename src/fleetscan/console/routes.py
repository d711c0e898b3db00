"""Serves the console's static files at `/console/`: the page is a pure client of the HSS dialect.

No server-side API of its own: the page calls `/v5/{project_id}/antivirus/...` with an `X-Auth-Token`,
the way any script would. The token comes in the URL fragment, which browsers never send, so it never
reaches a server log. Every answer carries a strict Content-Security-Policy (only our own scripts and
styles, no inline code) as a second line of defence behind the page's own escaping.
"""

from __future__ import annotations

import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api import metrics

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),  # a new release's page must not meet an old cached script
)


class _Secured:
    """Adds SECURITY_HEADERS to every response of the wrapped app, and counts it as the console edge's
    `static` operation (the console's data comes through the HSS edge and is counted there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
                metrics.observe("console", "static", message["status"], time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, send_secured)


async def favicon(request: Request) -> Response:
    """Browsers ask for `/favicon.ico` at the site's root, whatever page they opened."""
    return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon", headers={"cache-control": "max-age=86400"})


def routes() -> list[BaseRoute]:
    return [
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Mount("/console", app=_Secured(StaticFiles(directory=STATIC, html=True)), name="console"),
    ]
