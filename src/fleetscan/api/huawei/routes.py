"""HTTP routes of the Huawei HSS v5 dialect: `/v5/{project_id}/antivirus/...`.

Each request is authenticated (an SDK-HMAC-SHA256 signature, or an `X-Auth-Token`), checked against the
path's project, handed to one operation in a thread, and answered with JSON. Every answer, error or
not, carries an `X-Request-Id` header: it is the only place the SDK reads a request id from.

Who may call (see errors.py for the codes):
- A signed request must carry `X-Project-Id`, equal to the path's project_id (the SDK sends and signs it).
- An `X-Auth-Token` request may omit `X-Project-Id`; when present it must equal the path's project_id.
- The path's project_id must be the project the key or token belongs to.
Unknown paths under /v5/ are 404 and known paths with another method 405, before authentication,
as API Gateway answers them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...core.errors import DomainError
from ...core.models import Scope
from ...core.service import ControlPlane
from ..security import AuthError, authenticate_signed, authenticate_token, request_parts
from . import handling, policies
from . import operations as ops
from .errors import (
    INTERNAL,
    METHOD_NOT_ALLOWED,
    NO_SUCH_API,
    HssError,
    error_response,
    forbidden,
    from_domain,
    unauthenticated,
)
from .params import Query

PREFIX = "/v5/{project_id}"
# Every route takes every method, so that a wrong one gets our 405 body rather than the framework's.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


def _request_id() -> str:
    return uuid.uuid4().hex


def _caller(request: Request) -> str:
    """Who is calling, for the handling history: the signing access key id, or `token` for an X-Auth-Token."""
    for part in request.headers.get("authorization", "").replace(",", " ").split():
        if part.startswith("Access="):
            return part.removeprefix("Access=")[:64]
    return "token"


def routes(plane: ControlPlane) -> list[BaseRoute]:
    async def authenticate(request: Request) -> tuple[Scope, bytes, str]:
        parts = await request_parts(request)
        path_project = request.path_params["project_id"]
        header_project = request.headers.get("x-project-id")
        try:
            if "authorization" in request.headers:
                scope = await run_in_threadpool(authenticate_signed, plane, parts)
                if header_project is None:
                    raise forbidden("X-Project-Id is required with a signed request")
            elif token := request.headers.get("x-auth-token"):
                scope = await run_in_threadpool(authenticate_token, plane, token)
            else:
                raise unauthenticated()
        except AuthError as exc:
            log.info("huawei: authentication refused: %s", exc.reason)
            raise unauthenticated() from exc
        if header_project is not None and header_project != path_project:
            raise forbidden("X-Project-Id does not match the project in the path")
        if path_project != scope.project_id:
            raise forbidden("the project in the path is not the project of these credentials")
        return scope, parts.body, parts.query

    def endpoint(table: Mapping[str, ops.Operation]) -> Endpoint:
        async def handle(request: Request) -> Response:
            request_id = _request_id()
            try:
                operation = table.get(request.method)
                if operation is None:
                    raise HssError(405, METHOD_NOT_ALLOWED, f"method {request.method} is not allowed here")
                scope, body, query = await authenticate(request)
                given = ops.Input(Query(query), body, _caller(request))
                result = await run_in_threadpool(operation, plane, scope, given)
                return JSONResponse(result, headers={"X-Request-Id": request_id})
            except HssError as exc:
                return error_response(exc, request_id)
            except DomainError as exc:
                return error_response(from_domain(exc), request_id)
            except Exception:
                log.exception("huawei: unexpected error (request %s)", request_id)
                return error_response(HssError(500, INTERNAL, "internal server error"), request_id)

        return handle

    async def no_such_api(request: Request) -> Response:
        error = HssError(404, NO_SUCH_API, "The API does not exist or has not been published in the environment")
        return error_response(error, _request_id())

    return [
        Route(
            f"{PREFIX}/antivirus/task",
            endpoint({"GET": ops.list_tasks, "POST": ops.create_task, "PUT": ops.cancel_task}),
            methods=ANY_METHOD,
        ),
        Route(f"{PREFIX}/antivirus/pay-per-scan/tasks", endpoint({"POST": ops.create_paid_task}), methods=ANY_METHOD),
        Route(f"{PREFIX}/antivirus/result", endpoint({"GET": ops.list_results}), methods=ANY_METHOD),
        Route(f"{PREFIX}/antivirus/statistic", endpoint({"GET": ops.statistic}), methods=ANY_METHOD),
        Route(f"{PREFIX}/antivirus/host-management/hosts", endpoint({"GET": ops.list_hosts}), methods=ANY_METHOD),
        Route(
            f"{PREFIX}/antivirus/policy",
            endpoint({"GET": policies.list_policies, "POST": policies.create_policy, "PUT": policies.change_policy}),
            methods=ANY_METHOD,
        ),
        Route(
            f"{PREFIX}/antivirus/policy/batch-delete",
            endpoint({"POST": policies.delete_policies}),
            methods=ANY_METHOD,
        ),
        Route(f"{PREFIX}/antivirus/result/operate", endpoint({"POST": handling.handle_results}), methods=ANY_METHOD),
        Route(f"{PREFIX}/antivirus/handle-history", endpoint({"GET": handling.list_history}), methods=ANY_METHOD),
        Route(
            f"{PREFIX}/event/isolated-file",
            endpoint({"GET": handling.list_isolated, "PUT": handling.restore_isolated}),
            methods=ANY_METHOD,
        ),
        Route("/v5/{rest:path}", no_such_api, methods=ANY_METHOD),
    ]
