"""A sweep's scan on this host: the work item's hashes as a hash list, and nothing else.

The engine reads `.sha256` lists into its size-keyed index (engine/signatures/hashes.py): with the sizes the server
knows, only files of those sizes are hashed. The set holds none of the host's own signatures, and the scan runs
without the pattern pass (`ScanOptions.pattern_pass`); only findings named by the sweep are kept all the same.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine import SignatureSet, SignatureSourceError, load_signatures


def hash_list(sweep: Sequence[dict[str, Any]]) -> str:
    """One `sha256:size:name` line per wanted file (`*`: any size)."""
    lines = []
    for item in sweep:
        digest, size, name = str(item["sha256"]), item.get("size"), str(item["name"])
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest) or ":" in name or "\n" in name:
            raise ValueError(f"not a sweep hash: {digest!r} {name!r}")
        lines.append(f"{digest}:{size if isinstance(size, int) and size >= 0 else '*'}:{name}")
    return "\n".join(lines) + "\n"


def names(sweep: Sequence[dict[str, Any]]) -> frozenset[str]:
    """The findings a sweep keeps. Never raises: a bad item fails the scan when its set is loaded, with a reason."""
    return frozenset(str(item.get("name")) for item in sweep if isinstance(item, dict))


def load(sweep: Sequence[dict[str, Any]], folder: Path) -> SignatureSet:
    """The hash-only set of one sweep, read from a list written under `folder` (the agent's own state: never
    scanned) and removed once read: the set is built in memory, never cached."""
    try:
        text = hash_list(sweep)
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureSourceError(f"sweep: {exc}") from None
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        (folder / "sweep.sha256").write_text(text)
        return load_signatures([folder])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
