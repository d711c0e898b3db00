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


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        reader, writer = await self._open()
        try:
            writer.write(head + body)
            status_line = await reader.readuntil(b"\r\n")
            headers = await reader.readuntil(b"\r\n\r\n")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self.close()
            raise WireError(type(exc).__name__) from exc
        length = 0
        closing = False
        for line in headers.split(b"\r\n"):
            name, _, value = line.partition(b":")
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                closing = True
        try:
            data = await reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.close()
            raise WireError(type(exc).__name__) from exc
        if closing:
            self.close()
        return int(status_line.split(b" ", 2)[1]), data


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
