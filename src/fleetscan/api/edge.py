"""One seam per edge: the endpoint wrapper every route of a dialect goes through.

Each edge (Alibaba RPC, HSS v5, the agent protocol) builds one `Edge` and wraps each of its
handlers with `Edge.endpoint`. The wrapper, in order:

1. assigns the request id (`request_id(request)` reads it back; the edge's answers carry it);
2. refuses a method the route does not serve (`MethodNotAllowed`), so the 405 has the edge's shape;
3. caps the body before reading it: a declared `Content-Length` over the cap is refused at once, and
   the handler gets a request whose body stream raises `BodyTooLarge` past the cap, so a chunked body
   is bounded too (memory per request is at most the cap, whatever a client sends);
4. turns any exception into the edge's wire error through ONE table per edge (`ErrorMap`), looked up
   along the exception's MRO as Starlette's `_lookup_exception_handler` does, so `UnknownQuarantinedFile`
   finds its own entry before `NotFound`'s;
5. turns anything the table does not know into the edge's own 500, logged with the request id;
6. counts the answer by edge, operation and status, and its latency (`api/metrics.py`): the operation is
   the one the route names (per method, when one route serves several), or the one a handler names with
   `name_operation` once it knows it (an Alibaba action), else `unknown`.

Every failure becomes an ordinary response, so nothing propagates to the server: the kept-alive
connection stays usable after a 500 or any other refusal. Only a refusal that leaves part of the body
unread (a 413, or a 401 decided from the headers alone) closes its connection, so that the rest of an
upload nobody will read is never taken in.
Handlers authenticate from the headers first and parse off the event loop; the wrapper only
guarantees that whatever they read is bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .security import AuthError

__all__ = [
    "ANY_METHOD",
    "DEFAULT_AGENT_BODY_BYTES",
    "DEFAULT_CLOUD_BODY_BYTES",
    "DEFAULT_SIGNATURE_BODY_BYTES",
    "BodyLimits",
    "BodyTooLarge",
    "Edge",
    "ErrorMap",
    "Handler",
    "MethodNotAllowed",
    "NoRoute",
    "lookup",
    "name_operation",
    "request_id",
]

W = TypeVar("W")
Handler = Callable[[Request], Awaitable[Response]]
ErrorMap = Mapping[type[BaseException], Callable[[Any], W]]
"""Exception class -> the edge's wire error for it. Looked up along `type(exc).__mro__`."""

MIB = 1024 * 1024
DEFAULT_CLOUD_BODY_BYTES = 1 * MIB
"""No cloud API call of either dialect needs more than a few KiB; 1 MiB leaves room and bounds the rest."""
DEFAULT_AGENT_BODY_BYTES = 16 * MIB
"""An agent report carries its detections and a checkpoint: larger, still bounded."""
DEFAULT_SIGNATURE_BODY_BYTES = 128 * MIB
"""An upload of signature files (the console's route, base64 in JSON): a ClamAV database is tens of megabytes."""
ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""Routes take every method so that a wrong one gets the edge's 405 rather than the framework's."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyLimits:
    """The body caps in bytes: `cloud` for both cloud dialects, `agent` for the agent protocol."""

    cloud: int = DEFAULT_CLOUD_BODY_BYTES
    agent: int = DEFAULT_AGENT_BODY_BYTES
    signatures: int = DEFAULT_SIGNATURE_BODY_BYTES
    """The one HSS-edge route that takes signature files (`/v5/{project_id}/fleetscan/signature-sets`)."""


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


class NoRoute(Exception):
    """Nothing is served at this path: the edge's own 404."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no such path: {path[:200]}")
        self.path = path


class MethodNotAllowed(Exception):
    def __init__(self, method: str, allowed: Collection[str]) -> None:
        super().__init__(f"method {method[:16]} is not allowed here")
        self.method = method
        self.allowed = tuple(allowed)


def lookup(table: ErrorMap[W], exc: BaseException) -> Callable[[Any], W] | None:
    """The most specific entry for `exc`: its own class first, then its bases in MRO order."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return None


def request_id(request: Request) -> str:
    """The id `Edge.endpoint` gave this request."""
    rid: str = request.scope["state"]["request_id"]
    return rid


