"""ClamAV logical signatures (``.ldb``): subsignatures matched with every other pattern, expressions evaluated after.

A logical signature is ``Name;TargetDescription;Expression;Subsig0;Subsig1;...``: body patterns (the ``.ndb`` hex
syntax, with an optional offset and ``::i/w/a/f`` modifiers) combined by an expression of ``&``, ``|``, parentheses
and match counts (``0>2``, ``(0|1)=3,2``). As ClamAV does, the subsignatures join the one pattern pass (packed into
few yara-x rules with the ``.ndb`` patterns, so thousands of signatures cost about what their patterns cost), and an
expression is evaluated only for a signature some subsignature of which matched, or that holds with none.

What has no faithful form raises :class:`~.ndb.Untranslatable` with the reason, which the loader counts: PCRE,
byte-compare, macro and image-fuzzy subsignatures, target conditions other than ``Target``, ``Engine`` and
``FileSize``, and counts on patterns that also carry an offset. Signatures made for other ClamAV engine levels
(``Engine:51-99``) are skipped, as that ClamAV skips them, and counted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from .model import BodyPattern, Expr, LogicalSig
from .ndb import Malformed, Untranslatable, check_engine_levels, check_target, clamav_hex_to_yara, parse_offset

__all__ = ["parse_ldb_line", "evaluate", "holds_unmatched", "matches_needed"]

_COUNT = re.compile(r"([=<>])(\d+)(?:,(\d+))?")
_INDEX = re.compile(r"\d+")
_MODIFIERS = {"i": "nocase", "w": "wide", "a": "ascii", "f": "fullword"}


def _target(block: str) -> tuple[int, tuple[int, int] | None]:
    target, size = None, None
    for item in filter(None, (p.strip() for p in block.split(","))):
        key, _, value = item.partition(":")
        if key == "Engine":
            check_engine_levels(value)
        elif key == "Target" and value.isdigit():
            target = int(value)
        elif key == "FileSize" and re.fullmatch(r"\d+-\d+", value):
            lo, hi = (int(v) for v in value.split("-"))
            size = (lo, hi)
        else:
            raise Untranslatable(f"target condition {key}")
    if target is None:
        raise Malformed("no Target in the target description")  # ClamAV refuses such a database
    return check_target(target), size


def _string(hexsig: str, modifiers: str) -> str:
    """The YARA string for one subsignature: a hex string, or a text string when modifiers ask for one."""
    if not modifiers:
        return f"{{ {clamav_hex_to_yara(hexsig)} }}"
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", hexsig):
        raise Untranslatable("modifiers on a pattern with wildcards")
    try:
        words = [_MODIFIERS[m] for m in dict.fromkeys(modifiers)]  # ClamAV accepts "ii", yara-x does not
    except KeyError as exc:
        raise Untranslatable(f"subsignature modifier {exc.args[0]!r}") from None
    text = "".join(f"\\x{hexsig[i:i + 2]}" for i in range(0, len(hexsig), 2))
    return f'"{text}" ' + " ".join(words)


def _subsig(name: str, spec: str, target: int) -> BodyPattern:
    if spec.startswith("$") or "#" in spec or "/" in spec:
        kind = "macro" if spec.startswith("$") else "byte-compare or fuzzy-image" if "#" in spec else "PCRE"
        raise Untranslatable(f"{kind} subsignature")
    body, _, modifiers = spec.partition("::")
    offset_spec, sep, hexsig = body.rpartition(":")
    kind, start, span = parse_offset(offset_spec, target) if sep else ("any", 0, 0)
    return BodyPattern(name, _string(hexsig, modifiers), target, kind, start, span)


class _Expression:
    """A recursive-descent reader of ClamAV's logical expression into :data:`~.model.Expr` tuples."""

    def __init__(self, text: str, subsigs: list[BodyPattern]) -> None:
        self.text = text.replace(" ", "")
        self.pos = 0
        self.subsigs = subsigs
        self.used: set[int] = set()

    def parse(self) -> Expr:
        out = self._sequence()
        if self.pos != len(self.text):
            raise Malformed(f"unexpected {self.text[self.pos]!r} in the logical expression")
        return out

    def _sequence(self) -> Expr:
        """``a OP rest``: ClamAV splits at the first operator and reads the rest as one operand, so ``0&1|2`` is
        ``0&(1|2)``."""
        left = self._operand()
        if self.pos < len(self.text) and self.text[self.pos] in "&|":
            op = "and" if self.text[self.pos] == "&" else "or"
            self.pos += 1
            return (op, (left, self._sequence()))
        return left

    def _operand(self) -> Expr:
        before = set(self.used)
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            inner = self._sequence()
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise Malformed("unbalanced parentheses in the logical expression")
            self.pos += 1
        else:
            m = _INDEX.match(self.text, self.pos)
            if not m:
                raise Malformed("malformed logical expression")
            self.pos = m.end()
            index = int(m.group())
            if index >= len(self.subsigs):
                raise Malformed(f"the expression names subsignature {index}, which is not given")
            self.used.add(index)
            inner = ("sub", index)
        count = self._count()
        if count is None:
            return inner
        indexes = tuple(sorted(self.used - before))
        if any(self.subsigs[i].offset_kind != "any" for i in indexes):
            raise Untranslatable("a match count on a subsignature with an offset")
        op, n, distinct = count
        return ("count", indexes, op, n, distinct if len(indexes) > 1 else None, inner)

    def _count(self) -> tuple[str, int, int | None] | None:
        m = _COUNT.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None


