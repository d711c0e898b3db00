"""The intermediate form every signature parser fills: plain data, picklable, no compiled objects."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BodyPattern", "HashSig", "LogicalSig", "SignatureParts", "UnsupportedReport", "HASH_LENGTHS"]

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
    """A byte pattern already translated to a YARA hex string, with ClamAV's offset and target constraints.

    ``offset_kind`` is ``any``, ``abs`` (``start``..``start+span`` from the beginning), ``eof`` (from the end) or
    ``ep`` (from the executable entry point); ``target`` is ClamAV's target type number.
    """

    name: str
    hexsig: str
    target: int = 0
    offset_kind: str = "any"
    start: int = 0
    span: int = 0


@dataclass(frozen=True, slots=True)
class LogicalSig:
    """A ClamAV logical signature translated to the parts of one YARA rule: ``strings[i]`` is ``$s<i>``, the
    condition refers to them, and ``target``/``file_size`` become guards when the rule is written."""

    name: str
    target: int
    file_size: tuple[int, int] | None
    strings: list[str]
    condition: str
    modules: tuple[str, ...] = ()


@dataclass
class UnsupportedReport:
    """Signature lines that could not be used, counted per reason with a few examples, never dropped silently."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, where: str, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n
        ex = self.examples.setdefault(reason, [])
        if len(ex) < MAX_UNSUPPORTED_EXAMPLES:
            ex.append(where)

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
