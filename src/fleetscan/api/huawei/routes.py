"""HTTP routes of the Huawei HSS v5 dialect: `/v5/{project_id}/antivirus/...`.

Each request is authenticated (an SDK-HMAC-SHA256 signature, or an `X-Auth-Token`), checked against the
path's project, handed to one operation in a thread, and answered with JSON. Every answer, error or
not, carries an `X-Request-Id` header: it is the only place the SDK reads a request id from.

Who may call (see errors.py for the codes):
- A signed request must carry `X-Project-Id`, equal to the path's project_id (the SDK sends and signs it).
- An `X-Auth-Token` request may omit `X-Project-Id`; when present it must equal the path's project_id.
- The path's project_id must be the project the key or token belongs to.
Unknown paths under /v5/ are 404 and known paths with another method 405, before authentication,
as API Gateway answers them. Every route goes through the edge's seam (`api/edge.py`): a body over the
cap is 413 `APIGW.0201`; a token is checked before the body is read, a signature against the capped body.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ...core import ids
from ...core.models import Scope
from ...core.service import ControlPlane
from ..edge import ANY_METHOD, DEFAULT_CLOUD_BODY_BYTES, DEFAULT_SIGNATURE_BODY_BYTES, Edge, request_id
from ..json_body import JsonResponse
from ..security import authenticate_signed, authenticate_token, request_parts
from . import handling, policies, signatures, sweep
from . import operations as ops
from .errors import ERRORS, HssError, forbidden, internal, render, unauthenticated
from .params import Query

PREFIX = "/v5/{project_id}"
Operations = Mapping[str, tuple[str, ops.Operation]]
"""A route's operations by HTTP method, each with its HSS API name (the metrics' `operation` label)."""


def edge(body_limit: int = DEFAULT_CLOUD_BODY_BYTES) -> Edge[HssError]:
    return Edge("hss", ERRORS, internal, render, ids.request_hex, body_limit)


def _caller(request: Request) -> str:
    """Who is calling, for the handling history: the signing access key id, or `token` for an X-Auth-Token."""
    for part in request.headers.get("authorization", "").replace(",", " ").split():
        if part.startswith("Access="):
            return part.removeprefix("Access=")[:64]
    return "token"


def routes(
    plane: ControlPlane,
    body_limit: int = DEFAULT_CLOUD_BODY_BYTES,
    signature_body_limit: int = DEFAULT_SIGNATURE_BODY_BYTES,
) -> list[BaseRoute]:
    seam = edge(body_limit)
    uploads = edge(signature_body_limit)  # the signature-sets route's own cap: files are larger than API calls

    async def authenticate(request: Request) -> Scope:
        """From the headers first: a token needs no body; a signature covers the (capped) body's hash."""
        path_project = request.path_params["project_id"]
        header_project = request.headers.get("x-project-id")
        if "authorization" in request.headers:
            scope = await run_in_threadpool(authenticate_signed, plane, await request_parts(request))
            if header_project is None:
                raise forbidden("X-Project-Id is required with a signed request")
        elif token := request.headers.get("x-auth-token"):
            scope = await run_in_threadpool(authenticate_token, plane, token)
        else:
            raise unauthenticated()
        if header_project is not None and header_project != path_project:
            raise forbidden("X-Project-Id does not match the project in the path")
        if path_project != scope.project_id:
            raise forbidden("the project in the path is not the project of these credentials")
        return scope

    def endpoint(table: Operations, through: Edge[HssError] | None = None) -> ASGIApp:
        async def handle(request: Request) -> Response:
            _, operation = table[request.method]
            scope = await authenticate(request)
            parts = await request_parts(request)  # the body is read once, within the cap
            given = ops.Input(Query(parts.query), parts.body, _caller(request))
            result = await run_in_threadpool(operation, plane, scope, given)
            return JsonResponse(result, headers={"X-Request-Id": request_id(request)})

        names = {method: name for method, (name, _) in table.items()}
        return (through or seam).endpoint(handle, methods=tuple(table), operation=names)

    def route(path: str, table: Operations, through: Edge[HssError] | None = None) -> Route:
        return Route(f"{PREFIX}{path}", endpoint(table, through), methods=list(ANY_METHOD))

    # The names of fleetscan's own routes (signature sets, sweeps) follow the HSS pattern.
    return [
        route(
            "/antivirus/task",
            {
                "GET": ("ListAntiVirusTask", ops.list_tasks),
                "POST": ("CreateAntiVirusTask", ops.create_task),
                "PUT": ("SwitchAntivirusTask", ops.cancel_task),
            },
        ),
        route("/antivirus/pay-per-scan/tasks", {"POST": ("CreateAntiVirusPaidTask", ops.create_paid_task)}),
        route("/antivirus/result", {"GET": ("ListAntiVirusResult", ops.list_results)}),
        route("/antivirus/statistic", {"GET": ("ShowAntivirusStatistic", ops.statistic)}),
        route("/antivirus/host-management/hosts", {"GET": ("ListAntiVirusHost", ops.list_hosts)}),
        route(
            "/antivirus/policy",
            {
                "GET": ("ListAntiVirusPolicy", policies.list_policies),
                "POST": ("CreateAntiVirusPolicy", policies.create_policy),
                "PUT": ("ChangeAntivirusPolicy", policies.change_policy),
            },
        ),
        route("/antivirus/policy/batch-delete", {"POST": ("DeleteAntivirusPolicy", policies.delete_policies)}),
        route("/antivirus/result/operate", {"POST": ("HandleAntiVirusResult", handling.handle_results)}),
        route("/antivirus/handle-history", {"GET": ("ListAntivirusHandleHistory", handling.list_history)}),
        route(
            "/event/isolated-file",
            {
                "GET": ("ListIsolatedFile", handling.list_isolated),
                "PUT": ("ChangeIsolatedFile", handling.restore_isolated),
            },
        ),
        route(
            "/fleetscan/signature-sets",
            {
                "GET": ("ListSignatureSets", signatures.list_sets),
                "POST": ("AddSignatureSet", signatures.add_set),
                "DELETE": ("DeleteSignatureSet", signatures.remove_set),
            },
            uploads,
        ),
        route("/fleetscan/sweep", {"GET": ("ShowSweepKnown", sweep.known), "POST": ("StartSweep", sweep.start)}),
        seam.catch_all("/v5/{rest:path}"),
    ]
