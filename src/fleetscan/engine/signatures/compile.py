"""Compiling parsed sources into one yara-x ``Rules`` and the tables that name what matched.

All byte patterns (YARA rules, translated ClamAV body patterns and logical subsignatures, EICAR) go into one
``Rules``. ClamAV patterns are packed into few rules of many patterns each, grouped by target type (a guard on the
file's magic), because yara-x's per-file cost grows with the number of rules, not patterns; which pattern fired,
and whether its ClamAV offset holds, is decided after the match from the pattern's identifier (`clamav_match`). A
group yara-x rejects is bisected, so only the offending patterns are lost, and counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import yara_x

from .. import markers
from .eicar import EICAR, EICAR_NAMESPACE, EICAR_RULE
from .hashes import HashIndex
from .ldb import holds_unmatched
from .model import BodyPattern, SignatureParts
from .signature_set import LogicalRule, MatchTables, SignatureSet
from .sources import Source, parse_sources
from .text_pass import text_pass
from .yara import count_rules

__all__ = ["BODY_NAMESPACE", "LOGICAL_NAMESPACE", "PATTERNS_PER_RULE", "compile_parts", "build_set"]

BODY_NAMESPACE = "clamav_body"
LOGICAL_NAMESPACE = "clamav_logical"
#: Patterns per generated rule: enough to keep the rule count (and per-file cost) small.
PATTERNS_PER_RULE = 1000

_TARGET_GUARDS = {
    0: "",
    1: "uint16(0) == 0x5A4D",
    2: "uint32be(0) == 0xD0CF11E0",
    5: "(uint32be(0) == 0x89504E47 or uint16be(0) == 0xFFD8 or uint32be(0) == 0x47494638 or uint16be(0) == 0x424D"
    " or uint32be(0) == 0x49492A00 or uint32be(0) == 0x4D4D002A)",
    6: "uint32be(0) == 0x7F454C46",
    9: "uint32be(0) == 0xFEEDFACE or uint32be(0) == 0xFEEDFACF or uint32be(0) == 0xCEFAEDFE"
    " or uint32be(0) == 0xCFFAEDFE or uint32be(0) == 0xCAFEBABE",
    10: "uint32be(0) == 0x25504446",
    11: "uint16be(1) == 0x5753 and (uint8(0) == 0x46 or uint8(0) == 0x43 or uint8(0) == 0x5A)",
    12: "uint32be(0) == 0xCAFEBABE",
}


def _group_source(rule: str, guard: str, ids: Sequence[int], patterns: Sequence[BodyPattern], ep: bool) -> str:
    strings = "\n".join(f"    $p{i} = {patterns[i].string}" for i in ids)
    cond = "any of them" if not guard else f"({guard}) and any of them"
    imports = 'import "pe"\nimport "elf"\n' if ep else ""
    return f"{imports}rule {rule} {{\n  strings:\n{strings}\n  condition:\n    {cond}\n}}\n"


def _add_group(
    compiler: yara_x.Compiler,
    rule: str,
    guard: str,
    ids: list[int],
    patterns: Sequence[BodyPattern],
    ep: bool,
    rejected: dict[int, str],
    accepted: set[int],
) -> None:
    """Add a pattern group; on a compile error, bisect so only the offending patterns are lost (and counted)."""
    try:
        compiler.add_source(_group_source(rule, guard, ids, patterns, ep), origin=rule)
        accepted.update(ids)
        return
    except yara_x.CompileError as exc:
        if len(ids) == 1:
            rejected[ids[0]] = (str(exc).splitlines()[0] if str(exc) else "compile error")[:80]
            return
    mid = len(ids) // 2
    _add_group(compiler, f"{rule}a", guard, ids[:mid], patterns, ep, rejected, accepted)
    _add_group(compiler, f"{rule}b", guard, ids[mid:], patterns, ep, rejected, accepted)


def compile_parts(parts: SignatureParts) -> tuple[MatchTables, dict[str, int]]:
    compiler = yara_x.Compiler()
    counts: dict[str, int] = {}
    for n, (origin, text) in enumerate(parts.yara_sources):
        compiler.new_namespace(f"y{n}")
        try:
            compiler.add_source(text, origin=origin)
            counts["yara"] = counts.get("yara", 0) + count_rules(text)
        except yara_x.CompileError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "compile error"
            parts.unsupported.damage(origin, f"YARA rule file rejected by yara-x: {first[:80]}", origin,
                                     count_rules(text))
    compiler.new_namespace(EICAR_NAMESPACE)
    compiler.add_source(EICAR_RULE, origin="builtin:eicar")
    counts["eicar"] = 1
    compiler.new_namespace(markers.NAMESPACE)
    compiler.add_source(markers.RULES, origin="builtin:markers")
    # Logical subsignatures join the body patterns: one pass over the file matches them all.
    patterns = list(parts.patterns)
    owner: dict[int, tuple[int, int]] = {}
    for k, sig in enumerate(parts.logical):
        for j, sub in enumerate(sig.subsigs):
            owner[len(patterns)] = (k, j)
            patterns.append(sub)
    compiler.new_namespace(BODY_NAMESPACE)
    groups: dict[tuple[int, bool], list[int]] = {}
    for i, pat in enumerate(patterns):
        groups.setdefault((pat.target, pat.offset_kind == "ep"), []).append(i)
    accepted: set[int] = set()
    rejected: dict[int, str] = {}
    for (target, ep), ids in sorted(groups.items()):
        for chunk_no, start in enumerate(range(0, len(ids), PATTERNS_PER_RULE)):
            rule = f"ndb_t{target}{'_ep' if ep else ''}_{chunk_no}"
            chunk = ids[start : start + PATTERNS_PER_RULE]
            _add_group(compiler, rule, _TARGET_GUARDS[target], chunk, patterns, ep, rejected, accepted)
    for i, why in rejected.items():
        if i not in owner:
            parts.unsupported.add(f"body pattern rejected by yara-x: {why}", patterns[i].name)
    if accepted - owner.keys():
        counts["body-pattern"] = len(accepted - owner.keys())
    logical, pattern_owner = _usable_logical(parts, owner, rejected)
    if logical:
        counts["logical"] = len(logical)
    # A signature that holds with no subsignature matched (``0=0&...`` aside, ``0<2``) is evaluated on every file
    # of its type: these rules say which types a file is.
    compiler.new_namespace(LOGICAL_NAMESPACE)
    for target in sorted({t for _, t, _, expr in logical if t and holds_unmatched(expr)}):
        compiler.add_source(f"rule ldb_t{target} {{\n  condition:\n    {_TARGET_GUARDS[target]}\n}}\n")
    tables = MatchTables(
        rules=compiler.build(),
        hash_index=HashIndex(parts.hashes),
        section_index=HashIndex(parts.section_hashes),
        patterns=[(p.name, p.offset_kind, p.start, p.span) for p in patterns],
        logical=logical,
        pattern_owner=pattern_owner,
        markers=markers.VERSION,
        text_pass=text_pass(
            (patterns[i] for i in accepted), [EICAR],
            yara_rules=bool(parts.yara_sources),
            unconditional_logical=any(t == 0 and holds_unmatched(expr) for _, t, _, expr in logical),
        ),
    )
    return tables, counts


def _usable_logical(
    parts: SignatureParts, owner: dict[int, tuple[int, int]], rejected: dict[int, str]
) -> tuple[list[LogicalRule], dict[int, tuple[int, int] | None]]:
    """The logical signatures all of whose subsignatures compiled, numbered afresh; the others are counted."""
    lost = {owner[i][0]: why for i, why in rejected.items() if i in owner}
    renumber: dict[int, int] = {}
    logical: list[LogicalRule] = []
    for k, sig in enumerate(parts.logical):
        if k in lost:
            parts.unsupported.add(f"logical signature: subsignature rejected by yara-x: {lost[k]}", sig.name)
            continue
        renumber[k] = len(logical)
        logical.append((sig.name, sig.target, sig.file_size, sig.expr))
    return logical, {i: (renumber[k], j) if k in renumber else None for i, (k, j) in owner.items()}


def build_set(sources: Sequence[Source], version: str) -> SignatureSet:
    parts, notes = parse_sources(sources)
    tables, counts = compile_parts(parts)
    if parts.hashes:
        counts["hash"] = len(parts.hashes)
    if parts.section_hashes:
        counts["pe-section-hash"] = len(parts.section_hashes)
    return SignatureSet(
        version=version,
        counts=counts,
        unsupported=parts.unsupported,
        tables_or_loader=tables,
        sources=[origin for origin, _ in parts.sources],
        notes=notes,
    )
