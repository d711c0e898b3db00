"""The agent's side of the protocol over HTTP, with retries that keep a report's idempotency key.

A report is retried with the same `report_id` until the server answers it, so a server restart or a network cut
loses nothing and, the server applying each key once, counts nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_delay, stop_never, wait_exponential

from .state import Credential
from .tls import IdentityRefused, ServerTrust, is_https, refusal

log = logging.getLogger("fleetscan.agent")
T = TypeVar("T")


class ProtocolError(Exception):
    """The server refused a request for good (4xx): retrying it would not help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


def _transient(exc: BaseException) -> bool:
    """Worth another try later. A server that fails the pinned identity is one: the agent's own server may be back
    at that address soon, and nothing was sent to the impostor."""
    return isinstance(exc, (httpx.TransportError, IdentityRefused)) or (
        isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500
    )


class AgentClient:
    def __init__(
        self,
        server: str,
        *,
        trust: ServerTrust | None = None,
        timeout: float = 30.0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """`trust`: what HTTPS verifies against; an HTTPS client without one trusts nobody (it has not pinned)."""
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.trust = trust or ServerTrust.nobody()
        self.http = self._connect()
        self.should_stop = should_stop

    def _connect(self) -> httpx.Client:
        verify = self.trust.context if is_https(self.server) else True
        return httpx.Client(base_url=self.server, timeout=self.timeout, verify=verify)

    def pin(self, trust: ServerTrust) -> None:
        """From now on verify the server against `trust` (the credential header, if any, carries over)."""
        headers = self.http.headers
        self.http.close()
        self.trust = trust
        self.http = self._connect()
        self.http.headers.update(headers)

    def authenticate(self, credential: Credential) -> None:
        self.http.headers["Authorization"] = f"Bearer {credential.agent_id}:{credential.agent_secret}"

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a handshake that fails the pinned identity is IdentityRefused, logged with why."""
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            refused = refusal(self.server, self.trust, exc)
            if refused is None:
                raise
            refused.log()
            raise refused from exc

    def _retry(self, path: str, patience: float | None, send: Callable[[], T], max_wait: float = 10) -> T:
        """`send()` until it answers: transient failures (network, 5xx, an impostor) are retried with backoff for
        `patience` seconds (None: until the agent stops)."""
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            wait=wait_exponential(multiplier=0.2, max=max_wait),
            stop=stop_never if patience is None else stop_after_delay(patience),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "server refused its identity, retrying"
                if isinstance(state.outcome and state.outcome.exception(), IdentityRefused)
                else "server unreachable, retrying",
                extra={"fields": {"path": path, "attempt": state.attempt_number}},
            ),
        )
        for attempt in retrying:
            with attempt:
                if self.should_stop() and attempt.retry_state.attempt_number > 1:
                    raise InterruptedError("stopping")
                return send()
        raise AssertionError("unreachable")

    @staticmethod
    def _checked(reply: httpx.Response) -> httpx.Response:
        if 400 <= reply.status_code < 500:
            raise ProtocolError(reply.status_code, reply.text)
        reply.raise_for_status()
        return reply

    def _call(self, method: str, path: str, body: dict[str, Any] | None, patience: float | None) -> dict[str, Any]:
        def send() -> dict[str, Any]:
            result: dict[str, Any] = self._checked(self._request(method, path, json=body)).json()
            return result

        return self._retry(path, patience, send)

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

        def send() -> dict[str, Any] | None:
            reply = self._request("GET", url, headers=headers)
            if reply.status_code == 304:
                return None
            result: dict[str, Any] = self._checked(reply).json()
            return result

        return self._retry(url, 30, send, max_wait=5)

    def tls_bundle(self, patience: float | None) -> bytes:
        """The certificates the server offers to pin (`GET /agent/v1/tls-bundle`); empty when it has no such
        route (TLS ended by a proxy in front of it: the handshake's own certificate is then all there is)."""

        def send() -> bytes:
            reply = self._request("GET", "/agent/v1/tls-bundle")
            return b"" if reply.status_code == 404 else self._checked(reply).content

        return self._retry("/agent/v1/tls-bundle", patience, send)

    def close(self) -> None:
        self.http.close()
