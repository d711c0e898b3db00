"""Limits on expanding archives, and the budget that enforces them across nesting levels.

Kept apart from :mod:`.archives` so that the scan's options can name them without loading libarchive, which only
the worker processes need.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["ArchiveLimits", "ArchiveLimitExceeded", "ArchiveUnreadable", "Budget", "MiB"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Defaults follow ClamAV's (MaxRecursion, MaxFiles, MaxScanSize) scaled to a scanner that keeps members in
    memory: ``max_expanded`` also bounds the memory one file can use, nested levels included."""

    max_depth: int = 5
    max_members: int = 10_000
    max_expanded: int = 256 * MiB
    max_ratio: int = 250
    max_member_size: int = 64 * MiB

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class ArchiveLimitExceeded(Exception):
    """A limit stopped the expansion; ``str()`` says which one and where."""


class ArchiveUnreadable(Exception):
    """libarchive recognised the format but could not read on (corrupt, encrypted, unsupported method)."""


@dataclass
class Budget:
    """Shared by all nesting levels of one top-level file: limits apply to the whole tree."""

    limits: ArchiveLimits
    archive_size: int
    members: int = 0
    expanded: int = 0

    def charge(self, nbytes: int, where: str) -> None:
        self.expanded += nbytes
        lim = self.limits
        if self.expanded > lim.max_expanded:
            raise ArchiveLimitExceeded(f"expanded size over {lim.max_expanded} bytes at {where}")
        if self.expanded > MiB and self.expanded > lim.max_ratio * max(1, self.archive_size):
            raise ArchiveLimitExceeded(f"compression ratio over {lim.max_ratio}:1 at {where}")
