"""Unpacking ClamAV's signed containers (``.cvd``, ``.cld``, ``.cud``): a 512-byte text header, then a tar.

Trust is established as libclamav establishes it (``cli_cvdload``, ``cli_tgzload``, ``cli_loadinfo``):

* ``.cvd``: the MD5 of the body must match the header, and the header's digital signature of that MD5 must verify
  with ClamAV's published key;
* ``.cvd`` and ``.cld`` (a ``.cvd`` freshclam patched with signed incremental updates, whose header is no longer
  signed): the ``.info`` member must carry a ``DSIG:`` line that verifies with ClamAV's ``.info`` key; it lists the
  size and SHA-256 of every database member, which must match, and its header must match the container's;
* ``.cud`` (an unsigned database, as ``sigtool --unsigned`` builds): the ``.info`` member is still required and its
  sizes and digests checked, without a signature.

Anything else is a :class:`CvdError`: the whole container is refused, never loaded in part.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from dataclasses import dataclass

from .dsig import CLAMAV_KEYS, ClamavKeys, verify_md5_dsig, verify_sha256_pss

__all__ = ["CvdHeader", "CvdError", "Container", "read_cvd", "CONTAINER_SUFFIXES"]

CONTAINER_SUFFIXES = (".cvd", ".cld", ".cud")
HEADER_SIZE = 512
#: Members that hold no signatures, which ``.info`` need not list (ClamAV skips them too).
_NOT_DATABASES = re.compile(r"(?i)^(COPYING|.*\.(info|txt))$")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class CvdError(ValueError):
    """The container is not a ClamAV database, is damaged, or its signature does not verify."""


@dataclass(frozen=True)
class CvdHeader:
    build_time: str
    version: int
    signatures: int
    flevel: int
    md5: str
    dsig: str
    builder: str
    stime: int


@dataclass(frozen=True)
class Container:
    header: CvdHeader
    members: list[tuple[str, bytes]]
    """(name, content) of every database member, in archive order (the ``.info`` member left out)."""
    trust: str
    """How it was verified, for the set's notes."""


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
            dsig=fields[6],
            builder=fields[7],
            stime=int(fields[8]) if len(fields) > 8 and fields[8].strip() else 0,
        )
    except ValueError as exc:
        raise CvdError(f"bad container header: {exc}") from exc


def _untar(body: bytes) -> list[tuple[str, bytes]]:
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
    return members


def _same_database(header: CvdHeader, line: str) -> bool:
    try:
        other = _parse_header(line.encode())
    except CvdError:
        return False
    return (other.version, other.signatures, other.flevel, other.stime) == (
        header.version, header.signatures, header.flevel, header.stime)


def _read_info(name: str, data: bytes, header: CvdHeader, signed: bool, keys: ClamavKeys) -> dict[str, tuple[int, str]]:
    """The ``.info`` member's listing (member -> size, SHA-256), once its signature and header are checked."""
    listed: dict[str, tuple[int, str]] = {}
    digest = hashlib.sha256()
    dsig: str | None = None
    lines = data.splitlines(keepends=True)
    for n, raw in enumerate(lines, 1):
        if raw.startswith(b"DSIG:"):
            dsig = raw[5:].decode("ascii", "replace").strip()
            break
        digest.update(raw if raw.endswith(b"\n") else raw + b"\n")
        line = raw.decode("utf-8", "replace").strip()
        if n == 1:
            if not _same_database(header, line):
                raise CvdError(f"{name}: its header does not match the container's")
            continue
        fields = line.split(":")
        if len(fields) != 3 or not fields[1].isdigit() or not _SHA256.fullmatch(fields[2]):
            raise CvdError(f"{name}: malformed line {n}")
        listed[fields[0]] = (int(fields[1]), fields[2].lower())
    if not lines:
        raise CvdError(f"{name} is empty")
    if signed:
        if dsig is None:
            raise CvdError(f"{name} carries no digital signature")
        if not verify_sha256_pss(digest.digest(), dsig, keys.info):
            raise CvdError(f"{name}: digital signature does not verify with ClamAV's key")
    return listed


def read_cvd(data: bytes, suffix: str = ".cvd", keys: ClamavKeys = CLAMAV_KEYS) -> Container:
    """The container's verified database members; ``suffix`` (``.cvd``, ``.cld``, ``.cud``) decides what is
    checked, as the file's name decides it for ClamAV."""
    suffix = suffix.lower()
    if len(data) < HEADER_SIZE:
        raise CvdError("truncated container")
    header = _parse_header(data[:HEADER_SIZE])
    body = data[HEADER_SIZE:]
    trust = "unsigned database (.cud): sizes and digests checked against its .info"
    if suffix == ".cvd":
        md5 = hashlib.md5(body).hexdigest()
        if md5 != header.md5:
            raise CvdError("MD5 of the body does not match the header")
        if not verify_md5_dsig(md5, header.dsig, keys.cvd):
            raise CvdError("digital signature does not verify with ClamAV's key")
        trust = "digital signatures verified with ClamAV's key"
    elif suffix == ".cld":
        trust = "digital signature of its .info verified with ClamAV's key"
    members = _untar(body)
    infos = [(n, d) for n, d in members if n.lower().endswith(".info")]
    if not infos:
        raise CvdError("no .info member (ClamAV refuses such a container)")
    info_name = infos[0][0]
    listed = _read_info(info_name, infos[0][1], header, signed=suffix != ".cud", keys=keys)
    out: list[tuple[str, bytes]] = []
    for name, content in members:
        if name == info_name:
            continue
        entry = listed.get(os.path.basename(name))
        if entry is None:
            if _NOT_DATABASES.match(os.path.basename(name)):
                continue
            raise CvdError(f"member {name} is not listed in {info_name}")
        if entry != (len(content), hashlib.sha256(content).hexdigest()):
            raise CvdError(f"member {name} does not match its size and SHA-256 in {info_name}")
        out.append((name, content))
    return Container(header, out, trust)
