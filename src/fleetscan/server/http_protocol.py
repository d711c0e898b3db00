"""uvicorn's httptools protocol, writing each answer's head and body in one write instead of two.

uvicorn writes a response's status line and headers when the app sends `http.response.start`, and the body
when it sends `http.response.body`: two `transport.write` calls, so two system calls and two TCP segments
(two TLS records) for an answer of a few hundred bytes, each delivered to the client on its own. Here the head
is held until the body's first write, and both leave in one.

The change is one seam: each request's `RequestResponseCycle` writes through `_HeadHeld`, a view of the
connection's transport that keeps the head back. Everything else is uvicorn's own code, untouched. What it
relies on (checked by `tests/server/test_http_protocol.py`, pinned in pyproject.toml): the cycle is started
by `HttpToolsProtocol._start_asgi_task(cycle, app)`, writes through its `transport` attribute, and sets
`response_started` before it writes the head.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = ["OneWriteProtocol"]

_JOIN_BELOW = 16 * 1024


class _HeadHeld:
    """A connection's transport as one request's cycle sees it: the response's first write (its head) is held and
    sent with the next one (the body's first part), or before the connection closes.

    A HEAD answer is written at once: its body is never written. A `100 Continue` is written before the
    response starts, so it is never held.
    """

    __slots__ = ("_cycle", "_head", "_state", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head = b""
        self._state = 0 if cycle.scope["method"] != "HEAD" else 2  # 0: head to come, 1: head held, 2: through

    def write(self, data: bytes) -> None:
        if self._state == 0 and self._cycle.response_started:
            self._head, self._state = data, 1
            return
        if self._state == 1:
            self._state = 2
            if len(data) <= _JOIN_BELOW:  # one buffer: one TLS record, one segment
                self._transport.write(self._head + data)
            else:  # no copy of a large body: a writev on uvloop
                self._transport.writelines((self._head, data))
            self._head = b""
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._state == 1:
            self._state = 2
            self._transport.write(self._head)
            self._head = b""

    def close(self) -> None:
        self.flush()  # an app that failed after starting its answer: the head is sent, as uvicorn sends it
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` whose answers leave in one write each (head and body together)."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.transport = _HeadHeld(cycle.transport, cycle)  # type: ignore[assignment]
        super()._start_asgi_task(cycle, app)
