"""Sweeping the fleet for a file by its SHA-256: what a sweep asks of the agents, and what is already known.

A sweep is an ordinary full-scan task whose work item carries the hashes (`RootTask.sweep`): the agent scans with
those hashes alone, as a hash list, so only files of a wanted size are read and hashed. What the fleet reported
before is answered at once from stored findings (`known_hits`), before any agent has scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidParameter
from .validation import INT64_MAX

if TYPE_CHECKING:  # models holds a task's SweepHash list
    from .models import DetectionView

#: At most this many hashes in one sweep: each is a line of every agent's hash list and a name in the task.
MAX_HASHES = 100

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class SweepHash:
    """One wanted file: its SHA-256 and, when a host reported it before, its size (the engine then hashes only
    files of that size; without it, every file is hashed)."""

    sha256: str
    size: int | None = None

    @property
    def signature(self) -> str:
        return signature_name(self.sha256)

    def as_dict(self) -> dict[str, object]:
        return {"sha256": self.sha256, "size": self.size, "name": self.signature}


@dataclass(frozen=True)
class SweepHit:
    """A host that reported a file with a wanted hash: where, and when it was last seen there."""

    sha256: str
    host_id: str
    host_name: str
    file_path: str
    last_seen: int

    def as_dict(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "host_id": self.host_id,
            "host_name": self.host_name,
            "file_path": self.file_path,
            "last_seen": self.last_seen,
        }


def parse_hashes(values: Iterable[str], name: str = "sha256") -> list[str]:
    """The wanted hashes, lower case, each once, in the order given; anything but 64 hex digits is refused."""
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _SHA256.fullmatch(value.strip()):
            shown = value if isinstance(value, str) and len(value) <= 80 else f"{str(value)[:77]}..."
            raise InvalidParameter(name, f"{shown!r} is not a SHA-256 (64 hexadecimal digits)")
        out.append(value.strip().lower())
    out = list(dict.fromkeys(out))
    if not out:
        raise InvalidParameter(name, "name at least one SHA-256")
    if len(out) > MAX_HASHES:
        raise InvalidParameter(name, f"at most {MAX_HASHES} hashes in one sweep")
    return out


def signature_name(sha256: str) -> str:
    """The malware name a sweep's findings carry: alerts of a sweep are told apart by it."""
    return f"Sweep.SHA256.{sha256[:12]}"


def task_name(hashes: Sequence[str]) -> str:
    """`sweep sha256:<first 12>…`, and how many more: what both dialects show as the task's name."""
    more = f" +{len(hashes) - 1}" if len(hashes) > 1 else ""
    return f"sweep sha256:{hashes[0][:12]}…{more}"


def known_hits(views: Iterable[DetectionView], hashes: Iterable[str]) -> list[SweepHit]:
    """One hit per (hash, host, path) among stored findings, with the newest time it was seen; newest first."""
    wanted = set(hashes)
    best: dict[tuple[str, str, str], SweepHit] = {}
    for view in views:
        det = view.detection
        if det.file_hash not in wanted:
            continue
        key = (det.file_hash, view.host.host_id, det.file_path)
        seen = best.get(key)
        if seen is None or det.occur_time > seen.last_seen:
            best[key] = SweepHit(det.file_hash, view.host.host_id, view.host.name, det.file_path, det.occur_time)
    return sorted(best.values(), key=lambda h: (-h.last_seen, h.host_name, h.file_path))


def with_sizes(hashes: Sequence[str], views: Iterable[DetectionView]) -> list[SweepHash]:
    """The hashes to look for, each with the size a host reported for it, when one did."""
    sizes: dict[str, int] = {}
    for view in views:
        det = view.detection
        if 0 < det.file_size < INT64_MAX:  # a clamped size is no file's size
            sizes.setdefault(det.file_hash, det.file_size)
    return [SweepHash(h, sizes.get(h)) for h in hashes]
