"""HTTP routes of the agent protocol. Agents authenticate with `Authorization: Bearer <agent_id>:<secret>`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...core.errors import DomainError, IllegalTransition, InvalidParameter, NotFound, PermissionDenied
from ...core.models import Host, RootTask, Subtask
from ...core.service import ControlPlane, HostFacts
from ...storage.interface import ReportOutcome
from . import actions
from .messages import CompletionReport, EnrollRequest, ProgressReport, sort_findings

PREFIX = "/agent/v1"
Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _mapped(exc: DomainError) -> JSONResponse:
    if isinstance(exc, PermissionDenied):
        return _error(401, "unauthorized", exc.message)
    if isinstance(exc, NotFound):
        return _error(404, "not_found", exc.message)
    if isinstance(exc, IllegalTransition):
        return _error(409, "illegal_transition", exc.message)
    if isinstance(exc, InvalidParameter):
        return _error(400, "invalid_parameter", exc.message)
    return _error(409, "conflict", exc.message)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(json.loads(await request.body() or b"{}"))
    except (ValueError, ValidationError) as exc:
        raise InvalidParameter("body", str(exc).splitlines()[0] if str(exc) else "invalid JSON") from exc


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


def routes(plane: ControlPlane) -> list[BaseRoute]:
    def guarded(handler: Callable[[Request], Awaitable[dict[str, Any]]], status: int = 200) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(await handler(request), status_code=status)
            except DomainError as exc:
                return _mapped(exc)

        return endpoint

    async def caller(request: Request) -> Host:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        agent_id, _, secret = credential.partition(":")
        if scheme.lower() != "bearer" or not agent_id or not secret:
            raise PermissionDenied("missing agent credential")
        return await run_in_threadpool(plane.authenticate_agent, agent_id, secret)

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
        await run_in_threadpool(plane.heartbeat, host)
        return {"server_time": plane.clock()}

    async def work(request: Request) -> dict[str, Any]:
        host = await caller(request)

        def answer() -> dict[str, Any]:
            # Everything read and rendered first: taking the subtasks (pending -> dispatched) is the last step.
            todo = actions.work_actions(plane, host)
            whitelist = actions.work_whitelist(plane, host)
            subtasks = plane.take_work(host, _work_item)
            return {"server_time": plane.clock(), "subtasks": subtasks, "actions": todo, "whitelist": whitelist}

        return await run_in_threadpool(answer)

    async def report(request: Request, finished: bool) -> dict[str, Any]:
        host = await caller(request)
        body: ProgressReport = await _body(request, CompletionReport if finished else ProgressReport)
        findings, refused = sort_findings(body.detections)
        sub = await run_in_threadpool(plane.subtask_of_host, host, request.path_params["subtask_id"])
        outcome = await run_in_threadpool(
            lambda: plane.report(
                host,
                sub.id,
                body.report_id,
                body.counters(),
                [f.detection() for f in findings],
                finished=finished,
                succeeded=isinstance(body, CompletionReport) and body.result == "success",
                reason=body.reason if isinstance(body, CompletionReport) else "",
                quarantined=actions.auto_quarantined(findings),
            )
        )
        return {**_outcome(outcome), "refused": refused}

    async def action_result(request: Request) -> dict[str, Any]:
        host = await caller(request)
        body: actions.ActionResult = await _body(request, actions.ActionResult)
        return await run_in_threadpool(actions.finish, plane, host, request.path_params["action_id"], body)

    async def progress(request: Request) -> dict[str, Any]:
        return await report(request, finished=False)

    async def complete(request: Request) -> dict[str, Any]:
        return await report(request, finished=True)

    return [
        Route(f"{PREFIX}/enroll", guarded(enroll, 201), methods=["POST"]),
        Route(f"{PREFIX}/heartbeat", guarded(heartbeat), methods=["POST"]),
        Route(f"{PREFIX}/work", guarded(work), methods=["GET"]),
        Route(f"{PREFIX}/subtasks/{{subtask_id}}/progress", guarded(progress), methods=["POST"]),
        Route(f"{PREFIX}/subtasks/{{subtask_id}}/complete", guarded(complete), methods=["POST"]),
        Route(f"{PREFIX}/actions/{{action_id}}/result", guarded(action_result), methods=["POST"]),
    ]
