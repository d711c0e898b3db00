"""Translation of ClamAV body signatures (``.ndb``) to YARA hex strings with offset and target constraints.

ClamAV's hex syntax is close to YARA's: ``??``/nibble wildcards, ``*``, ``{n-m}`` jumps and ``(aa|bb)`` alternatives
map one to one. What has no YARA equivalent (multi-byte negation, ``(B)``/``(L)`` anchors, section-relative offsets,
targets that ClamAV matches only after normalising HTML, mail or text) raises :class:`Untranslatable` with the
reason, which the loader counts instead of dropping.
"""

from __future__ import annotations

import re

from .model import BodyPattern

__all__ = [
    "Malformed",
    "Untranslatable",
    "parse_ndb_line",
    "parse_offset",
    "check_target",
    "check_engine_levels",
    "CLAMAV_LEVEL",
    "clamav_hex_to_yara",
    "SUPPORTED_TARGETS",
]

#: ClamAV target types this engine can express; 3 (HTML), 4 (mail) and 7 (ASCII) need ClamAV's normaliser.
SUPPORTED_TARGETS = {0, 1, 2, 5, 6, 9, 10, 11, 12}
NORMALISED_TARGETS = {3: "HTML", 4: "mail", 7: "normalised ASCII"}

_BYTE = re.compile(r"[0-9a-fA-F?]{2}")
_JUMP = re.compile(r"^(\d*)(-?)(\d*)$")


class Untranslatable(ValueError):
    """A signature uses a ClamAV feature with no faithful YARA translation; ``str()`` is the reason."""


class Malformed(Untranslatable):
    """Not a signature at all: ClamAV itself refuses the database (a garbage line, a broken pattern or offset)."""


def _jump(body: str) -> str:
    m = _JUMP.match(body)
    if not m or (not m.group(1) and not m.group(3)):
        raise Malformed("malformed jump")
    lo, dash, hi = m.groups()
    if not dash:
        return f"[{lo}]"
    return f"[{lo or 0}-{hi}]"


def _split_alternatives(body: str) -> list[str]:
    alts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "|" and depth == 0:
            alts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    alts.append("".join(cur))
    return alts


def _tokens(sig: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(sig)
    while i < n:
        ch = sig[i]
        if ch == "*":
            out.append("[-]")
            i += 1
        elif ch in "{[":
            close = "}" if ch == "{" else "]"
            j = sig.find(close, i)
            if j < 0:
                raise Malformed("unterminated jump")
            out.append(_jump(sig[i + 1 : j]))
            i = j + 1
        elif ch == "!" and sig.startswith("!(", i) or ch == "(":
            negated = ch == "!"
            start = i + (2 if negated else 1)
            depth, j = 1, start
            while j < n and depth:
                depth += {"(": 1, ")": -1}.get(sig[j], 0)
                j += 1
            if depth:
                raise Malformed("unbalanced parentheses")
            body = sig[start : j - 1]
            if body in ("B", "L", "W"):
                raise Untranslatable("word/line boundary anchor")
            alts = _split_alternatives(body)
            if negated:
                if len(alts) == 1 and _BYTE.fullmatch(alts[0]) and "?" not in alts[0]:
                    out.append(f"~{alts[0].upper()}")
                else:
                    raise Untranslatable("negated alternative of more than one byte")
            else:
                out.append("( " + " | ".join(" ".join(_tokens(a)) for a in alts) + " )")
            i = j
        elif _BYTE.match(sig, i):
            out.append(sig[i : i + 2].upper())
            i += 2
        else:
            raise Malformed(f"unexpected character {ch!r}")
    return out


def clamav_hex_to_yara(sig: str) -> str:
    tokens = _tokens(sig.strip())
    if not tokens:
        raise Malformed("empty pattern")
    if tokens[0].startswith("[") or tokens[-1].startswith("["):
        raise Untranslatable("jump at pattern edge")
    if not any(not t.startswith("[") and t != "??" for t in tokens):
        raise Untranslatable("pattern of wildcards only")
    return " ".join(tokens)


#: The functionality level of the ClamAV whose signature semantics this engine follows (1.4). Signatures limited to
#: other levels are skipped, as that ClamAV skips them: a database often carries one form for old engines and
#: another for new ones, and loading both would report twice or wrongly.
CLAMAV_LEVEL = 216


def check_engine_levels(spec: str) -> None:
    """``min-max`` (either side may be empty) must include :data:`CLAMAV_LEVEL`."""
    lo, sep, hi = spec.partition("-")
    if not sep:
        hi = lo
    if not (lo or hi) or not all(v.isdigit() for v in (lo, hi) if v):
        raise Malformed("malformed engine level range")
    if (lo and int(lo) > CLAMAV_LEVEL) or (hi and int(hi) < CLAMAV_LEVEL):
        raise Untranslatable(f"made for other ClamAV engine levels (this engine follows level {CLAMAV_LEVEL})")


def check_target(target: int) -> int:
    """The target type, if this engine can tell such files apart without ClamAV's normalisers."""
    if target in NORMALISED_TARGETS:
        raise Untranslatable(f"target {target} ({NORMALISED_TARGETS[target]}) needs ClamAV normalisation")
    if target not in SUPPORTED_TARGETS:
        raise Untranslatable(f"target type {target}")
    return target


def parse_offset(spec: str, target: int) -> tuple[str, int, int]:
    """ClamAV's offset syntax as (kind, start, span): ``*``, ``n[,span]``, ``EOF-n[,span]``, ``EP+n[,span]``."""
    spec = spec.strip()
    if spec == "*":
        return "any", 0, 0
    base, _, span_s = spec.partition(",")
    span = int(span_s) if span_s else 0
    if span_s and not span_s.isdigit():
        raise Malformed("malformed offset")
    if base.isdigit():
        return "abs", int(base), span
    if base.startswith("EOF-") and base[4:].isdigit():
        return "eof", int(base[4:]), span
    m = re.fullmatch(r"EP([+-])(\d+)", base)
    if m:
        if target not in (1, 6):
            raise Untranslatable("entry-point offset outside PE/ELF")
        n = int(m.group(2))
        return "ep", n if m.group(1) == "+" else -n, span
    if re.fullmatch(r"S(\d+|L|E\d+)[+-]?\d*", base):
        raise Untranslatable("section-relative offset")
    if base.startswith("VI"):
        raise Untranslatable("version-information offset")
    raise Malformed("malformed offset")


def parse_ndb_line(line: str) -> BodyPattern:
    fields = line.split(":")
    if len(fields) < 4:
        raise Malformed("malformed .ndb line")
    name, target_s, offset_s, hexsig = fields[0], fields[1], fields[2], fields[3]
    if not target_s.isdigit():
        raise Malformed("malformed target type")
    target = check_target(int(target_s))
    if len(fields) > 4 and (fields[4] or (len(fields) > 5 and fields[5])):  # MinFL[:MaxFL]
        check_engine_levels(f"{fields[4]}-{fields[5] if len(fields) > 5 else ''}")
    kind, start, span = parse_offset(offset_s, target)
    return BodyPattern(
        name=name, string=f"{{ {clamav_hex_to_yara(hexsig)} }}", target=target, offset_kind=kind, start=start,
        span=span,
    )
