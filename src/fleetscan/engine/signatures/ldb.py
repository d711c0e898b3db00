"""Translation of ClamAV logical signatures (``.ldb``) to YARA rules.

A logical signature is ``Name;TargetDescription;Expression;Subsig0;Subsig1;...``: body patterns (the ``.ndb`` hex
syntax, with an optional offset and ``::i/w/a/f`` modifiers) combined by an expression of ``&``, ``|``, parentheses
and match counts (``0>2``, ``(0|1)=3,2``). Each one becomes a YARA rule whose strings are the subsignatures and whose
condition is the expression, so yara-x evaluates it in the same pass as everything else.

What has no faithful YARA form raises :class:`~.ndb.Untranslatable` with the reason, which the loader counts:
PCRE, byte-compare, macro and image-fuzzy subsignatures, target conditions other than ``Target``, ``Engine`` and
``FileSize``, counts on patterns that also carry an offset, and ``&`` mixed with ``|`` without parentheses (ClamAV's
own reading of those is not documented).
"""

from __future__ import annotations

import re

from .model import LogicalSig
from .ndb import Untranslatable, check_target, clamav_hex_to_yara, parse_offset

__all__ = ["parse_ldb_line"]

_COUNT = re.compile(r"([=<>])(\d+)(?:,(\d+))?")
_INDEX = re.compile(r"\d+")
_MODIFIERS = {"i": "nocase", "w": "wide", "a": "ascii", "f": "fullword"}


def _target(block: str) -> tuple[int, tuple[int, int] | None]:
    target, size = 0, None
    for item in filter(None, (p.strip() for p in block.split(","))):
        key, _, value = item.partition(":")
        if key == "Engine":  # the ClamAV engine levels that may load it: not a condition on the file
            continue
        if key == "Target" and value.isdigit():
            target = int(value)
        elif key == "FileSize" and re.fullmatch(r"\d+-\d+", value):
            lo, hi = (int(v) for v in value.split("-"))
            size = (lo, hi)
        else:
            raise Untranslatable(f"target condition {key}")
    return check_target(target), size


def _string(hexsig: str, modifiers: str) -> str:
    """The YARA string for one subsignature: a hex string, or a text string when modifiers ask for one."""
    if not modifiers:
        return f"{{ {clamav_hex_to_yara(hexsig)} }}"
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", hexsig):
        raise Untranslatable("modifiers on a pattern with wildcards")
    try:
        words = [_MODIFIERS[m] for m in modifiers]
    except KeyError as exc:
        raise Untranslatable(f"subsignature modifier {exc.args[0]!r}") from None
    text = "".join(f"\\x{hexsig[i:i + 2]}" for i in range(0, len(hexsig), 2))
    return f'"{text}" ' + " ".join(words)


def _subsig(index: int, spec: str, target: int) -> tuple[str, str | None, set[str]]:
    """(YARA string, the where-condition its offset imposes or None, modules it needs)."""
    if spec.startswith("$") or "#" in spec or "/" in spec:
        kind = "macro" if spec.startswith("$") else "byte-compare or fuzzy-image" if "#" in spec else "PCRE"
        raise Untranslatable(f"{kind} subsignature")
    body, _, modifiers = spec.partition("::")
    offset_spec, sep, hexsig = body.rpartition(":")
    if not sep:
        return _string(body, modifiers), None, set()
    kind, start, span = parse_offset(offset_spec, target)
    name = f"$s{index}"
    if kind == "any":
        return _string(hexsig, modifiers), None, set()
    modules: set[str] = set()
    if kind == "abs":
        base = str(start)
    elif kind == "eof":
        base = f"filesize - {start}"
    else:
        module = "pe" if target == 1 else "elf"
        base, modules = f"{module}.entry_point + ({start})", {module}
    where = f"{name} at {base}" if span == 0 else f"{name} in ({base} .. {base} + {span})"
    return _string(hexsig, modifiers), where, modules


class _Expression:
    """A recursive-descent reader of ClamAV's logical expression, writing the YARA condition as it goes."""

    def __init__(self, text: str, atoms: list[str], anchored: set[int]) -> None:
        self.text = text.replace(" ", "")
        self.pos = 0
        self.atoms = atoms  # the condition for "subsig i matched" (with its offset, if any)
        self.anchored = anchored  # subsigs with an offset: their matches cannot be counted in YARA
        self.used: set[int] = set()

    def parse(self) -> str:
        out = self._sequence()
        if self.pos != len(self.text):
            raise Untranslatable(f"unexpected {self.text[self.pos]!r} in the logical expression")
        return out

    def _sequence(self) -> str:
        parts = [self._operand()]
        ops: set[str] = set()
        while self.pos < len(self.text) and self.text[self.pos] in "&|":
            ops.add(self.text[self.pos])
            self.pos += 1
            parts.append(self._operand())
        if len(ops) > 1:
            raise Untranslatable("& and | mixed without parentheses")
        joiner = " and " if ops == {"&"} else " or "
        return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"

    def _operand(self) -> str:
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            start = self.pos
            inner = self._sequence()
            group = self.text[start : self.pos]
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise Untranslatable("unbalanced parentheses in the logical expression")
            self.pos += 1
            count = self._count()
            if count is None:
                return inner
            if not re.fullmatch(r"\d+(?:\|\d+)*", group):
                raise Untranslatable("a match count on a group other than an | of subsignatures")
            return self._counted([int(i) for i in group.split("|")], *count)
        m = _INDEX.match(self.text, self.pos)
        if not m:
            raise Untranslatable("malformed logical expression")
        self.pos = m.end()
        index = int(m.group())
        if index >= len(self.atoms):
            raise Untranslatable(f"the expression names subsignature {index}, which is not given")
        self.used.add(index)
        count = self._count()
        if count is None:
            return self.atoms[index]
        if count[2] is not None:
            raise Untranslatable("a distinct-subsignature count on a single subsignature")
        return self._counted([index], *count)

    def _count(self) -> tuple[str, int, int | None] | None:
        m = _COUNT.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None

    def _counted(self, indexes: list[int], op: str, n: int, distinct: int | None) -> str:
        if any(i in self.anchored for i in indexes):
            raise Untranslatable("a match count on a subsignature with an offset")
        if any(i >= len(self.atoms) for i in indexes):
            raise Untranslatable("the expression names a subsignature that is not given")
        self.used.update(indexes)
        total = " + ".join(f"#s{i}" for i in indexes)
        cond = f"{total} {'==' if op == '=' else op} {n}"
        if distinct is not None:
            cond += f" and {distinct} of ({', '.join(f'$s{i}' for i in indexes)})"
        return f"({cond})"


def parse_ldb_line(line: str) -> LogicalSig:
    fields = line.split(";")
    if len(fields) < 4:
        raise Untranslatable("malformed .ldb line")
    name, block, expression, specs = fields[0], fields[1], fields[2], fields[3:]
    target, size = _target(block)
    strings: list[str] = []
    atoms: list[str] = []
    anchored: set[int] = set()
    modules: set[str] = set()
    for i, spec in enumerate(specs):
        string, where, needs = _subsig(i, spec.strip(), target)
        strings.append(string)
        atoms.append(where if where is not None else f"$s{i}")
        if where is not None:
            anchored.add(i)
        modules |= needs
    reader = _Expression(expression, atoms, anchored)
    condition = reader.parse()
    if reader.used != set(range(len(specs))):
        raise Untranslatable("a subsignature the expression does not use")
    return LogicalSig(name=name, target=target, file_size=size, strings=strings, condition=condition,
                      modules=tuple(sorted(modules)))
