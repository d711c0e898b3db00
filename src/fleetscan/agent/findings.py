"""Turn an engine detection into the protocol's Finding: the file's hash, size, owner and times.

Paths travel in their display and exact forms (paths.py). Stat values are bounded like every protocol integer
(0 to 2**63-1): a value outside (an mtime of 1e16 s, which anyone can set on tmpfs) is clamped to the bound and
the field named in ``clamped``, so the finding still lands and the server knows the value is not the file's.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
from typing import Any

from ..engine.results import Severity
from ..engine.walk import open_path
from . import paths

INT64_MAX = 2**63 - 1
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
#: The protocol's word for each engine severity ("high" -> "High", as the server's `core.models.Severity`).
SEVERITIES = {level.value: level.value.capitalize() for level in Severity}


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def sha256_of(path: str) -> str:
    fd = open_path(path, _OPEN)
    with os.fdopen(fd, "rb") as f:
        return _digest(f.fileno())


def _digest(fd: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


def clamp(value: int, name: str, clamped: list[str]) -> int:
    """``value`` within 0..2**63-1; a field that had to be clamped is named in ``clamped``."""
    bounded = min(max(value, 0), INT64_MAX)
    if bounded != value:
        clamped.append(name)
    return bounded


def _describe(real_path: str) -> tuple[str, int, str, str, int, int]:
    """(sha256, size, owner, mode, ctime ms, mtime ms) of the file, opened relative to its folders (no depth limit)."""
    fd = open_path(real_path, _OPEN)
    try:
        st = os.fstat(fd)
        file_hash = _digest(fd) if stat.S_ISREG(st.st_mode) else "0" * 64
    finally:
        os.close(fd)
    attr = oct(stat.S_IMODE(st.st_mode))[2:].zfill(4)
    return file_hash, st.st_size, _owner(st.st_uid), attr, st.st_ctime_ns // 1_000_000, st.st_mtime_ns // 1_000_000


def finding(
    real_path: str, shown_path: str, name: str, sig_type: str, severity: str, offset: int | None
) -> dict[str, Any]:
    """Describe the file on disk (the container, for a hit inside an archive) as the server records it."""
    try:
        file_hash, size, owner, attr, ctime, mtime = _describe(real_path)
    except OSError:  # gone since it was scanned (or a symlink now): still report what was found
        file_hash, size, owner, attr, ctime, mtime = "0" * 64, 0, "", "", 0, 0
    clamped: list[str] = []
    return {
        "malware_name": paths.display(name)[:256],  # a signature's name is text from a database file
        "malware_type": paths.display(sig_type)[:64] or "virus",
        "severity": SEVERITIES.get(severity.lower(), "High"),
        "file_path": paths.display(shown_path),
        "file_path_b64": paths.exact(shown_path),
        "file_hash": file_hash,
        "file_size": clamp(size, "file_size", clamped),
        "file_owner": paths.display(owner)[:128],
        "file_attr": attr,
        "file_ctime": clamp(ctime, "file_ctime", clamped),
        "file_mtime": clamp(mtime, "file_mtime", clamped),
        "offset": None if offset is None else clamp(offset, "offset", clamped),
        "clamped": clamped,
    }


def finding_key(f: dict[str, Any]) -> str:
    """The identity the server deduplicates findings on (subtask, exact path, hash, name)."""
    return f"{f.get('file_path_b64') or f['file_path']}\0{f['file_hash']}\0{f['malware_name']}"
