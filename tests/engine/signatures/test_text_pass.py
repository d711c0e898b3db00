"""Which signatures can match ClamAV's normalised text: decided on the patterns, once per compiled set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleetscan.engine import load_signatures
from fleetscan.engine.signatures.compile import _TARGET_GUARDS
from fleetscan.engine.signatures.eicar import EICAR
from fleetscan.engine.signatures.ldb import parse_ldb_line
from fleetscan.engine.signatures.model import BodyPattern
from fleetscan.engine.signatures.ndb import parse_ndb_line
from fleetscan.engine.signatures.text_pass import NORMAL_BYTES, TextPass, matches_normalised, text_pass

from ..conftest import sigs, write


def ndb(hexsig: str, target: int = 0, offset: str = "*") -> BodyPattern:
    return parse_ndb_line(f"N:{target}:{offset}:{hexsig}")


def sub(text: bytes, modifiers: str) -> BodyPattern:
    return parse_ldb_line(f"L;Target:0;0;{text.hex()}::{modifiers}").subsigs[0]


@pytest.mark.parametrize(("pattern", "expected"), [
    (ndb("4d5a90000300"), (False, False)),  # binary: upper case and NUL
    (ndb(b"fleetscan-marker".hex()), (True, False)),  # lower-case text without a space
    (ndb(b"iex (new-object".hex()), (True, True)),  # a space: whitespace runs must be collapsed
    (ndb(b"Invoke-Expression".hex()), (False, False)),  # upper case never survives folding
    (ndb(b"powershell\tx".hex()), (False, False)),  # a tab is a space in the copy
    (ndb(b"caf\xc3\xa9".hex()), (False, False)),  # bytes from 0x80 up are dropped
    (ndb("6162??6364"), (True, True)),  # a wildcard may stand on a space
    (ndb("61624?6364"), (True, False)),  # 0x40-0x4f: '@' is normal, no space among them
    (ndb("6162c?6364"), (False, False)),
    (ndb("6162!(20)6364"), (True, False)),  # anything but a space
    (ndb("(41|61)62"), (True, False)),  # one alternative is enough
    (ndb("(41|42)62"), (False, False)),
    (ndb("(20|41)62"), (True, True)),
    (ndb("(41|(42|63))64"), (True, False)),
    (ndb("61{2-4}62"), (True, True)),  # a jump covers spaces, and collapsing them changes its length
    (ndb("41{2-4}62"), (False, False)),
    (ndb("61*62"), (True, True)),
    (ndb(b"abc".hex(), offset="0"), (True, True)),  # an offset collapsing would move
    (ndb(b"abc".hex(), offset="EOF-10"), (True, True)),
    (ndb(b"abc".hex(), target=1), (False, False)),  # every other target is guarded on magic bytes
    (sub(b"Invoke-Expression", "i"), (True, False)),  # nocase: the lower-case form can match
    (sub(b"iex x", "i"), (True, True)),
    (sub(b"iex", "w"), (False, False)),  # wide: a NUL every other byte
    (sub(b"iex", "wa"), (True, False)),  # wide and ascii: the ascii form can
    (sub(b"iex", "f"), (True, False)),
    (BodyPattern("N", "{ 61 62 ~ }"), (True, True)),  # a form this does not read is taken to match
    (BodyPattern("N", "/abc/"), (True, True)),
])
def test_which_patterns_can_match_normalised_text(pattern: BodyPattern, expected: tuple[bool, bool]) -> None:
    assert matches_normalised(pattern) == expected


def test_the_pass_a_set_needs() -> None:
    binary, lower, spaced = ndb("4d5a90000300"), ndb(b"fleetscan-marker".hex()), ndb(b"iex (new".hex())
    assert text_pass([]) == TextPass.SKIP
    assert text_pass([binary, binary], [EICAR]) == TextPass.SKIP  # EICAR is upper case
    assert text_pass([binary, lower]) == TextPass.FOLD
    assert text_pass([lower, spaced, binary]) == TextPass.FULL
    assert text_pass([binary], [b"lower"]) == TextPass.FOLD and text_pass([], [b"two words"]) == TextPass.FULL
    assert text_pass([binary], yara_rules=True) == TextPass.FULL  # a YARA condition is not read here
    assert text_pass([binary], unconditional_logical=True) == TextPass.FULL


def test_every_target_guard_asks_for_a_byte_normalised_text_has_not() -> None:
    """`matches_normalised` calls every target but 0 impossible: each comparison in each guard (a disjunction of
    conjunctions of comparisons) must ask for a byte that normalised text never holds."""
    for target, guard in _TARGET_GUARDS.items():
        if target == 0:
            continue
        comparisons = re.findall(r"uint(8|16|32)(be)?\((\d+)\) == 0x([0-9A-Fa-f]+)", guard)
        assert len(comparisons) == guard.count("=="), guard
        for bits, be, _, value in comparisons:
            raw = int(value, 16).to_bytes(int(bits) // 8, "big" if be or bits == "8" else "little")
            assert not set(raw) <= NORMAL_BYTES, (target, guard, raw)


def test_compiled_sets_carry_their_pass(tmp_path: Path) -> None:
    assert sigs(tmp_path / "a", "x.ndb", ["N.Bin:0:*:4d5a90000300c0ffee"]).tables.text_pass == TextPass.SKIP
    assert sigs(tmp_path / "b", "x.ndb", ["N.Bin:1:*:6162636465"]).tables.text_pass == TextPass.SKIP
    assert sigs(tmp_path / "c", "x.ldb", [f"L;Target:0;0&1;{b'part-one'.hex()};c0ffee"]).tables.text_pass \
        == TextPass.FOLD
    assert sigs(tmp_path / "d", "x.ndb", [f"N.Text:0:*:{b'two words'.hex()}"]).tables.text_pass == TextPass.FULL
    yar = write(tmp_path / "e" / "x.yar", 'rule r { strings: $a = { 4D 5A } condition: $a }\n')
    assert load_signatures([yar]).tables.text_pass == TextPass.FULL
