"""The intermediate form every signature parser fills: plain data, picklable, no compiled objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BodyPattern", "Expr", "HashSig", "LogicalSig", "SignatureParts", "UnsupportedReport", "HASH_LENGTHS"]

#: Hex digest length -> hashlib algorithm; ClamAV picks the algorithm from the length the same way.
HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}

MAX_UNSUPPORTED_EXAMPLES = 10


@dataclass(frozen=True, slots=True)
class HashSig:
    """A whole-file (or PE section) hash. ``size`` None means "any size", which forces hashing every file."""

    name: str
    algo: str
    digest: str
    size: int | None
    sig_type: str


@dataclass(frozen=True, slots=True)
class BodyPattern:
    """A byte pattern already translated to a YARA string (``{ 41 ?? 42 }``, or ``"..." nocase`` for a logical
    signature's subsignature with modifiers), with ClamAV's offset and target constraints.

    ``offset_kind`` is ``any``, ``abs`` (``start``..``start+span`` from the beginning), ``eof`` (from the end) or
    ``ep`` (from the executable entry point); ``target`` is ClamAV's target type number.
    """

    name: str
    string: str
    target: int = 0
    offset_kind: str = "any"
    start: int = 0
    span: int = 0


Expr = tuple[Any, ...]
"""A logical expression: ``("sub", i)``, ``("and", (e, ...))``, ``("or", (e, ...))``, or
``("count", (i, ...), "=" | ">" | "<", n, distinct or None, group expression)``: plain tuples, so that they pickle."""


@dataclass(frozen=True, slots=True)
class LogicalSig:
    """A ClamAV logical signature: its subsignatures are body patterns matched with all the others, and the
    expression is evaluated on what they matched."""

    name: str
    target: int
    file_size: tuple[int, int] | None
    subsigs: list[BodyPattern]
    expr: Expr


@dataclass
class UnsupportedReport:
    """Signature lines that could not be used, counted per reason with a few examples, never dropped silently.

    Two kinds are told apart. A signature this engine does not evaluate (bytecode, PCRE, a ClamAV normaliser
    target) is what a real ClamAV database always holds: counted, and the set is still what its author wrote for
    every signature it could use. A **damaged** source (a malformed line, a YARA file that does not compile, a
    container that does not verify) is not: the set is not the one the user believes loaded, so loading fails unless
    they accept it (``load_signatures(..., ignore_bad=True)``).
    """

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)
    """Damaged source -> its first problem (with the line where there is one)."""

    def add(self, reason: str, where: str, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n
        ex = self.examples.setdefault(reason, [])
        if len(ex) < MAX_UNSUPPORTED_EXAMPLES:
            ex.append(where)

    def damage(self, source: str, reason: str, where: str | None = None, n: int = 1) -> None:
        """Count a problem that makes ``source`` damaged, whole (``where`` None) or in part."""
        self.add(reason, where or source, n)
        self.damaged.setdefault(source, f"{reason} ({where})" if where and where != source else reason)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class SignatureParts:
    """Everything read from the signature sources, before compilation."""

    hashes: list[HashSig] = field(default_factory=list)
    section_hashes: list[HashSig] = field(default_factory=list)
    patterns: list[BodyPattern] = field(default_factory=list)
    logical: list[LogicalSig] = field(default_factory=list)
    yara_sources: list[tuple[str, str]] = field(default_factory=list)
    unsupported: UnsupportedReport = field(default_factory=UnsupportedReport)
    sources: list[tuple[str, str]] = field(default_factory=list)
    """(origin, sha256 of content) of every source read; the set version is a digest of these."""