def evaluate(expr: Expr, matched: Collection[int], counts: Mapping[int, int]) -> bool:
    """Whether the expression holds, given the subsignatures that matched (where their offsets allow) and how often
    each matched. A count is over a group's subsignatures together, and zero when the group itself does not hold
    (``(0&1)>1`` needs both); ``,Y`` also asks that Y of them matched."""
    kind = expr[0]
    if kind == "sub":
        return expr[1] in matched
    if kind == "and":
        return all(evaluate(e, matched, counts) for e in expr[1])
    if kind == "or":
        return any(evaluate(e, matched, counts) for e in expr[1])
    _, indexes, op, n, distinct, inner = expr
    total = sum(counts.get(i, 0) for i in indexes) if evaluate(inner, matched, counts) else 0
    holds = total == n if op == "=" else total > n if op == ">" else total < n
    return holds and (distinct is None or sum(1 for i in indexes if counts.get(i, 0)) >= distinct)


def matches_needed(expr: Expr) -> int:
    """How many matches of one pattern evaluating the expression may need: one more than its largest count."""
    if expr[0] == "count":
        return max(int(expr[3]) + 1, matches_needed(expr[5]))
    if expr[0] in ("and", "or"):
        return max((matches_needed(e) for e in expr[1]), default=0)
    return 0


def holds_unmatched(expr: Expr) -> bool:
    """Whether the expression holds when nothing matched (``0<2``, ``0=0``): such a signature must be evaluated on
    every file of its type, not only on files where a subsignature matched."""
    return evaluate(expr, (), {})


def parse_ldb_line(line: str) -> LogicalSig:
    fields = line.split(";")
    if len(fields) < 4:
        raise Malformed("malformed .ldb line")
    name, block, expression, specs = fields[0], fields[1], fields[2], fields[3:]
    target, size = _target(block)
    subsigs = [_subsig(f"{name}/{i}", spec.strip(), target) for i, spec in enumerate(specs)]
    reader = _Expression(expression, subsigs)
    expr = reader.parse()
    if reader.used != set(range(len(specs))):
        raise Untranslatable("a subsignature the expression does not use")
    return LogicalSig(name=name, target=target, file_size=size, subsigs=subsigs, expr=expr)
