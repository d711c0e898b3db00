"""The Alibaba Cloud Sas (2018-12-03) RPC dialect: one route, "/", dispatched on the action.

The action comes from the `x-acs-action` header (V3, ACS3-HMAC-SHA256) or the `Action` parameter
(V1, HMAC-SHA1 `Signature`), the version from `x-acs-version` or `Version`. Every request goes through
the edge's seam (`api/edge.py`): a body over the cap is 413 before it is read. Checks then run in the
order a caller can fix them: method, version (400 InvalidVersion), action (404
InvalidAction.NotFound), signature (the gateway's codes, see errors.py), parameter encoding and
duplicates (400 InvalidParameter), then the operation. A V3 request is authenticated from its
headers (the body hash against the capped bytes) before any body parameter is parsed; a V1 request
carries its signature in the parameters, so those are parsed first. Both happen off the event loop.
Every answer is JSON with a RequestId, also in the `x-acs-request-id` header as Alibaba sends it; an
unexpected failure is a JSON 500 ServerError, never a framework page.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...auth import MalformedEncodingError, RequestParts, query_pairs
from ...auth.encoding import form_pairs
from ...core import ids
from ...core.service import ControlPlane
from ..edge import DEFAULT_CLOUD_BODY_BYTES, Edge, name_operation, request_id
from ..json_body import JsonResponse
from ..security import authenticate_signed, request_parts
from . import errors
from .cycle import CYCLE_ACTIONS
from .errors import AliError
from .lang import DEFAULT_ERROR_LANG, LANGS, Lang
from .operations import ACTIONS
from .params import Params
from .quarantine import QUARANTINE_ACTIONS

VERSION = "2018-12-03"
RPC_METHODS = ("GET", "POST")
# Other methods reach the endpoint too, so that they get Alibaba's JSON 404 rather than a plain 405.
ROUTE_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def _pairs(parts: RequestParts) -> list[tuple[str, str]]:
    """Query then form body, decoded exactly as the signature verifiers decode them."""
    pairs = query_pairs(parts.query)
    content_type = (parts.header_values("content-type") or [""])[0]
    if parts.body and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        pairs += form_pairs(parts.body)
    return pairs


def _header(parts: RequestParts, name: str) -> str | None:
    """The first value, as routing has always read it (a signature verifier refuses a repeated signed one)."""
    values = parts.header_values(name)
    return values[0] if values else None


def _one(pairs: list[tuple[str, str]], name: str) -> str | None:
    found = [value for key, value in pairs if key == name]
    return found[0] if len(found) == 1 else None


def _render(error: AliError, request: Request) -> Response:
    rid = request_id(request)
    lang: Lang = getattr(request.state, "lang", DEFAULT_ERROR_LANG)
    host_id = request.headers.get("host", "fleetscan")[:256]
    return _json(error.body(rid, host_id, lang), error.status, rid)


def edge(body_limit: int = DEFAULT_CLOUD_BODY_BYTES) -> Edge[AliError]:
    return Edge("alibaba", errors.ERRORS, errors.server_error, _render, ids.request_uuid, body_limit)


class _Parameters:
    """The request's query and form pairs, decoded on first use only: a V3 request is authenticated first."""

    def __init__(self, parts: RequestParts) -> None:
        self.parts = parts
        self._pairs: list[tuple[str, str]] | None = None
        self.malformed = False

    def pairs(self) -> list[tuple[str, str]]:
        if self._pairs is None:
            try:
                self._pairs = _pairs(self.parts)
            except MalformedEncodingError:
                self._pairs, self.malformed = [], True
        return self._pairs

    def one(self, name: str) -> str | None:
        return _one(self.pairs(), name)


def routes(plane: ControlPlane, body_limit: int = DEFAULT_CLOUD_BODY_BYTES) -> list[BaseRoute]:
    seam = edge(body_limit)

    async def handle(request: Request) -> Response:
        if request.method not in RPC_METHODS:
            raise errors.action_not_found()
        parts = await request_parts(request)
        body = await run_in_threadpool(serve, parts, request)
        rid = request_id(request)
        return _json({"RequestId": rid, **body}, 200, rid)

    def serve(parts: RequestParts, request: Request) -> dict[str, Any]:
        given = _Parameters(parts)
        version = _header(parts, "x-acs-version") or given.one("Version")
        if version != VERSION:
            raise errors.invalid_version()
        action = _header(parts, "x-acs-action") or given.one("Action")
        operation = ACTIONS.get(action or "") or CYCLE_ACTIONS.get(action or "") or QUARANTINE_ACTIONS.get(action or "")
        if operation is None:
            raise errors.action_not_found()
        name_operation(request, action or "")  # one of the actions above: the metrics' labels stay known
        scope = authenticate_signed(plane, parts)
        pairs = given.pairs()
        if given.malformed:
            raise errors.invalid("parameters", "encoding")
        request.state.lang = _error_lang(pairs)
        result: dict[str, Any] = operation(plane, scope, Params(pairs))
        return result

    return [Route("/", seam.endpoint(handle), methods=ROUTE_METHODS)]


def _error_lang(pairs: list[tuple[str, str]]) -> Lang:
    wanted = _one(pairs, "Lang")
    for lang in LANGS:
        if wanted == lang:
            return lang
    return DEFAULT_ERROR_LANG


def _json(body: dict[str, object], status: int, request_id: str) -> Response:
    return JsonResponse(body, status_code=status, headers={"x-acs-request-id": request_id})
