"""Agent actions over the protocol: the commands `/work` hands out, the answers the agent posts back, and the
quarantines an `auto` task's agent did by itself (carried on its findings). Translation only: the rules are in
core/handling.py.
"""

from __future__ import annotations

import base64
from typing import Any

from pydantic import Field

from ...core import handling as h
from ...core.models import Detection, Host
from ...core.service import ControlPlane
from .messages import Finding, FreeText, Message, QuarantineFacts


class ActionResult(Message):
    ok: bool
    error: FreeText = Field(default="", max_length=512)
    quarantine: QuarantineFacts | None = None


def work_actions(plane: ControlPlane, host: Host) -> list[dict[str, Any]]:
    return [
        {
            "action_id": a.action_id,
            "kind": a.kind.value,
            "quarantine_id": a.quarantine_id,
            "file_path": a.file_path,
            "file_path_b64": base64.b64encode(
                a.file_path_raw if a.file_path_raw is not None else a.file_path.encode()
            ).decode("ascii"),
            "file_hash": a.file_hash,
        }
        for a in plane.actions_for(host)
    ]


def work_whitelist(plane: ControlPlane, host: Host) -> dict[str, list[str]]:
    entries = plane.whitelist_of(host)
    return {
        "file_hashes": sorted(e.value for e in entries if e.field == h.WhitelistField.HASH),
        "file_paths": sorted(e.value for e in entries if e.field == h.WhitelistField.PATH),
    }


def finish(plane: ControlPlane, host: Host, action_id: str, body: ActionResult) -> dict[str, Any]:
    facts = body.quarantine.model_dump() if body.quarantine is not None else {}
    action = plane.finish_action(host, action_id, body.ok, body.error, facts)
    return {"action_id": action.action_id, "status": action.status.value}


def auto_quarantined(findings: list[Finding]) -> list[tuple[Detection, dict[str, Any]]]:
    """The findings an `auto` task's agent quarantined itself, with its facts: recorded with the report."""
    return [(f.detection(), f.quarantine.model_dump()) for f in findings if f.quarantine is not None]
