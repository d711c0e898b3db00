"""Every answer of the agent protocol is JSON `{error, message, request_id}`: odd paths and methods included.

Sent over one kept-alive connection with `http.client`, which sends the path exactly as written (an
`..` segment or a `%2F` reaches the server as is), so each refusal also proves the connection survives it.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant

REPORT = {"report_id": "report-0001"}
BODIES = {"progress": REPORT, "complete": {**REPORT, "result": "success"}, "result": {"ok": True}}


def _send(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    """One request; a POST carries a body valid for its route, so only the path can be at fault."""
    body = json.dumps(BODIES.get(path.rsplit("/", 1)[-1], {})).encode() if method == "POST" else None
    conn.request(method, path, body=body, headers={"content-type": "application/json", **headers})
    reply = conn.getresponse()
    raw = reply.read()
    assert reply.getheader("content-type") == "application/json", (method, path, raw[:200])
    data = json.loads(raw)
    if reply.status >= 400:
        assert set(data) == {"error", "message", "request_id"}, data
        assert data["request_id"] == reply.getheader("x-request-id")
    return reply.status, data


def test_odd_paths_and_methods_get_json_errors_on_one_connection(server: ServerProcess, tenant: Tenant) -> None:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "odd-paths")
    auth = {"Authorization": str(agent.http.headers["Authorization"])}
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        for method, path, status, code in (
            ("POST", "/agent/v1/subtasks/a%2Fb/progress", 404, "not_found"),
            ("POST", "/agent/v1/subtasks/%2F/complete", 404, "not_found"),
            ("POST", "/agent/v1/subtasks/../progress", 404, "not_found"),
            ("POST", "/agent/v1/actions/..%2F..%2Fx/result", 404, "not_found"),
            ("GET", "/agent/v1/nothing-here", 404, "not_found"),
            ("GET", "/agent/v1/", 404, "not_found"),
            ("GET", "/agent/v1/heartbeat", 405, "method_not_allowed"),
            ("DELETE", "/agent/v1/work", 405, "method_not_allowed"),
            ("POST", "/agent/v1/work", 405, "method_not_allowed"),
        ):
            got, data = _send(conn, method, path, auth)
            assert (got, data["error"]) == (status, code), (method, path, data)
        status, data = _send(conn, "GET", "/agent/v1/work", auth)
        assert status == 200 and data["subtasks"] == []
    finally:
        conn.close()


def test_errors_carry_a_request_id(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        status, first = _send(conn, "GET", "/agent/v1/work", {})
        assert status == 401 and first["error"] == "unauthorized"
        _, second = _send(conn, "GET", "/agent/v1/work", {})
        assert first["request_id"] != second["request_id"]
    finally:
        conn.close()
