"""The seam every edge shares (`api/edge.py`), served by a real uvicorn on a real socket.

Each dialect's own `Edge` wraps a handler that fails in a way no table knows: the answer must be that
edge's JSON 500 with the request id (also in the server's log), and the same kept-alive connection must
serve the next request. A chunked body over the cap is refused in the edge's shape, with the
connection still usable. The MRO lookup is checked on its own as pure logic.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fleetscan.api.agent.routes import edge as agent_edge
from fleetscan.api.alibaba.routes import edge as alibaba_edge
from fleetscan.api.edge import Edge, lookup
from fleetscan.api.huawei.routes import edge as huawei_edge
from fleetscan.core.errors import (
    DomainError,
    NotFound,
    UnknownQuarantinedFile,
    UnknownTask,
)
from tests.support.postgres import free_port

LIMIT = 4096


def test_lookup_takes_the_most_specific_entry() -> None:
    table: dict[type[BaseException], Callable[[Any], str]] = {
        NotFound: lambda exc: "not found",
        UnknownQuarantinedFile: lambda exc: "no such quarantined file",
        DomainError: lambda exc: "domain",
    }

    def answer(exc: BaseException) -> str | None:
        make = lookup(table, exc)
        return None if make is None else make(exc)

    assert answer(UnknownQuarantinedFile(7)) == "no such quarantined file"
    assert answer(UnknownTask(7)) == "not found"
    assert answer(DomainError("x")) == "domain"
    assert answer(ValueError("x")) is None


def _app(edge: Edge[Any]) -> Starlette:
    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug, not a client's mistake")

    async def whoami(request: Request) -> Response:
        client = request.client
        return JSONResponse({"port": client.port if client else None})

    async def read(request: Request) -> Response:
        return JSONResponse({"size": len(await request.body())})

    return Starlette(
        routes=[
            Route("/boom", edge.endpoint(boom)),
            Route("/whoami", edge.endpoint(whoami)),
            Route("/read", edge.endpoint(read), methods=["POST"]),
        ]
    )


@pytest.fixture(params=["agent", "alibaba", "huawei"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(edge name, base url) of a uvicorn serving that edge's seam."""
    name = str(request.param)
    edges: dict[str, Callable[[int], Edge[Any]]] = {"agent": agent_edge, "alibaba": alibaba_edge, "huawei": huawei_edge}
    edge = edges[name](LIMIT)
    port = free_port()
    config = uvicorn.Config(_app(edge), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield name, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _shape(name: str, reply: httpx.Response) -> tuple[str, str]:
    """(code, request id) of an error answer, checking it is in the edge's own shape."""
    body = reply.json()
    if name == "alibaba":
        assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
        assert body["RequestId"] == reply.headers["x-acs-request-id"]
        return body["Code"], body["RequestId"]
    if name == "huawei":
        assert set(body) == {"error_code", "error_msg", "request_id"}
        assert body["request_id"] == reply.headers["x-request-id"]
        return body["error_code"], body["request_id"]
    assert set(body) == {"error", "message", "request_id"}
    assert body["request_id"] == reply.headers["x-request-id"]
    return body["error"], body["request_id"]


INTERNAL = {"agent": "internal", "alibaba": "ServerError", "huawei": "HSS.0041"}
TOO_LARGE = {"agent": "too_large", "alibaba": "RequestEntityTooLarge", "huawei": "APIGW.0201"}


def test_an_unexpected_error_is_the_edges_500_and_the_connection_stays_usable(
    served: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    name, url = served
    with httpx.Client(base_url=url) as http:
        before = http.get("/whoami").json()["port"]
        with caplog.at_level(logging.ERROR, logger="fleetscan.api.edge"):
            reply = http.get("/boom")
        assert reply.status_code == 500
        code, request_id = _shape(name, reply)
        assert code == INTERNAL[name]
        assert "a bug" not in reply.text, "the exception stays in the log"
        assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)
        after = http.get("/whoami")
        assert after.status_code == 200 and after.json()["port"] == before, "same kept-alive connection"


def test_a_body_over_the_cap_is_refused_declared_or_chunked(served: tuple[str, str]) -> None:
    """A 413 closes its connection (the rest of the upload is not taken in); the client's next request works."""
    name, url = served

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"x" * 1024

    with httpx.Client(base_url=url) as http:
        assert http.post("/read", content=b"x" * LIMIT).json() == {"size": LIMIT}
        declared = http.post("/read", content=b"x" * (LIMIT + 1))
        assert declared.status_code == 413 and _shape(name, declared)[0] == TOO_LARGE[name]
        assert declared.headers["connection"] == "close"
        streamed = http.post("/read", content=chunks())
        assert "content-length" not in streamed.request.headers
        assert streamed.status_code == 413 and _shape(name, streamed)[0] == TOO_LARGE[name]
        assert http.get("/whoami").status_code == 200
