"""Alibaba's error shape: `{RequestId, HostId, Code, Message, Recommend}` with an HTTP status.

The SDK (tea-openapi) raises `ClientException` for any 4xx and `ServerException` for 5xx, reading
`Code`, `Message` and `RequestId` from the body. So the code is what callers branch on, and the
status decides the exception class.

Authentication: every failure (unsigned, unknown key, bad signature, expired, replayed nonce,
malformed signature) is one answer, 403 `NoPermission` "caller has no permission". The SDK would
raise the same `ClientException` for Alibaba's finer codes (`SignatureDoesNotMatch`,
`SignatureNonceUsed`, ...), but the product's promise is one refusal for a wrong, expired,
replayed or foreign request, and a single answer gives a forger nothing to tune against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
        recommend = "recommend.NoPermission" if self.code == "NoPermission" else "recommend.default"
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
