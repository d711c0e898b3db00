"""The one text and number rule: pure logic, so plain unit tests."""

from __future__ import annotations

import json

import pytest

from fleetscan.core.errors import InvalidParameter
from fleetscan.core.validation import (
    INT64_MAX,
    INT64_MIN,
    check_int,
    check_text,
    check_tree,
    load_json,
    parse_int,
    text_problem,
)


@pytest.mark.parametrize("value", ["/x\udfff", "a\x00b", "tab\there", "del\x7f", "\ud800"])
def test_names_refuse_surrogates_nul_and_controls(value: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        check_text("scan_dir", value, max_len=100)
    assert caught.value.parameter == "scan_dir"


def test_free_text_keeps_line_breaks_but_not_nul_or_surrogates() -> None:
    assert check_text("memo", "line one\nline two\ttab", max_len=100, free=True) == "line one\nline two\ttab"
    assert text_problem("a\x00", free=True) is not None
    assert text_problem("a\udc80", free=True) is not None
    assert text_problem("a\x1b[31m", free=True) is not None


def test_length_is_bounded_in_characters() -> None:
    assert check_text("name", "é" * 4, max_len=4) == "éééé"
    with pytest.raises(InvalidParameter):
        check_text("name", "", max_len=4, min_len=1)
    with pytest.raises(InvalidParameter):
        check_text("name", "abcde", max_len=4)


@pytest.mark.parametrize("text", ["²", "١٢", "1e3", "0x10", " 1", "1 ", "+1", "", "9" * 21])
def test_integers_are_ascii_decimal_only(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_int("begin_time", text)


def test_integers_are_bounded_by_int64_by_default() -> None:
    assert parse_int("n", str(INT64_MAX)) == INT64_MAX
    assert parse_int("n", str(INT64_MIN)) == INT64_MIN
    for beyond in (INT64_MAX + 1, INT64_MIN - 1, 10**25):
        with pytest.raises(InvalidParameter):
            check_int("n", beyond)
    with pytest.raises(InvalidParameter):
        check_int("n", True)


def test_json_depth_is_capped_without_exhausting_the_stack() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidParameter, match="nested"):
        load_json("body", deep)
    assert load_json("body", "[" * 32 + "]" * 32) is not None
    with pytest.raises(InvalidParameter, match="nested"):
        load_json("body", "[" * 33 + "]" * 33)


@pytest.mark.parametrize(
    "raw",
    [
        '{"k": "\\udfff"}',
        '{"\\u0000": 1}',
        '{"n": 99999999999999999999999}',
        '{"n": NaN}',
        '{"n": Infinity}',
        '{"n": 1e400}',
        '{"n": -1e400}',
        b'{"k": "\xff"}',
        "{",
    ],
)
def test_json_trees_hold_to_the_rule(raw: str | bytes) -> None:
    with pytest.raises(InvalidParameter):
        load_json("body", raw)


def test_a_clean_tree_comes_back_as_parsed() -> None:
    tree = {"a": [1, -2, {"b": "text\nwith a break"}], "c": None, "d": 1.5, "e": True}
    assert load_json("body", json.dumps(tree)) == tree
    assert check_tree("body", tree) is tree
