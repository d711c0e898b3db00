"""Alibaba's error shape: `{RequestId, HostId, Code, Message, Recommend}` with an HTTP status.

The SDK (tea-openapi) raises `ClientException` for any 4xx and `ServerException` for 5xx, reading
`Code`, `Message` and `RequestId` from the body. So the code is what callers branch on, and the
status decides the exception class.

Authentication failures get the codes and statuses of Alibaba's OpenAPI gateway (its table of
common client errors), because scripts branch on them: an unknown key is 404
`InvalidAccessKeyId.NotFound`; a wrong signature 400 `SignatureDoesNotMatch`; an unreadable or
incomplete one 400 `IncompleteSignature`; a stale or future time 400 `InvalidTimeStamp.Expired`, a
malformed one 400 `InvalidTimeStamp.Format`; a spent nonce 400 `SignatureNonceUsed`; another
algorithm 400 `InvalidSignatureMethod`; no signature at all 400 `MissingAccessKeyId` (the gateway's
`Missing{Parameter}`). `NoPermission` (403) stays for a known key that may not do or see something.
The codes say which rule failed, never which secret or which bytes: the detail stays in the logs.

`ERRORS` is the one table from exceptions to answers (`api/edge.py` looks it up by class); the
operations raise domain errors and never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ...auth import Reason as AuthReason
from ...auth import SignatureError
from ...core.errors import (
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    UnknownQuarantinedFile,
)
from ..edge import BodyTooLarge, ErrorMap, MethodNotAllowed, NoRoute
from ..security import AuthError
from .lang import Lang, text


@dataclass(frozen=True)
class Reason:
    """Why a parameter is invalid: a lang.py key and its placeholders."""

    key: str
    args: dict[str, object] = field(default_factory=dict)


class AliError(Exception):
    """An answer in Alibaba's error shape. `code` is also the lang.py key of its message."""

    def __init__(
        self, status: int, code: str, args: dict[str, object] | None = None, reason: Reason | None = None
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.args_ = args or {}
        self.reason = reason

    def message(self, lang: Lang) -> str:
        args = dict(self.args_)
        if self.reason is not None:
            args["reason"] = text(self.reason.key, lang, **self.reason.args)
        return text(self.code, lang, **args)

    def body(self, request_id: str, host_id: str, lang: Lang) -> dict[str, object]:
        recommend = "recommend.auth" if self.code in AUTH_CODES | {"NoPermission"} else "recommend.default"
        return {
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code,
            "Message": self.message(lang),
            "Recommend": text(recommend, lang),
        }


def invalid(name: str, reason_key: str, **args: object) -> AliError:
    """400 InvalidParameter naming the parameter at fault."""
    return AliError(400, "InvalidParameter", {"name": name}, Reason("reason." + reason_key, dict(args)))


def missing(name: str) -> AliError:
    return AliError(400, "MissingParameter", {"name": name})


def no_permission() -> AliError:
    return AliError(403, "NoPermission")


def invalid_version() -> AliError:
    return AliError(400, "InvalidVersion")


def action_not_found() -> AliError:
    return AliError(404, "InvalidAction.NotFound")


def task_not_found(task: object) -> AliError:
    """An unknown task and another tenant's task get this same answer: existence does not leak."""
    return AliError(404, "InvalidTaskId.NotFound", {"task": task})


def dry_run() -> AliError:
    """Alibaba's DryRun convention: a request that would succeed answers 400 DryRunOperation."""
    return AliError(400, "DryRunOperation")


def conflict(detail: str) -> AliError:
    return AliError(409, "Conflict", {"detail": detail})


def server_error() -> AliError:
    return AliError(500, "ServerError")


def too_large(limit: int) -> AliError:
    return AliError(413, "RequestEntityTooLarge", {"limit": limit})


def quara_file_not_found(ident: object) -> AliError:
    return AliError(404, "InvalidQuaraFileId.NotFound", {"id": ident})


# ---------------------------------------------------------------------- authentication
_SIGNATURE_DOES_NOT_MATCH = (400, "SignatureDoesNotMatch")
_INCOMPLETE_SIGNATURE = (400, "IncompleteSignature")
AUTH: Final[dict[AuthReason, tuple[int, str]]] = {
    AuthReason.UNSIGNED: (400, "MissingAccessKeyId"),
    AuthReason.UNKNOWN_ACCESS_KEY: (404, "InvalidAccessKeyId.NotFound"),
    AuthReason.SIGNATURE_MISMATCH: _SIGNATURE_DOES_NOT_MATCH,
    AuthReason.BODY_HASH_MISMATCH: _SIGNATURE_DOES_NOT_MATCH,
    AuthReason.CLAIM_MISMATCH: _SIGNATURE_DOES_NOT_MATCH,
    AuthReason.HEADER_PARAM_MISMATCH: _SIGNATURE_DOES_NOT_MATCH,
    AuthReason.EXPIRED: (400, "InvalidTimeStamp.Expired"),
    AuthReason.MALFORMED_DATE: (400, "InvalidTimeStamp.Format"),
    AuthReason.REPLAYED_NONCE: (400, "SignatureNonceUsed"),
    AuthReason.UNSUPPORTED_ALGORITHM: (400, "InvalidSignatureMethod"),
    AuthReason.MALFORMED_AUTHORIZATION: _INCOMPLETE_SIGNATURE,
    AuthReason.MISSING_SIGNED_HEADER: _INCOMPLETE_SIGNATURE,
    AuthReason.DUPLICATE_HEADER: _INCOMPLETE_SIGNATURE,
    AuthReason.DUPLICATE_PARAMETER: _INCOMPLETE_SIGNATURE,
    AuthReason.MALFORMED_QUERY: _INCOMPLETE_SIGNATURE,
    AuthReason.MALFORMED_PATH: _INCOMPLETE_SIGNATURE,
    AuthReason.UNSIGNED_BODY: _INCOMPLETE_SIGNATURE,
    AuthReason.UNSIGNED_PATH: _INCOMPLETE_SIGNATURE,
    AuthReason.UNKNOWN_TOKEN: (404, "InvalidAccessKeyId.NotFound"),  # no tokens in this dialect; never raised
}
"""Every refusal reason -> the gateway's (status, code). Complete: a new Reason must get a row here."""
AUTH_CODES: Final = frozenset(code for _, code in AUTH.values())


def auth_failed(reason: AuthReason) -> AliError:
    status, code = AUTH[reason]
    return AliError(status, code)


def _invalid(exc: InvalidParameter) -> AliError:
    return invalid(exc.parameter, "core", detail=exc.message)


def _conflict(exc: DomainError) -> AliError:
    return conflict(exc.message)


ERRORS: Final[ErrorMap[AliError]] = {
    AliError: lambda exc: exc,
    AuthError: lambda exc: auth_failed(exc.reason),
    SignatureError: lambda exc: auth_failed(exc.reason),
    BodyTooLarge: lambda exc: too_large(exc.limit),
    NoRoute: lambda exc: action_not_found(),
    MethodNotAllowed: lambda exc: action_not_found(),
    InvalidParameter: _invalid,
    UnknownQuarantinedFile: lambda exc: quara_file_not_found(exc.ident),
    NotFound: lambda exc: task_not_found(exc.ident),
    PermissionDenied: lambda exc: no_permission(),
    IllegalTransition: _conflict,
    Conflict: _conflict,
    DomainError: _conflict,
}
