"""Hash signatures: parsing plain hash lists and an index keyed by file size.

Keying by size is what makes hash signatures nearly free: a file is hashed only when some signature has its exact
size, so twenty thousand hashes cost a dictionary lookup per file instead of a sha256 over every byte.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .model import HASH_LENGTHS, HashSig, SignatureParts

__all__ = ["HashIndex", "parse_hash_list", "hash_bytes", "HASH_LIST_SUFFIXES"]

#: Plain lists: one ``digest[:size][:name]`` per line (also ``sha256sum`` output and comma-separated forms).
HASH_LIST_SUFFIXES = (".hashes", ".hash", ".sha256", ".sha1", ".md5", ".sha256sum", ".sha1sum", ".md5sum")

_HEX = re.compile(r"^[0-9a-fA-F]+$")

HashMatch = tuple[str, str]
"""(signature name, signature type)"""


def _split(line: str) -> list[str]:
    if ":" in line:
        return [t.strip() for t in line.split(":", 2)]
    if "," in line:
        return [t.strip() for t in line.split(",", 2)]
    return line.split(None, 2)


def parse_hash_list(text: str, origin: str, parts: SignatureParts) -> None:
    """Read a plain hash list; a line that is not a hash makes the list damaged, never ignored."""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = _split(line)
        digest = tokens[0].lower()
        algo = HASH_LENGTHS.get(len(digest))
        if algo is None or not _HEX.match(digest):
            parts.unsupported.damage(origin, "malformed hash line", f"{origin}:{lineno}")
            continue
        size: int | None = None
        rest = tokens[1:]
        if rest and (rest[0].isdigit() or rest[0] == "*"):
            size = int(rest[0]) if rest[0].isdigit() else None
            rest = rest[1:]
        name = " ".join(rest).lstrip("*").strip() or f"Hash.{algo}.{digest[:16]}"
        parts.hashes.append(HashSig(name=name, algo=algo, digest=digest, size=size, sig_type="hash"))


class HashIndex:
    """size -> algorithm -> digest -> (name, type), plus the size-less signatures that apply to every file."""

    __slots__ = ("by_size", "any_size", "count")

    def __init__(self, sigs: Iterable[HashSig] = ()) -> None:
        self.by_size: dict[int, dict[str, dict[str, HashMatch]]] = {}
        self.any_size: dict[str, dict[str, HashMatch]] = {}
        self.count = 0
        for sig in sigs:
            table = self.any_size if sig.size is None else self.by_size.setdefault(sig.size, {})
            table.setdefault(sig.algo, {}).setdefault(sig.digest, (sig.name, sig.sig_type))
            self.count += 1

    def __len__(self) -> int:
        return self.count

    def algos_for(self, size: int) -> set[str]:
        """The hash algorithms worth computing for a file of this size (empty: do not hash at all)."""
        algos = set(self.any_size)
        sized = self.by_size.get(size)
        if sized:
            algos.update(sized)
        return algos

    def lookup(self, size: int, digests: dict[str, str]) -> list[HashMatch]:
        hits: list[HashMatch] = []
        for table in (self.by_size.get(size), self.any_size):
            if not table:
                continue
            for algo, digest in digests.items():
                hit = table.get(algo, {}).get(digest)
                if hit is not None and hit not in hits:
                    hits.append(hit)
        return hits


def hash_bytes(data: bytes | memoryview, algos: Iterable[str]) -> dict[str, str]:
    return {algo: hashlib.new(algo, data).hexdigest() for algo in algos}
