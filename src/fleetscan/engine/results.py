"""Plain result types shared by the engine, the agent and the CLI.

They are dataclasses with ``to_dict``/``from_dict`` so that a report can be sent over the wire, stored as a
checkpoint and restored to resume a scan without any engine object being alive.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = ["Hit", "ScanReport", "Skip", "SkipReason", "Severity", "MAX_EXAMPLES", "CLEAN", "DETECTED",
           "SKIPPED", "HitTuple", "FileResult", "Identity", "Problem", "CHOSEN_SKIPS", "add_hit"]

#: How many example paths a report keeps per skip reason; counts are always exact.
MAX_EXAMPLES = 20

#: A file's verdict as a worker process returns it and the verdict cache stores it.
CLEAN, DETECTED, SKIPPED = 0, 1, 2
HitTuple = tuple[str, str, str, "int | None", "str | None"]
"""(signature, type, severity, offset, archive member chain)"""
Identity = tuple[int, int, int, int, int]
"""(device, inode, size, mtime_ns, ctime_ns) of a file"""


class Problem(NamedTuple):
    """A layer inside a file that was not opened. A plain tuple on the wire and in the verdict cache."""

    where: str
    """The member chain (``a.tar!b.zip!x``); empty for the file itself."""
    reason: str
    """A `SkipReason` value."""
    detail: str


FileResult = tuple[int, list[HitTuple], "str | None", str, int, "Identity | None", list[Problem]]
"""(CLEAN/DETECTED/SKIPPED, detections, skip reason, skip detail, bytes read, the file as opened, problems)

A file is DETECTED when anything in it matched, whatever else it holds; otherwise SKIPPED when some layer was not
opened (its first problem gives the reason), CLEAN when every layer the engine opened was matched to the end."""


def add_hit(out: list[HitTuple], det: HitTuple) -> None:
    """Add a hit unless the same signature already hit at the same member: a file's hits name each once."""
    if not any(d[0] == det[0] and d[4] == det[4] for d in out):
        out.append(det)


class SkipReason(StrEnum):
    """Why a file was not (fully) scanned. Every path that is not clean or detected carries one."""

    TOO_LARGE = "too_large"
    ARCHIVE_LIMIT = "archive_limit"
    PERMISSION_DENIED = "permission_denied"
    READ_ERROR = "read_error"
    EXCLUDED = "excluded"
    SPECIAL_FILE = "special_file"
    SYMLINK = "symlink"
    """Not followed (the default), dangling, a loop, or pointing back into the scanned tree."""
    ENCRYPTED = "encrypted"
    """A container recognised but encrypted (a password-protected zip member, a 7z with encrypted headers)."""
    CORRUPT = "corrupt"
    """A container recognised but corrupt or truncated."""
    UNSUPPORTED = "unsupported"
    """A format or method recognised that no decoder can open (an unknown compression method, ...)."""
    NEEDS_CLAMD = "needs_clamd"
    """A format only libclamav opens (PE packers, NSIS, ...), and no clamd backend is configured."""


CHOSEN_SKIPS = frozenset({SkipReason.EXCLUDED, SkipReason.SYMLINK, SkipReason.SPECIAL_FILE})
"""Not scanned because the user chose so (an exclusion, symlinks not followed), or with no content to scan (a FIFO,
a socket, a device): these never make `fleetscan scan` exit 2."""


