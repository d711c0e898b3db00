"""The Alibaba Cloud Sas (2018-12-03) RPC dialect: one route, "/", dispatched on the action.

The action comes from the `x-acs-action` header (V3, ACS3-HMAC-SHA256) or the `Action` parameter
(V1, HMAC-SHA1 `Signature`), the version from `x-acs-version` or `Version`. Checks run in the
order a caller can fix them: method, version (400 InvalidVersion), action (404
InvalidAction.NotFound), signature (403 NoPermission, see errors.py), parameter encoding and
duplicates (400 InvalidParameter), then the operation. Every answer is JSON with a RequestId,
also in the `x-acs-request-id` header as Alibaba sends it; an unexpected failure is a JSON 500
ServerError, never a framework page.
"""

from __future__ import annotations

import logging
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...auth import MalformedEncodingError, RequestParts, query_pairs
from ...auth.encoding import form_pairs
from ...core.errors import Conflict, DomainError, IllegalTransition, InvalidParameter, NotFound, PermissionDenied
from ...core.service import ControlPlane
from ..security import AuthError, authenticate_signed, request_parts
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

log = logging.getLogger(__name__)


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _pairs(parts: RequestParts) -> list[tuple[str, str]]:
    """Query then form body, decoded exactly as the signature verifiers decode them."""
    pairs = query_pairs(parts.query)
    content_type = (parts.header_values("content-type") or [""])[0]
    if parts.body and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        pairs += form_pairs(parts.body)
    return pairs


def _one(pairs: list[tuple[str, str]], name: str) -> str | None:
    found = [value for key, value in pairs if key == name]
    return found[0] if len(found) == 1 else None


def _from_domain(exc: DomainError) -> AliError:
    if isinstance(exc, InvalidParameter):
        return errors.invalid(exc.parameter, "core", detail=exc.message)
    if isinstance(exc, NotFound):
        return errors.task_not_found(exc.ident)
    if isinstance(exc, PermissionDenied):
        return errors.no_permission()
    if isinstance(exc, IllegalTransition | Conflict):
        return errors.conflict(exc.message)
    return errors.server_error()


def routes(plane: ControlPlane) -> list[BaseRoute]:
    async def endpoint(request: Request) -> Response:
        request_id = _request_id()
        host_id = request.headers.get("host", "fleetscan")[:256]
        lang: Lang = DEFAULT_ERROR_LANG
        try:
            body = await handle(request, request_id)
            return _json({"RequestId": request_id, **body}, 200, request_id)
        except _Failure as failure:
            lang = failure.lang
            err = failure.error
        except AliError as exc:
            err = exc
        except Exception:
            log.exception("alibaba request %s failed", request_id)
            err = errors.server_error()
        return _json(err.body(request_id, host_id, lang), err.status, request_id)

    async def handle(request: Request, request_id: str) -> dict[str, object]:
        if request.method not in RPC_METHODS:
            raise errors.action_not_found()
        parts = await request_parts(request)
        try:
            pairs: list[tuple[str, str]] | None = _pairs(parts)
        except MalformedEncodingError:
            pairs = None
        given = pairs or []
        version = request.headers.get("x-acs-version") or _one(given, "Version")
        if version != VERSION:
            raise errors.invalid_version()
        action = request.headers.get("x-acs-action") or _one(given, "Action")
        operation = ACTIONS.get(action or "") or CYCLE_ACTIONS.get(action or "") or QUARANTINE_ACTIONS.get(action or "")
        if operation is None:
            raise errors.action_not_found()
        try:
            scope = await run_in_threadpool(authenticate_signed, plane, parts)
        except AuthError as exc:
            log.info("alibaba request %s refused: %s", request_id, exc.reason)
            raise errors.no_permission() from exc
        if pairs is None:
            raise errors.invalid("parameters", "encoding")
        lang = _error_lang(pairs)
        try:
            params = Params(pairs)
            return await run_in_threadpool(operation, plane, scope, params)
        except AliError as exc:
            raise _Failure(exc, lang) from exc
        except DomainError as exc:
            raise _Failure(_from_domain(exc), lang) from exc

    return [Route("/", endpoint, methods=ROUTE_METHODS)]


class _Failure(Exception):
    """An AliError raised once the request's Lang is known, so its message can follow it."""

    def __init__(self, error: AliError, lang: Lang) -> None:
        super().__init__(error.code)
        self.error = error
        self.lang = lang


def _error_lang(pairs: list[tuple[str, str]]) -> Lang:
    wanted = _one(pairs, "Lang")
    for lang in LANGS:
        if wanted == lang:
            return lang
    return DEFAULT_ERROR_LANG


def _json(body: dict[str, object], status: int, request_id: str) -> Response:
    return JSONResponse(body, status_code=status, headers={"x-acs-request-id": request_id})
