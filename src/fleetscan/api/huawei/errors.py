"""HSS error bodies `{error_code, error_msg}` and the status code each failure gets.

The Huawei SDK raises `ClientRequestException` (status < 500) or `ServerResponseException` (>= 500),
reading `error_code`/`error_msg` from the body and the request id only from the `X-Request-Id` header,
so every response of this dialect carries that header.

Codes, chosen to look like what Huawei Cloud returns (API Gateway answers before HSS does):

| status | error_code   | when |
| ------ | ------------ | ---- |
| 400    | HSS.0001     | a parameter or body field is missing, malformed or out of range (message names it) |
| 401    | APIGW.0301   | no credentials, bad or stale signature, unknown key, unknown/expired X-Auth-Token |
| 403    | HSS.0004     | authenticated, not allowed: another project in the path or X-Project-Id, |
|        |              | or an enterprise project the key is not granted |
| 404    | HSS.0002     | no such task visible to the caller (another tenant's task is indistinguishable from none) |
| 404    | APIGW.0101   | no API at this path (as API Gateway answers) |
| 405    | APIGW.0102   | the path exists, the method does not |
| 409    | HSS.0003     | the request contradicts the current state (rescan of a task still running) |
| 413    | APIGW.0201   | the body is over the cap (`fleetscan server --max-body-bytes`, default 1 MiB) |
| 500    | HSS.0041     | anything unexpected; never a bare framework page |

`ERRORS` is the one table from exceptions to these answers (`api/edge.py` looks it up by class).

Why 401 and not 403 for a bad signature: that is what real Huawei Cloud answers, and the SDK treats
both the same way (a `ClientRequestException` carrying the status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from ...auth import SignatureError
from ...core.errors import Conflict, DomainError, IllegalTransition, InvalidParameter, NotFound, PermissionDenied
from ..edge import BodyTooLarge, ErrorMap, MethodNotAllowed, NoRoute, request_id
from ..json_body import JsonResponse
from ..security import AuthError

INVALID_PARAMETER = "HSS.0001"
NOT_FOUND = "HSS.0002"
CONFLICT = "HSS.0003"
NO_PERMISSION = "HSS.0004"
INTERNAL = "HSS.0041"
BAD_CREDENTIALS = "APIGW.0301"
NO_SUCH_API = "APIGW.0101"
METHOD_NOT_ALLOWED = "APIGW.0102"
TOO_LARGE = "APIGW.0201"


class HssError(Exception):
    """A failure already in HSS terms: raise it anywhere in a handler, the route wrapper renders it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid(parameter: str, message: str) -> HssError:
    return HssError(400, INVALID_PARAMETER, f"invalid param error: {parameter}: {message}")


def unauthenticated() -> HssError:
    # The reason stays in the logs: telling a caller why a signature failed helps only an attacker.
    return HssError(401, BAD_CREDENTIALS, "Incorrect IAM authentication information: verify aksk signature fail")


def forbidden(message: str) -> HssError:
    return HssError(403, NO_PERMISSION, f"no permission: {message}")


def _invalid(exc: InvalidParameter) -> HssError:
    return invalid(exc.parameter, exc.message.split(": ", 1)[-1])


def _as(status: int, code: str, prefix: str = "") -> Callable[[Exception], HssError]:
    def make(exc: Exception) -> HssError:
        return HssError(status, code, prefix + (getattr(exc, "message", None) or str(exc)))

    return make


ERRORS: Final[ErrorMap[HssError]] = {
    HssError: lambda exc: exc,
    AuthError: lambda exc: unauthenticated(),
    SignatureError: lambda exc: unauthenticated(),
    InvalidParameter: _invalid,
    NotFound: _as(404, NOT_FOUND),
    PermissionDenied: _as(403, NO_PERMISSION, "no permission: "),
    IllegalTransition: _as(409, CONFLICT),
    Conflict: _as(409, CONFLICT),
    DomainError: _as(400, INVALID_PARAMETER),
    NoRoute: lambda exc: HssError(
        404, NO_SUCH_API, "The API does not exist or has not been published in the environment"
    ),
    MethodNotAllowed: _as(405, METHOD_NOT_ALLOWED),
    BodyTooLarge: _as(413, TOO_LARGE, "Request entity too large: "),
}


def internal() -> HssError:
    return HssError(500, INTERNAL, "internal server error")


def render(error: HssError, request: Request) -> Response:
    rid = request_id(request)
    return JsonResponse(
        {"error_code": error.code, "error_msg": error.message, "request_id": rid},
        status_code=error.status,
        headers={"X-Request-Id": rid},
    )