class Severity(StrEnum):
    """A signature's severity as the engine reports it, in lower case (``Hit.severity`` holds its value). The
    server's `core.models.Severity` is the stored one ("Low"...); the agent maps one onto the other. The four
    levels HSS uses; Alibaba's three map onto low/medium/high."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Hit:
    """One signature hit in a scanned file, as the engine reports it (the server stores it as a
    `core.models.Detection`). ``member`` is the chain of archive members (``a.zip!b.tar!x.exe``) when inside one."""

    path: str
    signature: str
    sig_type: str
    severity: str
    offset: int | None = None
    member: str | None = None
    signature_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hit:
        return cls(**data)


@dataclass(frozen=True)
class Skip:
    """A path the engine looked at and did not scan (or not completely), with the reason and a human detail."""

    path: str
    reason: SkipReason
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": str(self.reason), "detail": self.detail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Skip:
        return cls(path=data["path"], reason=SkipReason(data["reason"]), detail=data.get("detail", ""))


@dataclass
class ScanReport:
    """Everything a scan produced. Counters are restorable so a resumed scan continues them."""

    signature_version: str = ""
    signature_counts: dict[str, int] = field(default_factory=dict)
    unsupported_signatures: dict[str, int] = field(default_factory=dict)
    scan_type: str = "custom"
    targets: list[str] = field(default_factory=list)
    root: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    files_clean: int = 0
    files_detected: int = 0
    files_cached: int = 0
    bytes_scanned: int = 0
    detections: list[Hit] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skip_examples: dict[str, list[Skip]] = field(default_factory=dict)
    files_partial: int = 0
    """Detected files with some layer not opened (an encrypted member, one over a limit): counted here and among
    the detected files, not in `skipped`, so that every file is counted once in `files_scanned + files_skipped`."""
    partial: dict[str, int] = field(default_factory=dict)
    """Those files by the reason of their first unopened layer."""
    partial_examples: dict[str, list[Skip]] = field(default_factory=dict)
    """Their unopened layers (``path!member`` chains), up to `MAX_EXAMPLES` per reason."""
    stopped: bool = False
    checkpoint: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def files_scanned(self) -> int:
        return self.files_clean + self.files_detected

    @property
    def files_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def files_not_scanned(self) -> int:
        """Files with any layer not opened: not scanned at all, or detected with something left unopened. The
        summary's "Not scanned" line."""
        return self.files_skipped + self.files_partial

    def reasons(self) -> set[str]:
        """Every reason some file, or some layer of a detected file, was not scanned for."""
        return {k for k, v in self.skipped.items() if v} | {k for k, v in self.partial.items() if v}

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    def add_skip(self, skip: Skip) -> None:
        key = str(skip.reason)
        self.skipped[key] = self.skipped.get(key, 0) + 1
        examples = self.skip_examples.setdefault(key, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(skip)

    def add_partial(self, path: str, problems: list[Problem]) -> None:
        """A detected file some layers of which were not opened."""
        self.files_partial += 1
        first = problems[0][1]
        self.partial[first] = self.partial.get(first, 0) + 1
        for where, reason, detail in problems:
            examples = self.partial_examples.setdefault(reason, [])
            if len(examples) < MAX_EXAMPLES:
                examples.append(Skip(f"{path}!{where}" if where else path, SkipReason(reason), detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature_version": self.signature_version,
            "signature_counts": dict(self.signature_counts),
            "unsupported_signatures": dict(self.unsupported_signatures),
            "scan_type": self.scan_type,
            "targets": list(self.targets),
            "root": self.root,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
            "files_scanned": self.files_scanned,
            "files_clean": self.files_clean,
            "files_detected": self.files_detected,
            "files_cached": self.files_cached,
            "files_skipped": self.files_skipped,
            "bytes_scanned": self.bytes_scanned,
            "detections": [d.to_dict() for d in self.detections],
            "skipped": dict(self.skipped),
            "skip_examples": {k: [s.to_dict() for s in v] for k, v in self.skip_examples.items()},
            "files_partial": self.files_partial,
            "files_not_scanned": self.files_not_scanned,
            "partial": dict(self.partial),
            "partial_examples": {k: [s.to_dict() for s in v] for k, v in self.partial_examples.items()},
            "stopped": self.stopped,
            "checkpoint": self.checkpoint,
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanReport:
        return cls(
            signature_version=data.get("signature_version", ""),
            signature_counts=dict(data.get("signature_counts", {})),
            unsupported_signatures=dict(data.get("unsupported_signatures", {})),
            scan_type=data.get("scan_type", "custom"),
            targets=list(data.get("targets", [])),
            root=data.get("root"),
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            files_clean=int(data.get("files_clean", 0)),
            files_detected=int(data.get("files_detected", 0)),
            files_cached=int(data.get("files_cached", 0)),
            bytes_scanned=int(data.get("bytes_scanned", 0)),
            detections=[Hit.from_dict(d) for d in data.get("detections", [])],
            skipped=dict(data.get("skipped", {})),
            skip_examples={k: [Skip.from_dict(s) for s in v] for k, v in data.get("skip_examples", {}).items()},
            files_partial=int(data.get("files_partial", 0)),
            partial=dict(data.get("partial", {})),
            partial_examples={k: [Skip.from_dict(s) for s in v] for k, v in data.get("partial_examples", {}).items()},
            stopped=bool(data.get("stopped", False)),
            checkpoint=data.get("checkpoint"),
            errors=list(data.get("errors", [])),
        )
