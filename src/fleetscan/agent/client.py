"""The agent's side of the protocol over HTTP, with retries that keep a report's idempotency key.

A report is retried with the same `report_id` until the server answers it, so a server restart or a network cut
loses nothing and, the server applying each key once, counts nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_delay, stop_never, wait_exponential

from .state import Credential

log = logging.getLogger("fleetscan.agent")


class ProtocolError(Exception):
    """The server refused a request for good (4xx): retrying it would not help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500
    )


class AgentClient:
    def __init__(self, server: str, *, timeout: float = 30.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, timeout=timeout)
        self.should_stop = should_stop

    def authenticate(self, credential: Credential) -> None:
        self.http.headers["Authorization"] = f"Bearer {credential.agent_id}:{credential.agent_secret}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None, patience: float | None) -> dict[str, Any]:
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=stop_never if patience is None else stop_after_delay(patience),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "server unreachable, retrying", extra={"fields": {"path": path, "attempt": state.attempt_number}}
            ),
        )
        for attempt in retrying:
            with attempt:
                if self.should_stop() and attempt.retry_state.attempt_number > 1:
                    raise InterruptedError("stopping")
                reply = self.http.request(method, path, json=body)
                if 400 <= reply.status_code < 500:
                    raise ProtocolError(reply.status_code, reply.text)
                reply.raise_for_status()
                result: dict[str, Any] = reply.json()
                return result
        raise AssertionError("unreachable")

    def enroll(self, enroll_token: str, facts: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/agent/v1/enroll", {"enroll_token": enroll_token, **facts}, patience=None)

    def heartbeat(self, *, stopping: bool = False) -> dict[str, Any]:
        return self._call("POST", "/agent/v1/heartbeat", {"stopping": True} if stopping else None, patience=5)

    def work(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._call("GET", "/agent/v1/work", None, patience=5)["subtasks"]
        return items

    def poll(self, wait: float = 0, seen: str = "") -> dict[str, Any]:
        """`/work` in full: subtasks, actions and the whitelist. With `wait`, a long-poll: the server holds the
        request up to that many seconds while the work's digest is still `seen` (an older server answers at
        once and says nothing of `long_poll`)."""
        path = "/agent/v1/work"
        if wait > 0:
            path += f"?wait={wait:g}" + (f"&seen={seen}" if seen else "")
        return self._call("GET", path, None, patience=5)

    def action_result(self, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer an action: retried until the server takes it (it is idempotent there)."""
        return self._call("POST", f"/agent/v1/actions/{action_id}/result", body, patience=None)

    def send(self, report: dict[str, Any]) -> dict[str, Any]:
        """Deliver one queued report: retried until the server answers (or the agent stops)."""
        kind = report["kind"]
        body = {k: v for k, v in report.items() if k not in ("kind", "subtask_id")}
        return self._call("POST", f"/agent/v1/subtasks/{report['subtask_id']}/{kind}", body, patience=None)

    def signatures(self, url: str, etag: str | None) -> dict[str, Any] | None:
        """Download a signature version (`/work`'s `signatures.url`); None when the server says the held `etag` is
        still it (304)."""
        headers = {"If-None-Match": etag} if etag else {}
        for attempt in Retrying(retry=retry_if_exception(_transient), wait=wait_exponential(multiplier=0.2, max=5),
                                stop=stop_after_delay(30), reraise=True):
            with attempt:
                reply = self.http.get(url, headers=headers)
                if reply.status_code == 304:
                    return None
                if 400 <= reply.status_code < 500:
                    raise ProtocolError(reply.status_code, reply.text)
                reply.raise_for_status()
                result: dict[str, Any] = reply.json()
                return result
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.http.close()
