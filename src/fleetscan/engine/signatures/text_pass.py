"""Which signatures can match ClamAV's normalised text, decided once per compiled set.

ClamAV matches a text file twice: as it is, and as ``text_normalize_buffer`` rewrites it (`decoders.text`), with its
generic patterns (target 0) and its "normalised ASCII" ones (target 7, which this engine does not load), never
with hash signatures (libclamav/scanners.c, ``cli_scanscript``). That copy holds only bytes 0x20-0x7f but A-Z, and
never two spaces in a row. So a pattern with an upper-case letter, a NUL, a control byte or a byte from 0x80 up at
a place where nothing else may stand can never match it, and a set of only such patterns (20,000 hashes and 500
binary patterns, say) need not pay for the copy at all: `TextPass.SKIP`.

When the patterns that can match it can none of them match a space (a literal without one, no wildcard or jump,
any offset), collapsing whitespace runs changes nothing they see: every match lies within a run of non-space bytes,
and those are the same in the copy with runs collapsed and without. The whitespace regex, the costliest step of the
normalisation, is then left out: `TextPass.FOLD`. Otherwise `TextPass.FULL` does all ClamAV does.

Every other target type is guarded on magic bytes (`compile`'s ``_TARGET_GUARDS``: ``MZ``, ``%PDF``, ``\\x7fELF``,
...) that hold an upper-case letter or a byte from 0x80 up, so their patterns never match the copy either. YARA
rules are arbitrary conditions, and a logical signature that holds with no subsignature matched is evaluated on the
copy too: either makes the pass `FULL`. The analysis errs one way only: a pattern it cannot read may match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import IntEnum

from .model import BodyPattern

__all__ = ["TextPass", "NORMAL_BYTES", "matches_normalised", "text_pass"]

#: The bytes ClamAV's normalised text is made of.
NORMAL_BYTES = frozenset(b for b in range(0x20, 0x80) if not 0x41 <= b <= 0x5A)
_ANY = frozenset(range(256))
_SPACE = 0x20


class TextPass(IntEnum):
    """What the normalised-text pass of a signature set must do."""

    SKIP = 0
    """No signature can match normalised text: the copy is not made."""
    FOLD = 1
    """Fold case and drop bytes, but leave whitespace runs as they are: no signature that can match sees a space."""
    FULL = 2
    """ClamAV's whole normalisation."""


# A hex string as `ndb.clamav_hex_to_yara` writes it: bytes, nibble wildcards, ~negations, [jumps], ( alternatives ).
_HEX_TOKEN = re.compile(r"\s*(?:(~?)([0-9A-Fa-f?]{2})|(\[[0-9-]*\])|([(|)]))")
_TEXT = re.compile(r'"((?:\\x[0-9A-Fa-f]{2})*)"((?:\s+(?:nocase|wide|ascii|fullword))*)\s*')


def _byte_set(negated: str, pair: str) -> frozenset[int]:
    hi, lo = pair[0], pair[1]
    values = frozenset(
        (h << 4) | low
        for h in (range(16) if hi == "?" else (int(hi, 16),))
        for low in (range(16) if lo == "?" else (int(lo, 16),))
    )
    return _ANY - values if negated else values


class _Unreadable(ValueError):
    pass


class _HexString:
    """A recursive-descent reader of a hex string's body (as `ldb._Expression` reads an expression): whether it can
    match normalised text, and whether it can match a space there."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.pos = 0

    def read(self) -> tuple[bool, bool]:
        result = self._sequence()
        if self.pos < len(self.body):
            raise _Unreadable(self.body)
        return result

    def _sequence(self) -> tuple[bool, bool]:
        """Tokens up to the end, a ``|`` or a ``)``: all must match; any may hold a space."""
        ok, space = True, False
        while True:
            m = _HEX_TOKEN.match(self.body, self.pos)
            if m is None:
                if self.body[self.pos :].strip():
                    raise _Unreadable(self.body)
                self.pos = len(self.body)
                break
            negated, pair, jump, punct = m.groups()
            if punct in ("|", ")"):
                break
            self.pos = m.end()
            if pair is not None:
                usable = _byte_set(negated, pair) & NORMAL_BYTES
                ok &= bool(usable)
                space |= _SPACE in usable
            elif jump is not None:
                space = True  # any bytes, spaces too, and a distance collapsing would change
            else:
                can, alt_space = self._alternatives()
                ok &= can
                space |= alt_space
        return ok, ok and space

    def _alternatives(self) -> tuple[bool, bool]:
        """After a ``(``: one of the alternatives must match; a space counts in those that can."""
        alts = []
        while True:
            alts.append(self._sequence())
            m = _HEX_TOKEN.match(self.body, self.pos)
            if m is None or m.group(4) not in ("|", ")"):
                raise _Unreadable(self.body)
            self.pos = m.end()
            if m.group(4) == ")":
                break
        live = [space for can, space in alts if can]
        return bool(live), any(live)


def _text(content: str, modifiers: str) -> tuple[bool, bool]:
    data = bytes(int(content[i + 2 : i + 4], 16) for i in range(0, len(content), 4))
    words = modifiers.split()
    if "wide" in words and "ascii" not in words:
        return False, False  # every other byte a NUL
    if "nocase" in words:
        data = data.lower()
    ok = set(data) <= NORMAL_BYTES
    return ok, ok and _SPACE in data


def matches_normalised(pattern: BodyPattern) -> tuple[bool, bool]:
    """Whether the pattern can match ClamAV's normalised text, and whether it can match a space there (or has an
    offset, which collapsing whitespace would move). A string this cannot read is taken to match both."""
    if pattern.target != 0:
        return False, False
    text = pattern.string.strip()
    try:
        if text.startswith("{") and text.endswith("}"):
            ok, space = _HexString(text[1:-1]).read()
        else:
            m = _TEXT.fullmatch(text)
            if m is None:
                return True, True
            ok, space = _text(m.group(1), m.group(2))
    except _Unreadable:
        return True, True
    return ok, ok and (space or pattern.offset_kind != "any")


def text_pass(patterns: Iterable[BodyPattern], literals: Sequence[bytes] = (), *, yara_rules: bool = False,
              unconditional_logical: bool = False) -> TextPass:
    """The pass a set needs: its body patterns and logical subsignatures, built-in ``literals`` (EICAR), whether it
    holds YARA rules, and whether a logical signature of target 0 holds with no subsignature matched."""
    if yara_rules or unconditional_logical:
        return TextPass.FULL
    needed = TextPass.SKIP
    for lit in literals:
        if set(lit) <= NORMAL_BYTES:
            needed = max(needed, TextPass.FULL if _SPACE in lit else TextPass.FOLD)
    for pattern in patterns:
        ok, space = matches_normalised(pattern)
        if space:
            return TextPass.FULL
        if ok:
            needed = TextPass.FOLD
    return needed
