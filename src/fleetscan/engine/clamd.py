"""A clamd client: ``PING``, ``VERSION`` and ``zINSTREAM``, over a unix socket or TCP.

Written here rather than taken from a package: the protocol is a command, length-prefixed chunks and one
NUL-terminated answer, and the packages that speak it (the unmaintained ``clamd``, its typed fork
``clamav-client``) read from file objects and answer with loosely shaped dicts, where the engine streams a file
descriptor it already holds and needs three outcomes it can act on: names found, a stream over clamd's
``StreamMaxLength``, and clamd not answering. Every call has a timeout; every failure is a `ClamdError` that names
the address.

One connection per command: clamd closes it after answering a command that is not in a session, and exotic files
are rare enough that the connection costs nothing next to the unpacking clamd does.
"""

from __future__ import annotations

import os
import re
import socket
import struct
from collections.abc import Iterator

__all__ = ["Clamd", "ClamdError", "StreamTooLong", "parse_address"]

CHUNK = 1 << 20
"""Bytes per INSTREAM chunk: clamd reads each into its stream buffer."""

_HOST_PORT = re.compile(r"(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})")


class ClamdError(Exception):
    """clamd could not be reached, did not answer in time, or answered something the protocol does not say."""


class StreamTooLong(ClamdError):
    """clamd refused the stream: longer than its ``StreamMaxLength``."""


def parse_address(text: str) -> str | tuple[str, int]:
    """A unix socket path (anything with a ``/``, or ``unix:PATH``) or ``host:port`` for TCP."""
    value = text.strip()
    if value.startswith("unix:"):
        value = value[5:]
        if not value:
            raise ValueError("clamd address 'unix:' needs a socket path")
        return value
    if "/" in value:
        return value
    m = _HOST_PORT.fullmatch(value)
    if m is None or not 0 < int(m.group("port")) < 65536:
        raise ValueError(f"not a clamd address: {text!r} (a unix socket path, or host:port)")
    return (m.group("v6") or m.group("host"), int(m.group("port")))


class Clamd:
    """One clamd, by address. Cheap to make; it connects per command."""

    def __init__(self, address: str, timeout: float = 120.0, connect_timeout: float = 10.0) -> None:
        self.address = address
        self.target = parse_address(address)
        self.timeout = timeout
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return f"Clamd({self.address!r})"

    # -- commands ---------------------------------------------------------------------------------------------------

    def ping(self) -> None:
        """Raises `ClamdError` unless clamd answers ``PONG``."""
        answer = self._command(b"zPING\x00")
        if answer != "PONG":
            raise ClamdError(f"clamd at {self.address} answered PING with {answer!r}")

    def version(self) -> str:
        """``ClamAV 1.4.6/27480/Tue Dec  1 08:00:00 2026``: the engine and, with official databases, their version."""
        return self._command(b"zVERSION\x00")

    def scan_bytes(self, data: bytes) -> list[str]:
        """The signature names clamd reports for ``data`` ([] for ``OK``)."""
        return self._instream(data[i : i + CHUNK] for i in range(0, len(data), CHUNK))

    def scan_fd(self, fd: int) -> list[str]:
        """The signature names clamd reports for the file open at ``fd``, read with ``pread`` from its start."""
        return self._instream(_pread_chunks(fd))

    # -- protocol ---------------------------------------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        try:
            if isinstance(self.target, str):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.connect_timeout)
                try:
                    sock.connect(self.target)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection(self.target, timeout=self.connect_timeout)
        except OSError as exc:
            raise ClamdError(f"cannot connect to clamd at {self.address}: {exc.strerror or exc}") from exc
        sock.settimeout(self.timeout)
        return sock

    def _command(self, command: bytes) -> str:
        with self._connect() as sock:
            try:
                sock.sendall(command)
                return self._answer(sock)
            except TimeoutError as exc:
                raise ClamdError(f"clamd at {self.address} did not answer within {self.timeout:g} s") from exc
            except OSError as exc:
                raise ClamdError(f"clamd at {self.address}: {exc.strerror or exc}") from exc

    def _instream(self, chunks: Iterator[bytes]) -> list[str]:
        try:
            return self._send_stream(chunks)
        except _FileUnreadable as exc:
            raise exc.error from None

    def _send_stream(self, chunks: Iterator[bytes]) -> list[str]:
        with self._connect() as sock:
            try:
                sock.sendall(b"zINSTREAM\x00")
                while True:
                    chunk = _next(chunks)  # a failure to read the file is the caller's OSError, not clamd's
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                    if not chunk:
                        break
            except TimeoutError as exc:
                raise ClamdError(f"clamd at {self.address} did not take the stream within {self.timeout:g} s") from exc
            except OSError as exc:
                # clamd answers and closes as soon as a stream passes StreamMaxLength: read why it stopped.
                try:
                    answer = self._answer(sock)
                except (OSError, ClamdError):
                    raise ClamdError(f"clamd at {self.address} closed the stream: {exc.strerror or exc}") from exc
                return self._verdict(answer)
            try:
                answer = self._answer(sock)
            except TimeoutError as exc:
                raise ClamdError(f"clamd at {self.address} did not answer within {self.timeout:g} s") from exc
            except OSError as exc:
                raise ClamdError(f"clamd at {self.address}: {exc.strerror or exc}") from exc
            return self._verdict(answer)

    def _answer(self, sock: socket.socket) -> str:
        """Everything clamd sends until it closes the connection, NUL and newline separators turned to newlines."""
        parts: list[bytes] = []
        while True:
            try:
                block = sock.recv(65536)
            except ConnectionError:
                if parts:  # clamd answered, then reset a connection that still held our unread stream
                    break
                raise
            if not block:
                break
            parts.append(block)
        text = b"".join(parts).replace(b"\x00", b"\n").decode("utf-8", "replace").strip()
        if not text:
            raise ClamdError(f"clamd at {self.address} closed the connection without an answer")
        return text

    def _verdict(self, answer: str) -> list[str]:
        found: list[str] = []
        for line in answer.splitlines():
            line = line.strip()
            if not line:
                continue
            body = line.removeprefix("stream:").strip()
            if body.endswith(" FOUND"):
                found.append(body[: -len(" FOUND")].strip())
            elif body == "OK":
                continue
            elif "size limit exceeded" in body:
                raise StreamTooLong(f"larger than the StreamMaxLength of clamd at {self.address}")
            elif body.endswith("ERROR"):
                raise ClamdError(f"clamd at {self.address}: {body.removesuffix('ERROR').strip()}")
            else:
                raise ClamdError(f"clamd at {self.address} answered {line!r}")
        return found


class _FileUnreadable(Exception):
    def __init__(self, error: OSError) -> None:
        self.error = error


def _next(chunks: Iterator[bytes]) -> bytes:
    """The next chunk, b"" at the end; a read error leaves the socket handling untouched."""
    try:
        return next(chunks, b"")
    except OSError as exc:
        raise _FileUnreadable(exc) from exc


def _pread_chunks(fd: int) -> Iterator[bytes]:
    off = 0
    while True:
        chunk = os.pread(fd, CHUNK, off)
        if not chunk:
            return
        off += len(chunk)
        yield chunk
