"""HTTP routes of the agent protocol. Agents authenticate with `Authorization: Bearer <agent_id>:<secret>`.

Every route goes through one `Edge` (`api/edge.py`): errors of every kind, unknown paths and wrong
methods included, are JSON `{error, message, request_id}` (`docs/agent-protocol.md`), with the id also in
`X-Request-Id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...core import ids
from ...core.errors import DomainError, IllegalTransition, InvalidParameter, NotFound, PermissionDenied
from ...core.models import Host, RootTask, Subtask
from ...core.service import ControlPlane, HostFacts
from ...core.tasks import AgentReport, ReportOutcome
from ..edge import (
    ANY_METHOD,
    DEFAULT_AGENT_BODY_BYTES,
    BodyTooLarge,
    Edge,
    ErrorMap,
    MethodNotAllowed,
    NoRoute,
    request_id,
)
from ..json_body import JsonResponse
from . import actions, longpoll, signatures
from .batching import Batcher, Outcome
from .group_commit import GroupCommit
from .messages import CompletionReport, EnrollRequest, HeartbeatRequest, ProgressReport, sort_findings

PREFIX = "/agent/v1"
LOGIN_BATCH = 500  # credentials verified per database read
INLINE_BODY_BYTES = 8192  # bodies up to this size are validated on the event loop (tens of microseconds)
_NO_NEWS: Final = HeartbeatRequest()
Handler = Callable[[Request], Awaitable[Response]]


class AgentError(Exception):
    """An answer in the protocol's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _as(status: int, code: str) -> Callable[[Exception], AgentError]:
    def make(exc: Exception) -> AgentError:
        return AgentError(status, code, getattr(exc, "message", None) or str(exc))

    return make


ERRORS: Final[ErrorMap[AgentError]] = {
    AgentError: lambda exc: exc,
    PermissionDenied: _as(401, "unauthorized"),
    NotFound: _as(404, "not_found"),
    NoRoute: _as(404, "not_found"),
    MethodNotAllowed: _as(405, "method_not_allowed"),
    IllegalTransition: _as(409, "illegal_transition"),
    InvalidParameter: _as(400, "invalid_parameter"),
    BodyTooLarge: _as(413, "too_large"),
    DomainError: _as(409, "conflict"),
}


def _internal() -> AgentError:
    return AgentError(500, "internal", "internal server error")


def _render(error: AgentError, request: Request) -> Response:
    rid = request_id(request)
    body = {"error": error.code, "message": error.message, "request_id": rid}
    return JsonResponse(body, status_code=error.status, headers={"X-Request-Id": rid})


def edge(body_limit: int = DEFAULT_AGENT_BODY_BYTES) -> Edge[AgentError]:
    return Edge("agent", ERRORS, _internal, _render, ids.request_hex, body_limit)


def _validate(model: type[BaseModel], raw: bytes) -> Any:
    try:
        return model.model_validate(json.loads(raw or b"{}"))
    except (ValueError, ValidationError, RecursionError) as exc:
        raise InvalidParameter("body", str(exc).splitlines()[0] if str(exc) else "invalid JSON") from exc


async def _body(request: Request, model: type[BaseModel]) -> Any:
    """The body (read within the edge's cap), parsed and validated: a small one (a beat, most reports) on the event
    loop, where it costs less than the trip to a worker thread; a larger one off it."""
    raw = await request.body()
    if len(raw) <= INLINE_BODY_BYTES:
        return _validate(model, raw)
    return await run_in_threadpool(_validate, model, raw)


def _work_item(sub: Subtask, root: RootTask) -> dict[str, Any]:
    return {
        "subtask_id": sub.subtask_id,
        "task_id": root.task_id,
        "task_name": root.name,
        "scan_type": root.scan_type.value,
        "action": root.action.value,
        "scan_paths": root.scan_paths,
        "ignore_paths": root.ignore_paths,
        "file_types": root.file_types,
        "status": sub.status.value,
        "progress": sub.progress,
        "files_scanned": sub.files_scanned,
        "bytes_scanned": sub.bytes_scanned,
        "checkpoint": sub.checkpoint,
        "sweep": [h.as_dict() for h in root.sweep],
    }


def _outcome(outcome: ReportOutcome) -> dict[str, Any]:
    sub = outcome.subtask
    return {
        "status": sub.status.value,
        "cancel": sub.status.value == "cancelled",
        "duplicate": outcome.duplicate,
        "viruses_found": sub.viruses_found,
        "progress": sub.progress,
    }


