"""Unpacking ClamAV's signed containers (``.cvd``, ``.cld``, ``.cud``): a 512-byte text header, then a tar.

The header's MD5 of the body is checked so that a truncated download is refused. The RSA "dsig" is not verified:
this engine does not ship ClamAV's public key, so the report says a container was checked for integrity only.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass

__all__ = ["CvdHeader", "CvdError", "read_cvd", "CONTAINER_SUFFIXES"]

CONTAINER_SUFFIXES = (".cvd", ".cld", ".cud")
HEADER_SIZE = 512


class CvdError(ValueError):
    """The container is not a ClamAV database or is damaged."""


@dataclass(frozen=True)
class CvdHeader:
    build_time: str
    version: int
    signatures: int
    flevel: int
    md5: str
    builder: str


def _parse_header(raw: bytes) -> CvdHeader:
    text = raw.decode("ascii", "replace").rstrip(" \x00\n")
    fields = text.split(":")
    if len(fields) < 8 or fields[0] != "ClamAV-VDB":
        raise CvdError("not a ClamAV database container")
    try:
        return CvdHeader(
            build_time=fields[1],
            version=int(fields[2]),
            signatures=int(fields[3]),
            flevel=int(fields[4]),
            md5=fields[5],
            builder=fields[7],
        )
    except ValueError as exc:
        raise CvdError(f"bad container header: {exc}") from exc


def read_cvd(data: bytes, strict: bool = True) -> tuple[CvdHeader, list[tuple[str, bytes]]]:
    """Return the header and the (name, content) of every regular member, in archive order.

    ``strict`` checks the header's MD5 of the body: right for ``.cvd``; a ``.cld`` rewritten by freshclam's
    incremental updates keeps the MD5 of the original download, so it is checked for a readable tar only.
    """
    if len(data) < HEADER_SIZE:
        raise CvdError("truncated container")
    header = _parse_header(data[:HEADER_SIZE])
    body = data[HEADER_SIZE:]
    if strict and hashlib.md5(body).hexdigest() != header.md5.lower():
        raise CvdError("MD5 of the body does not match the header")
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise CvdError(f"corrupt compressed body: {exc}") from exc
    members: list[tuple[str, bytes]] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                fh = tar.extractfile(info)
                if fh is not None:
                    members.append((info.name, fh.read()))
    except tarfile.TarError as exc:
        raise CvdError(f"corrupt tar body: {exc}") from exc
    return header, members
