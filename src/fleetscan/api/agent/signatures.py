"""The agent's side of server-managed signature sets: the offer in `/work` and the download, once per version.

A version is immutable, so its ETag (a digest of what it holds) never changes: an agent that asks again with
`If-None-Match` gets a 304 and no body.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...core.errors import NotFound
from ...core.models import Host
from ...core.service import ControlPlane
from ..edge import request_id

PREFIX = "/agent/v1"


def offer(plane: ControlPlane, host: Host) -> dict[str, Any] | None:
    """`/work`'s `signatures`: the project's newest version, or None when it has none."""
    newest = plane.host_signatures(host)
    if newest is None:
        return None
    return {"version": newest.version, "etag": newest.etag, "url": f"{PREFIX}/signatures/{newest.version}"}


async def download(plane: ControlPlane, request: Request, caller: Callable[[Request], Awaitable[Host]]) -> Response:
    host = await caller(request)
    raw = request.path_params["version"]
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound("signature version", raw)
    wanted = request.headers.get("if-none-match")
    headers = {"X-Request-Id": request_id(request)}
    head = await run_in_threadpool(plane.host_signatures, host, None)
    if head is not None and head.version == int(raw) and wanted == head.etag:  # the newest, already held
        return Response(status_code=304, headers={**headers, "ETag": head.etag})
    found = await run_in_threadpool(plane.host_signatures, host, int(raw))
    if found is None:
        raise NotFound("signature version", raw)
    headers["ETag"] = found.etag
    if wanted == found.etag:
        return Response(status_code=304, headers=headers)
    body = {
        "version": found.version,
        "etag": found.etag,
        "files": [
            {
                "set": f.set_name,
                "name": f.name,
                "kind": f.kind,
                "sha256": f.sha256,
                "content_b64": base64.b64encode(f.content or b"").decode(),
            }
            for f in found.files
        ],
    }
    return JSONResponse(body, headers=headers)
