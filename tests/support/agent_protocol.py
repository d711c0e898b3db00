"""A client of the documented agent protocol (docs/agent-protocol.md), as tests drive it.

It is what an agent sends over HTTP, nothing more: tests use it to enroll hosts and report scans
before the agent program exists, and to check the protocol's own promises (idempotency, cancel).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx


class ProtocolAgent:
    def __init__(self, url: str, enroll_token: str, name: str, **facts: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        reply = self.http.post("/agent/v1/enroll", json={"enroll_token": enroll_token, "name": name, **facts})
        reply.raise_for_status()
        body = reply.json()
        self.agent_id: str = body["agent_id"]
        self.host_id: str = body["host_id"]
        self.http.headers["Authorization"] = f"Bearer {self.agent_id}:{body['agent_secret']}"

    def heartbeat(self) -> httpx.Response:
        return self.http.post("/agent/v1/heartbeat")

    def work(self) -> list[dict[str, Any]]:
        reply = self.http.get("/agent/v1/work")
        reply.raise_for_status()
        items: list[dict[str, Any]] = reply.json()["subtasks"]
        return items

    def progress(self, subtask_id: str, report_id: str | None = None, **body: Any) -> httpx.Response:
        body.setdefault("report_id", report_id or uuid.uuid4().hex)
        return self.http.post(f"/agent/v1/subtasks/{subtask_id}/progress", json=body)

    def complete(
        self, subtask_id: str, result: str = "success", report_id: str | None = None, **body: Any
    ) -> httpx.Response:
        body.setdefault("report_id", report_id or uuid.uuid4().hex)
        return self.http.post(f"/agent/v1/subtasks/{subtask_id}/complete", json={"result": result, **body})


def finding(
    path: str, name: str = "Eicar-Test-Signature", severity: str = "High", content: bytes = b""
) -> dict[str, Any]:
    data = content or path.encode()
    return {
        "malware_name": name,
        "malware_type": "virus",
        "severity": severity,
        "file_path": path,
        "file_hash": hashlib.sha256(data).hexdigest(),
        "file_size": len(data),
        "file_owner": "root",
        "file_attr": "0644",
        "file_ctime": 1_700_000_000_000,
        "file_mtime": 1_700_000_000_000,
    }