def _wait(request: Request) -> tuple[float, str]:
    """`GET /work?wait=S&seen=D`: hold up to S seconds (0..MAX_WAIT_S) while the work's digest is still D."""
    raw = request.query_params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise InvalidParameter("wait", "must be a number of seconds") from None
    if not 0 <= wait <= longpoll.MAX_WAIT_S:
        raise InvalidParameter("wait", f"must be within 0..{longpoll.MAX_WAIT_S:g} seconds")
    seen = request.query_params.get("seen", "")
    if len(seen) > 64:
        raise InvalidParameter("seen", "must be a digest from an earlier answer")
    return wait, seen


def _digest(body: dict[str, Any]) -> str:
    """What the agent holds, as one value: its subtasks (id and state), actions, whitelist and signature offer.
    Progress counters are left out: a report changing them is not news to the agent that sent it."""
    held = {
        "subtasks": [(w["subtask_id"], w["status"]) for w in body["subtasks"]],
        "actions": [a["action_id"] for a in body["actions"]],
        "whitelist": body["whitelist"],
        "signatures": body["signatures"],
    }
    return hashlib.sha256(json.dumps(held, sort_keys=True, default=str).encode()).hexdigest()[:32]


def routes(
    plane: ControlPlane, body_limit: int = DEFAULT_AGENT_BODY_BYTES, tls_bundle: bytes | None = None
) -> list[BaseRoute]:
    seam = edge(body_limit)
    bell = longpoll.WorkBell(plane)

    def write_reports(batch: Sequence[tuple[AgentReport, int | None]]) -> list[ReportOutcome | Exception]:
        """A batch of reports (`group_commit.py`); then each reporting host's signature version, when it moved."""
        outcomes = plane.report_many([asked for asked, _ in batch])
        for (asked, version), outcome in zip(batch, outcomes, strict=True):
            if not isinstance(outcome, Exception):
                plane.note_host_signatures(asked.host, version)
        return outcomes

    group: GroupCommit[tuple[AgentReport, int | None], ReportOutcome] = GroupCommit(write_reports)

    def verify(credentials: Sequence[tuple[str, str]]) -> list[Outcome[Host]]:
        refused = "unknown agent or wrong secret"
        return [(h, None if h else PermissionDenied(refused)) for h in plane.authenticate_agents(credentials)]

    # Credentials not in the cache (a restarted server meets every agent within a beat) verified many per read.
    logins: Batcher[tuple[str, str], Host] = Batcher(verify, max_batch=LOGIN_BATCH)

    def owned(asked: Sequence[tuple[Host, str]]) -> list[Outcome[tuple[int, int]]]:
        return [(None, k) if isinstance(k, Exception) else (k, None) for k in plane.subtask_keys(asked)]

    # Which subtask a report is for, when not remembered (the same restart meets every scanning agent's report).
    subtask_keys: Batcher[tuple[Host, str], tuple[int, int]] = Batcher(owned, max_batch=LOGIN_BATCH)

    def route(
        path: str, method: str, handler: Callable[[Request], Awaitable[dict[str, Any]]], status: int = 200
    ) -> Route:
        async def answer(request: Request) -> Response:
            return JsonResponse(
                await handler(request), status_code=status, headers={"X-Request-Id": request_id(request)}
            )

        endpoint = seam.endpoint(answer, methods=(method,), operation=handler.__name__)
        return Route(f"{PREFIX}{path}", endpoint, methods=list(ANY_METHOD))

    async def caller(request: Request) -> Host:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        agent_id, _, secret = credential.partition(":")
        if scheme.lower() != "bearer" or not agent_id or not secret:
            raise PermissionDenied("missing agent credential")
        known = plane.cached_agent(agent_id, secret)  # verified a moment ago: no trip to the database
        return known if known is not None else await logins.run((agent_id, secret))

    async def enroll(request: Request) -> dict[str, Any]:
        body: EnrollRequest = await _body(request, EnrollRequest)
        facts = HostFacts(
            body.name, body.private_ip, body.public_ip, body.os_type, body.os_name, body.os_version, body.agent_version
        )
        done = await run_in_threadpool(plane.enroll, body.enroll_token, facts)
        return {
            "agent_id": done.host.agent_id,
            "agent_secret": done.agent_secret,
            "host_id": done.host.host_id,
            "project_id": done.host.project_id,
        }

    async def heartbeat(request: Request) -> dict[str, Any]:
        host = await caller(request)
        headers = request.headers  # no body declared (the usual beat): none read, no model built
        sent = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        beat: HeartbeatRequest = await _body(request, HeartbeatRequest) if sent else _NO_NEWS
        if beat.stopping or plane.beats is None:
            await run_in_threadpool(partial(plane.heartbeat, host, stopping=beat.stopping))
        else:
            plane.heartbeat(host)  # only noted in memory (core/beats.py): no thread, no database
        return {"server_time": plane.clock()}

    async def work(request: Request) -> dict[str, Any]:
        host = await caller(request)
        wait, seen = _wait(request)

        def answer() -> dict[str, Any]:
            # Everything read and rendered first: taking the subtasks (pending -> dispatched) is the last step.
            with plane.shared_reads():  # the answer's reads in one transaction, not four
                todo = actions.work_actions(plane, host)
                whitelist = actions.work_whitelist(plane, host)
                central = signatures.offer(plane, host)
                subtasks = plane.take_work(host, _work_item)
            body = {
                "server_time": plane.clock(),
                "subtasks": subtasks,
                "actions": todo,
                "whitelist": whitelist,
                "signatures": central,
            }
            return {**body, "long_poll": True, "digest": _digest(body)}

        if wait <= 0:
            return await run_in_threadpool(answer)
        # Long-poll: answer when the work differs from what the agent holds (`seen`; without it, when there is
        # any), or when `wait` is over. Parked before reading, so work that arrives meanwhile still wakes it.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            ticket = await bell.ticket(host.id)
            try:
                body = await run_in_threadpool(answer)
                unchanged = body["digest"] == seen if seen else not (body["subtasks"] or body["actions"])
                left = deadline - loop.time()
                if not unchanged or left <= 0 or bell.closing:
                    return body
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ticket.wait(), left)
            finally:
                bell.leave(host.id, ticket)
            if loop.time() >= deadline or bell.closing:
                return {**body, "server_time": plane.clock()}

    async def report(request: Request, finished: bool) -> dict[str, Any]:
        host = await caller(request)
        subtask_id = request.path_params["subtask_id"]
        key = plane.cached_subtask_key(host, subtask_id)
        if key is None:
            key = await subtask_keys.run((host, subtask_id))
        body: ProgressReport = await _body(request, CompletionReport if finished else ProgressReport)
        findings, refused = sort_findings(body.detections)
        asked = AgentReport(
            host,
            key[0],
            body.report_id,
            body.counters(),
            [replace(f.detection(), signature_version=body.signature_version) for f in findings],
            finished=finished,
            succeeded=isinstance(body, CompletionReport) and body.result == "success",
            reason=body.reason if isinstance(body, CompletionReport) else "",
            quarantined=actions.auto_quarantined(findings),
        )
        return {**_outcome(await group.run((asked, body.signature_version))), "refused": refused}

    async def action_result(request: Request) -> dict[str, Any]:
        host = await caller(request)
        body: actions.ActionResult = await _body(request, actions.ActionResult)
        return await run_in_threadpool(actions.finish, plane, host, request.path_params["action_id"], body)

    async def bundle(_request: Request) -> Response:
        """The certificates the server presents, unauthenticated: an enrolling agent keeps the one its token pins
        (`agent/tls.py`). Public by nature; nothing here is trusted until the pin matches and a handshake verifies."""
        if tls_bundle is None:
            raise NotFound("tls-bundle", "(this server does not serve TLS)")
        return Response(tls_bundle, media_type="application/x-pem-file")

    async def progress(request: Request) -> dict[str, Any]:
        return await report(request, finished=False)

    async def complete(request: Request) -> dict[str, Any]:
        return await report(request, finished=True)

    return [
        route("/enroll", "POST", enroll, 201),
        route("/heartbeat", "POST", heartbeat),
        route("/work", "GET", work),
        route("/subtasks/{subtask_id}/progress", "POST", progress),
        route("/subtasks/{subtask_id}/complete", "POST", complete),
        route("/actions/{action_id}/result", "POST", action_result),
        Route(f"{PREFIX}/tls-bundle", seam.endpoint(bundle, methods=("GET",)), methods=list(ANY_METHOD)),
        Route(
            f"{PREFIX}/signatures/{{version}}",
            seam.endpoint(
                lambda request: signatures.download(plane, request, caller), methods=("GET",), operation="signatures"
            ),
            methods=list(ANY_METHOD),
        ),
        seam.catch_all(f"{PREFIX}/{{rest:path}}"),
    ]
