"""Limits on expanding archives, and the budget that enforces them across nesting levels.

Kept apart from :mod:`.decoders.archive` so that the scan's options can name them without loading libarchive, which only
the worker processes need.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["ArchiveLimits", "ArchiveLimitExceeded", "Budget", "MiB"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Defaults follow ClamAV's (MaxRecursion, MaxFiles, MaxScanSize) scaled to a scanner that keeps members in
    memory: ``max_expanded`` also bounds the memory one file can use, nested levels included."""

    max_depth: int = 17
    """ClamAV's MaxRecursion: its own test file `clam_cache_emax.tgz` nests six archives."""
    max_members: int = 10_000
    max_expanded: int = 256 * MiB
    max_ratio: int = 250
    max_member_size: int = 64 * MiB

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class ArchiveLimitExceeded(Exception):
    """A limit stopped the expansion; ``str()`` says which one and where."""


@dataclass
class Budget:
    """Shared by all nesting levels of one top-level file: limits apply to the whole tree."""

    limits: ArchiveLimits
    archive_size: int
    members: int = 0
    expanded: int = 0
    exhausted: str | None = None
    """Set when a limit on the whole file was hit: nothing more is expanded from it, at any level."""

    def charge(self, nbytes: int, where: str) -> None:
        self.expanded += nbytes
        lim = self.limits
        if self.expanded > lim.max_expanded:
            self.stop(f"expanded size over {lim.max_expanded} bytes at {where}")
        if self.expanded > MiB and self.expanded > lim.max_ratio * max(1, self.archive_size):
            self.stop(f"compression ratio over {lim.max_ratio}:1 at {where}")

    def count_member(self, where: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            self.stop(f"more than {self.limits.max_members} members at {where}")

    def stop(self, why: str) -> None:
        self.exhausted = why
        raise ArchiveLimitExceeded(why)
