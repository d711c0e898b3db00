"""Reading a yara-x match as the signatures' authors meant it: which rule namespace a match came from says whose
signature it is, and ClamAV's own semantics are applied after the pattern pass.

`compile` packs every ClamAV body pattern and logical subsignature into few rules (the rule only says "one of
these matched"), so here each matched pattern is looked up by its ``$p<n>`` identifier: its offset condition
(``n``, ``n,m``, ``EOF-n``, ``EP+n``) is checked against where it matched, a plain ``.ndb`` pattern becomes a hit,
and a logical subsignature is noted, with its count and first offset that holds, for its signature's expression,
evaluated once the file's matches are all read. YARA rules and EICAR are hits as they are.
"""

from __future__ import annotations

from typing import Any

from .. import markers
from ..results import HitTuple, Severity, add_hit
from .compile import BODY_NAMESPACE, LOGICAL_NAMESPACE
from .eicar import EICAR_NAME, EICAR_NAMESPACE
from .ldb import evaluate, holds_unmatched
from .signature_set import LogicalRule, PatternInfo
from .yara import severity_from_meta

__all__ = ["MatchReader", "check_offset", "entry_point"]

_HIGH = Severity.HIGH.value
_LOW = Severity.LOW.value

Subsigs = dict[int, dict[int, tuple[int, "int | None"]]]
"""logical signature -> subsignature -> (matches, first offset that holds)"""


def entry_point(outputs: dict[str, Any]) -> int | None:
    """The file offset of the entry point, from the pe module for a PE and the elf module otherwise (the pe module
    answers ``{"is_pe": False}`` for an ELF, which must not hide the elf one)."""
    pe = outputs.get("pe") or {}
    module = pe if pe.get("is_pe") else outputs.get("elf") or {}
    ep = module.get("entry_point")
    return int(ep) if ep is not None else None


def check_offset(kind: str, start: int, span: int, offsets: list[int], size: int, ep: int | None) -> int | None:
    """The first of a pattern's match ``offsets`` its ClamAV offset allows, or None: ``any`` (``*``), ``abs``
    (``start[,span]``), ``eof`` (``EOF-start[,span]``) or ``ep`` (``EP+start[,span]``, no entry point: none)."""
    if kind == "any":
        return offsets[0]
    if kind == "abs":
        lo = start
    elif kind == "eof":
        lo = size - start
    else:
        if ep is None:
            return None
        lo = ep + start
    for off in offsets:
        if lo <= off <= lo + span:
            return off
    return None


class MatchReader:
    """One per matcher: the tables that say what each translated pattern and logical signature is."""

    __slots__ = ("patterns", "logical", "owner", "always")

    def __init__(self, patterns: list[PatternInfo], logical: list[LogicalRule],
                 pattern_owner: dict[int, tuple[int, int] | None]) -> None:
        self.patterns = patterns
        self.logical = logical
        self.owner = pattern_owner
        #: Logical signatures that hold with no subsignature matched: evaluated on every file of their type.
        self.always = [k for k, (_, _, _, expr) in enumerate(logical) if holds_unmatched(expr)]

    def read(self, res: Any, size: int, member: str | None, out: list[HitTuple]) -> set[str]:
        """Add the hits of one yara-x scan result (of a layer ``size`` bytes long, at ``member``) to ``out``;
        return the `markers` seen in the layer."""
        hits: Subsigs = {}
        types = {0}  # target types this file is, as far as logical signatures that need no match ask
        seen: set[str] = set()
        for rule in res.matching_rules:
            ns = rule.namespace
            if ns == markers.NAMESPACE:
                seen.add(rule.identifier)
            elif ns == BODY_NAMESPACE:
                self._body(rule, res, size, member, hits, out)
            elif ns == LOGICAL_NAMESPACE:
                types.add(int(rule.identifier.rpartition("_t")[2]))
            else:
                offset = next((p.matches[0].offset for p in rule.patterns if p.matches), None)
                if ns == EICAR_NAMESPACE:
                    add_hit(out, (EICAR_NAME, "eicar", _LOW, offset, member))
                else:
                    add_hit(out, (rule.identifier, "yara", severity_from_meta(rule.metadata), offset, member))
        if hits or self.always:
            self._logical(hits, types, size, member, out)
        return seen

    def _body(self, rule: Any, res: Any, size: int, member: str | None, hits: Subsigs, out: list[HitTuple]) -> None:
        """A rule of packed ClamAV patterns: each pattern that matched where its offset allows."""
        ep: int | None = None
        ep_loaded = False
        owner = self.owner
        for pat in rule.patterns:
            if not pat.matches:
                continue
            pid = int(pat.identifier[2:])
            name, kind, start, span = self.patterns[pid]
            if kind == "ep" and not ep_loaded:
                ep, ep_loaded = entry_point(res.module_outputs), True
            off = check_offset(kind, start, span, [m.offset for m in pat.matches], size, ep)
            if pid in owner:
                logical = owner[pid]
                if logical is not None:
                    hits.setdefault(logical[0], {})[logical[1]] = (len(pat.matches), off)
            elif off is not None:
                add_hit(out, (name, "body-pattern", _HIGH, off, member))

    def _logical(self, hits: Subsigs, types: set[int], size: int, member: str | None, out: list[HitTuple]) -> None:
        """Evaluate the logical signatures some subsignature of which matched (their patterns' rules already
        checked the file type), and those that hold with none, on files of their type."""
        for k in sorted(hits.keys() | set(self.always)):
            name, target, file_size, expr = self.logical[k]
            found = hits.get(k, {})
            if (not found and target not in types) or (file_size and not file_size[0] <= size <= file_size[1]):
                continue
            placed = {j: off for j, (_, off) in found.items() if off is not None}
            if evaluate(expr, placed.keys(), {j: n for j, (n, _) in found.items()}):
                add_hit(out, (name, "logical", _HIGH, min(placed.values(), default=None), member))
