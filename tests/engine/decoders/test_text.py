"""ClamAV's text normalisation: UTF-16 and upper-case text match lower-case patterns, as in clamscan."""

from __future__ import annotations

from pathlib import Path

from fleetscan.engine.decoders import claiming
from fleetscan.engine.decoders.text import NORMALISED, is_text, normalise

from .conftest import LayerWalk, Marker, compare_with_clamscan


def test_normalise_is_textnorm_c() -> None:
    # upper case folded, whitespace runs one space, control and high bytes dropped (and do not end a space run)
    assert normalise(b"Hello\t\r\n  WORLD\x00\x01 \xff!\x7f") == b"hello world !\x7f"
    assert normalise("I\u00e9X".encode("utf-16-le")) == b"ix"


def test_text_is_claimed_binary_is_not() -> None:
    assert is_text(b"#!/bin/sh\necho hi\n")
    assert is_text("\ufeffWrite-Host".encode("utf-16-le")) and is_text("Write-Host hello".encode("utf-16-be"))
    assert is_text("Windows Registry Editor Version 5.00\r\n".encode("utf-16-le"))
    assert not is_text(b"\x7fELF\x02\x01\x01\x00" + bytes(100))
    assert not is_text(b"\x7fELF" + bytes(4092)) and not is_text(bytes(4096))  # mostly NUL is not UTF-16
    assert not is_text(b"MZ\x90\x00\x03\x00\x00\x00")
    assert not is_text(b"")
    assert [d.name for d in claiming(b"\x00\x01\x02binary", "x.bin")] == []
    assert "text" not in [d.name for d in claiming(b"already normal", NORMALISED)]


def test_utf16_and_upper_case_scripts_match_as_in_clamscan(tmp_path: Path, marker: Marker, walk: LayerWalk) -> None:
    shout = marker.text.upper().decode()
    corpus = {
        "script.ps1": ("\ufeff$x = 'hello'\r\nWrite-Host " + shout + "\r\n").encode("utf-16-le"),
        "no-bom-be.ps1": ("Invoke-Expression '" + shout + "'\n").encode("utf-16-be"),
        "no-bom-le.reg": ("Windows Registry Editor Version 5.00\r\n\r\n\"" + shout + "\"=\"1\"\r\n")
        .encode("utf-16-le"),
        "upper.sh": b"#!/bin/sh\nECHO " + marker.text.upper() + b"\n",
        "spaced.bat": b"@echo off\r\n" + marker.text.upper() + b"\r\n",
    }
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    for name, walked in walks.items():
        assert walked.where(Marker.BODY) == {NORMALISED}, name
        assert walked.clamscan == {Marker.BODY}, name
        assert not walked.problems


def test_binary_with_upper_case_marker_is_not_normalised(tmp_path: Path, marker: Marker, walk: LayerWalk) -> None:
    corpus = {"blob.bin": b"\x7fELF\x02\x01\x01\x00" + bytes(64) + marker.text.upper() + bytes(64)}
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    assert walks["blob.bin"].layers == [""] and not walks["blob.bin"].found


def test_is_text_answers_each_head_however_they_alternate() -> None:
    """The last answer is kept for the very object it was for: equal bytes or another head are asked again."""
    text, binary = b"plain words\n" * 10, b"\x7fELF" + bytes(100)
    for head in (text, text, binary, text, bytes(bytearray(binary)), binary, b"", text, b"", binary):
        assert is_text(head) == (head == text)


def test_space_runs_collapse_with_or_without_one() -> None:
    assert normalise(b"A  b\n\n\tC") == b"a b c"
    assert normalise(b"a b\nc") == b"a b c"  # no run of two: the regex pass is skipped, same result
    assert normalise(b"  ") == b" " and normalise(b" ") == b" " and normalise(b"") == b""
