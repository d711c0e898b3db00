"""A loaded signature set: its identity and counts, and the tables matching needs (compiled rules, hash indexes,
what each pattern means). Built by `compile`, kept on disk by `set_cache`, loaded by `load.load_signatures`."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import yara_x

from .hashes import HashIndex
from .model import Expr, UnsupportedReport
from .text_pass import TextPass

__all__ = ["SignatureSet", "MatchTables", "PatternInfo", "LogicalRule"]

PatternInfo = tuple[str, str, int, int]
"""(name, offset kind, start, span) of a translated body pattern, indexed by its ``$p<n>`` identifier."""
LogicalRule = tuple[str, int, "tuple[int, int] | None", Expr]
"""(name, target type, file size range, expression) of a usable logical signature."""


@dataclass
class MatchTables:
    """What matching needs: the compiled rules and the tables that name what matched."""

    rules: yara_x.Rules
    hash_index: HashIndex
    section_index: HashIndex
    patterns: list[PatternInfo]
    logical: list[LogicalRule] = field(default_factory=list)
    pattern_owner: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    """Pattern id -> (index in ``logical``, subsignature) for the patterns that are logical subsignatures; None for
    those of a signature that could not be used (another of its subsignatures did not compile), which must match
    nothing on their own."""
    markers: str = ""
    """The `markers.VERSION` compiled into ``rules``; empty: none, and every decoder is asked about every layer."""
    text_pass: TextPass = TextPass.FULL
    """What matching the normalised copy of a text needs (`text_pass`); FULL is always right, only slower."""


@dataclass
class SignatureSet:
    """A signature set's identity and counts, with its match tables.

    The tables may be given as a loader: a rescan in which every file is unchanged never matches anything, so it
    should not pay for reading the compiled rules and hash tables back from the cache.
    """

    version: str
    counts: dict[str, int]
    unsupported: UnsupportedReport
    tables_or_loader: MatchTables | Callable[[], MatchTables]
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stamp: str = ""
    """:func:`sources_stamp` of the paths it was loaded from: when that changes, the set is stale."""
    cache_dir: str | None = None
    """Where its compiled form is kept, if anywhere: a folder scans never enter (it is fleetscan's own)."""
    _rules_bytes: bytes | None = None

    @property
    def tables(self) -> MatchTables:
        if not isinstance(self.tables_or_loader, MatchTables):
            self.tables_or_loader = self.tables_or_loader()
        return self.tables_or_loader

    @property
    def rules(self) -> yara_x.Rules:
        return self.tables.rules

    @property
    def hash_index(self) -> HashIndex:
        return self.tables.hash_index

    @property
    def section_index(self) -> HashIndex:
        return self.tables.section_index

    @property
    def patterns(self) -> list[PatternInfo]:
        return self.tables.patterns

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def rules_bytes(self) -> bytes:
        """The compiled rules serialized once, to hand to worker processes."""
        if self._rules_bytes is None:
            buf = io.BytesIO()
            self.rules.serialize_into(buf)
            self._rules_bytes = buf.getvalue()
        return self._rules_bytes

    def summary(self) -> dict[str, object]:
        return {
            "version": self.version,
            "counts": dict(self.counts),
            "total": self.total,
            "unsupported": dict(self.unsupported.counts),
            "unsupported_total": self.unsupported.total,
            "unsupported_examples": {k: list(v) for k, v in self.unsupported.examples.items()},
            "damaged": dict(self.unsupported.damaged),
            "sources": list(self.sources),
            "notes": list(self.notes),
        }
