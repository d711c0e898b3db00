"""Turn an engine detection into the protocol's Finding: the file's hash, size, owner and times."""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
from typing import Any

SEVERITIES = {"low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def finding(
    real_path: str, shown_path: str, name: str, sig_type: str, severity: str, offset: int | None
) -> dict[str, Any]:
    """Describe the file on disk (the container, for a hit inside an archive) as the server records it."""
    try:
        st = os.stat(real_path, follow_symlinks=False)
        file_hash = sha256_of(real_path) if stat.S_ISREG(st.st_mode) else "0" * 64
        size, owner, attr = st.st_size, _owner(st.st_uid), oct(stat.S_IMODE(st.st_mode))[2:].zfill(4)
        ctime, mtime = int(st.st_ctime * 1000), int(st.st_mtime * 1000)
    except OSError:  # gone since it was scanned: still report what was found
        file_hash, size, owner, attr, ctime, mtime = "0" * 64, 0, "", "", 0, 0
    return {
        "malware_name": name[:256],
        "malware_type": sig_type[:64] or "virus",
        "severity": SEVERITIES.get(severity.lower(), "High"),
        "file_path": shown_path,
        "file_hash": file_hash,
        "file_size": size,
        "file_owner": owner,
        "file_attr": attr,
        "file_ctime": ctime,
        "file_mtime": mtime,
        "offset": offset,
    }


def finding_key(f: dict[str, Any]) -> str:
    """The identity the server deduplicates findings on (subtask, path, hash, name)."""
    return f"{f['file_path']}\0{f['file_hash']}\0{f['malware_name']}"
