"""A bare HTTP/1.1 keep-alive client for the fleet benchmark: the client must cost less than the server it measures.

httpx builds a request, a response, headers objects and a pool lookup per call; at thousands of requests a second
that made the load generator, not the server, the bottleneck. This client writes the request bytes itself on a
fixed set of keep-alive connections and reads back only the status, the Content-Length and the body. It speaks
just enough HTTP for a fleetscan server (JSON bodies, Content-Length answers, no chunked encoding, no TLS).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class WireError(Exception):
    """The connection broke or the answer was not HTTP this client can read."""


class _Answers(asyncio.Protocol):
    """The bytes of one connection, cut into answers as they arrive: one future per request instead of a stream
    reader's three awaits (status line, headers, body). With `asyncio.timeout` in place of `wait_for` (a task per
    request), the client's share of the machine at 20,000 agents went from 26-27% to 25%."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            answer = _answer(self.buffer)
        except ValueError as exc:
            self.waiter.set_exception(WireError(f"unreadable answer: {exc}"))
            return
        if answer is not None:
            self.waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(WireError(f"connection lost: {exc}"))


def _answer(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, whether the server closes) of the first whole answer in `buffer`, cut from it; None until
    it has all arrived."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    length = 0
    closing = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"connection" and value.strip().lower() == b"close":
            closing = True
    start = end + 4
    if len(buffer) < start + length:
        return None
    body = bytes(buffer[start : start + length])
    del buffer[: start + length]
    return int(lines[0].split(b" ", 2)[1]), body, closing


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.answers: _Answers | None = None

    async def _open(self) -> _Answers:
        if self.answers is None or self.answers.lost:
            loop = asyncio.get_running_loop()
            try:
                _, self.answers = await loop.create_connection(_Answers, self.host, self.port)
            except OSError as exc:
                raise WireError(type(exc).__name__) from exc
        return self.answers

    def close(self) -> None:
        if self.answers is not None and self.answers.transport is not None:
            self.answers.transport.close()
        self.answers = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        answers = await self._open()
        assert answers.transport is not None
        answers.waiter = asyncio.get_running_loop().create_future()
        answers.transport.write(head + body)
        try:
            status, data, closing = await answers.waiter
        except BaseException:
            self.close()  # an answer half read, or a request given up: the connection's bytes are out of step
            raise
        finally:
            answers.waiter = None
        if closing:
            self.close()
        return status, data


class Pool:
    """A fixed number of connections to one server, shared by every simulated agent of a client process."""

    def __init__(self, url: str, connections: int) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"plain http URLs only: {url}")
        self.authority = f"{parts.hostname}:{parts.port or 80}".encode()
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.all = [Connection(parts.hostname, parts.port or 80) for _ in range(connections)]
        for conn in self.all:
            self.idle.put_nowait(conn)

    def head(self, method: str, path: str, authorization: str, length: int | None) -> bytes:
        lines = [
            f"{method} {path} HTTP/1.1".encode(),
            b"Host: " + self.authority,
            b"Authorization: " + authorization.encode(),
        ]
        if length is not None:
            lines += [b"Content-Type: application/json", b"Content-Length: " + str(length).encode()]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def call(self, method: str, path: str, authorization: str, body: Any = None) -> tuple[int, bytes]:
        """Send one request on the next free connection; (status, body bytes)."""
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = self.head(method, path, authorization, None if body is None else len(data))
        conn = await self.idle.get()
        try:
            return await conn.request(head, data)
        finally:
            self.idle.put_nowait(conn)

    async def once(self, method: str, path: str, authorization: str, body: Any = None) -> tuple[int, bytes]:
        """A request on a connection of its own, outside the pool (a long-poll must not hold a shared one)."""
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        host, _, port = self.authority.decode().rpartition(":")
        conn = Connection(host, int(port))
        try:
            return await conn.request(self.head(method, path, authorization, None if body is None else len(data)), data)
        finally:
            conn.close()

    def close(self) -> None:
        for conn in self.all:
            conn.close()
