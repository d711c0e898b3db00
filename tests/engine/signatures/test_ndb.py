from __future__ import annotations

import pytest

from fleetscan.engine.signatures import Untranslatable, clamav_hex_to_yara, parse_ndb_line


@pytest.mark.parametrize(
    ("clamav", "yara"),
    [
        ("4142", "41 42"),
        ("41??42", "41 ?? 42"),
        ("4a?b", "4A ?B"),
        ("41*42", "41 [-] 42"),
        ("41{3}42", "41 [3] 42"),
        ("41{-3}42", "41 [0-3] 42"),
        ("41{3-}42", "41 [3-] 42"),
        ("41{2-5}42", "41 [2-5] 42"),
        ("41[2-5]42", "41 [2-5] 42"),
        ("41(42|4344)45", "41 ( 42 | 43 44 ) 45"),
        ("41!(42)43", "41 ~42 43"),
    ],
)
def test_translation(clamav: str, yara: str) -> None:
    assert clamav_hex_to_yara(clamav) == yara


@pytest.mark.parametrize(
    ("clamav", "reason"),
    [
        ("41(B)42", "word/line boundary anchor"),
        ("41!(4243|44)45", "negated alternative of more than one byte"),
        ("*4142", "jump at pattern edge"),
        ("41zz", "unexpected character 'z'"),
        ("????", "pattern of wildcards only"),
    ],
)
def test_untranslatable(clamav: str, reason: str) -> None:
    with pytest.raises(Untranslatable, match=reason.replace("(", r"\(")):
        clamav_hex_to_yara(clamav)


def test_offsets() -> None:
    p = parse_ndb_line("N:1:EP-4,8:4142")
    assert (p.target, p.offset_kind, p.start, p.span) == (1, "ep", -4, 8)
    p = parse_ndb_line("N:0:EOF-10:4142:51:255")
    assert (p.offset_kind, p.start, p.span) == ("eof", 10, 0)
    with pytest.raises(Untranslatable, match="entry-point offset outside PE/ELF"):
        parse_ndb_line("N:0:EP+1:4142")
    with pytest.raises(Untranslatable, match="target 7"):
        parse_ndb_line("N:7:*:4142")