def name_operation(request: Request, name: str) -> None:
    """Name the operation this request turned out to be, for the seam's metrics: a name from the code, never
    one read from the request, so that the metrics' labels stay few."""
    request.state.operation = name


class _CappedBody:
    """The request's `receive`, raising BodyTooLarge once more than `limit` body bytes have arrived.

    `unread` tells whether the client may still be sending: a refusal then closes the connection rather
    than take in (and discard) the rest of an upload nobody will read.
    """

    __slots__ = ("_limit", "_receive", "_seen", "unread")

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._seen = 0
        self.unread = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit:
                raise BodyTooLarge(self._limit)
            self.unread = bool(message.get("more_body", False))
        return message


@dataclass(frozen=True)
class Edge(Generic[W]):
    """One dialect's seam: its error table, its 500, how it renders a wire error, its body cap."""

    name: str
    """Its name in logs and its `edge` label in the metrics: one of `metrics.EDGES`."""
    errors: ErrorMap[W]
    internal: Callable[[], W]
    render: Callable[[W, Request], Response]
    new_request_id: Callable[[], str]
    body_limit: int

    def endpoint(
        self, handler: Handler, methods: Collection[str] | None = None, operation: str | Mapping[str, str] = ""
    ) -> ASGIApp:
        """`handler` behind the seam; `methods`, when given, are the only ones it serves. `operation` names what
        the route does, for the metrics: one name, or one per method."""
        if isinstance(operation, str):
            return _Endpoint(self, handler, methods, {}, operation or metrics.UNKNOWN)
        return _Endpoint(self, handler, methods, dict(operation), metrics.UNKNOWN)

    def catch_all(self, path: str) -> Route:
        """A route answering the edge's 404 for every path under `path` that no other route serves."""

        async def no_route(request: Request) -> Response:
            raise NoRoute(request.url.path)

        return Route(path, self.endpoint(no_route), methods=list(ANY_METHOD))

    def refuse(self, exc: Exception, request: Request) -> Response:
        """`exc` in the edge's wire shape; an exception the table does not know is logged and becomes the 500."""
        rid = request_id(request)
        make = lookup(self.errors, exc)
        if make is not None:
            try:
                wire = make(exc)
            except Exception:
                log.exception("%s: mapping %r failed (request %s)", self.name, exc, rid)
            else:
                level = logging.INFO if isinstance(exc, AuthError) else logging.DEBUG
                log.log(level, "%s: request %s refused: %r", self.name, rid, exc)
                return self.render(wire, request)
        else:
            log.error("%s: unexpected error (request %s)", self.name, rid, exc_info=exc)
        return self.render(self.internal(), request)


class _Endpoint(Generic[W]):
    """A handler behind its edge's seam, as an ASGI app: an object, which Starlette calls as one, so that it builds
    no Request of its own and no exception wrapper around it. Each request makes one Request, the handler's."""

    __slots__ = ("default", "edge", "handler", "methods", "names")

    def __init__(
        self, edge: Edge[W], handler: Handler, methods: Collection[str] | None, names: dict[str, str], default: str
    ) -> None:
        self.edge = edge
        self.handler = handler
        self.methods = methods
        self.names = names
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        edge = self.edge
        state = scope.setdefault("state", {})  # what `request.state` reads and writes
        state["request_id"] = edge.new_request_id()
        state["operation"] = self.names.get(scope["method"]) or self.default
        body = _CappedBody(receive, edge.body_limit)
        request = Request(scope, body)
        try:
            headers = request.headers
            declared = headers.get("content-length", "")
            body.unread = declared not in ("", "0") or "transfer-encoding" in headers
            if self.methods is not None and request.method not in self.methods:
                raise MethodNotAllowed(request.method, self.methods)
            if declared.isdigit() and int(declared) > edge.body_limit:
                raise BodyTooLarge(edge.body_limit)
            response = await self.handler(request)
        except Exception as exc:
            response = edge.refuse(exc, request)
            if body.unread:
                # Stop the upload rather than take in the rest only to discard it: the client reads
                # the answer once its write fails, and opens a new connection for its next request.
                response.headers["connection"] = "close"
        metrics.observe(edge.name, state["operation"], response.status_code, time.perf_counter() - started)
        await response(scope, receive, send)
