"""Each answer leaves the server in one write (`server/http_protocol.py`), observed on a real socket.

The client counts the TCP segments that carried data to it (`tcpi_data_segs_in` of Linux's `TCP_INFO`): uvicorn's
own protocol sends a head and a body, two segments per answer; ours one, over plain HTTP and over TLS. The same
server still answers HEAD, `Expect: 100-continue` and a file (FileResponse) whole. These tests also guard the
uvicorn internals the protocol relies on: should they change, answers go back to two segments and they fail.
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetscan.console.routes import STATIC
from tests.support.server import ServerProcess, tls_init

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO's layout is Linux's")

_DATA_SEGS_IN = 152  # offset of tcpi_data_segs_in in struct tcp_info (include/uapi/linux/tcp.h, Linux >= 4.6)


def data_segments_in(sock: socket.socket) -> int:
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("I", raw, _DATA_SEGS_IN)[0])


class Wire:
    """One kept-alive connection, read by hand: nothing hides how the answer arrived."""

    def __init__(self, server: ServerProcess) -> None:
        self.sock = socket.create_connection((server.host, server.port))
        if server.tls is not None:
            assert isinstance(server.verify, ssl.SSLContext)
            self.sock = server.verify.wrap_socket(self.sock, server_hostname=server.host)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        return int(status.split()[1]), headers

    def body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding") == "chunked":
            data = b""
            while True:
                while b"\r\n" not in self.buffer:
                    self._fill()
                size_line, _, self.buffer = self.buffer.partition(b"\r\n")
                size = int(size_line, 16)
                while len(self.buffer) < size + 2:
                    self._fill()
                data, self.buffer = data + self.buffer[:size], self.buffer[size + 2 :]
                if size == 0:
                    return data
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return data

    def ask(self, method: str, path: str, *extra: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: fleetscan", *extra]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status, headers = self.head()
        return status, headers, b"" if method == "HEAD" else self.body(headers)


@pytest.fixture(scope="module", params=["http", "https"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp(str(request.param))
    tls = None
    if request.param == "https":
        tls_init(folder / "tls")
        tls = folder / "tls"
    server = ServerProcess(f"sqlite:///{folder / 'fleetscan.db'}", tls=tls).start()
    yield server
    server.stop()


def test_each_answer_leaves_in_one_segment(served: ServerProcess) -> None:
    wire = Wire(served)
    try:
        assert wire.ask("GET", "/healthz")[0] == 200  # the handshake's and session tickets' segments are behind us
        before = data_segments_in(wire.sock)
        answers = [
            wire.ask("GET", "/healthz"),
            wire.ask("GET", "/agent/v1/nowhere"),
            wire.ask("POST", "/agent/v1/heartbeat"),  # no credential: the agent protocol's 401
            wire.ask("POST", "/agent/v1/enroll", body=b'{"enroll_token": "x", "name": "h"}'),
            wire.ask("GET", "/readyz"),
        ]
        assert [status for status, _, _ in answers] == [200, 404, 401, 401, 200]
        assert all(body for _, _, body in answers)
        assert data_segments_in(wire.sock) - before == len(answers)
    finally:
        wire.close()


def test_head_continue_and_files_are_answered_whole(served: ServerProcess) -> None:
    wire = Wire(served)
    try:
        status, headers, _ = wire.ask("HEAD", "/healthz")  # no body ever follows: the head is not held back
        assert status == 200 and int(headers["content-length"]) > 0

        payload = b'{"enroll_token": "x", "name": "h"}'
        request = ["POST /agent/v1/enroll HTTP/1.1", "Host: fleetscan", "Expect: 100-continue"]
        request.append(f"Content-Length: {len(payload)}")
        wire.sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        assert wire.head() == (100, {})  # written before the answer starts: never held
        wire.sock.sendall(payload)
        status, headers = wire.head()
        assert status == 401 and b"unauthorized" in wire.body(headers)

        for name in ("console.js", "index.html"):
            status, _, body = wire.ask("GET", f"/console/{name}")
            assert status == 200 and body == (Path(STATIC) / name).read_bytes()
        assert wire.ask("GET", "/healthz")[0] == 200  # the connection still serves
    finally:
        wire.close()
