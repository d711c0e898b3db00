"""ClamAV's text normalisation: UTF-16 and upper-case text match lower-case patterns, as in clamscan."""

from __future__ import annotations

import secrets
from pathlib import Path

from fleetscan.engine.decoders import claiming
from fleetscan.engine.decoders.text import DECODER, FOLD_DECODER, NORMALISED, is_text, normalise

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
    assert normalise(b"A  b\n\n\tC", collapse=False) == b"a  b   c"


def test_a_spaced_pattern_matches_only_the_collapsed_copy(tmp_path: Path) -> None:
    """A lower-case pattern with a space (`TextPass.FULL`) is found in upper-case text whose words stand apart by
    runs of tabs, line breaks and spaces, and in UTF-16, as clamscan finds it."""
    token = secrets.token_hex(6).encode()
    phrase = b"fleetscan spaced marker " + token
    sig_dir = tmp_path / "sigs"
    sig_dir.mkdir()
    (sig_dir / "s.ndb").write_text(f"Spaced.Body:0:*:{phrase.hex()}\n")
    walk = LayerWalk(sig_dir)
    assert walk.matcher.text_decoder is DECODER
    corpus = {
        "runs.txt": b"line one\nFLEETSCAN \t SPACED\r\n\r\n   MARKER\t" + token.upper() + b"\n",
        "utf16.ps1": ("\ufeffFleetscan  Spaced\r\nMarker " + token.decode().upper()).encode("utf-16-le"),
    }
    for name, walked in compare_with_clamscan(walk, sig_dir, corpus, tmp_path).items():
        assert walked.where("Spaced.Body") == {NORMALISED}, name
        assert walked.clamscan == {"Spaced.Body"}, name


def test_no_normalised_copy_when_no_signature_can_match_one(tmp_path: Path) -> None:
    """Binary patterns, hashes and EICAR never match normalised text (`TextPass.SKIP`): the copy is not made, and
    what such a signature finds in text is still found in the text itself."""
    pattern = b"\x90\x90FLEET\xcc" + secrets.token_bytes(8)
    sig_dir = tmp_path / "sigs"
    sig_dir.mkdir()
    (sig_dir / "b.ndb").write_text(f"Binary.Body:0:*:{pattern.hex()}\n")
    walk = LayerWalk(sig_dir)
    assert walk.matcher.text_decoder is None
    upper = b"#!/bin/sh\nECHO HELLO WORLD\n"
    assert walk.scan(upper, "upper.sh").layers == [""]
    assert walk.scan(upper + pattern + b"\n", "planted.sh").where("Binary.Body") == {""}


def test_without_a_spaced_pattern_runs_are_left_as_they_are(tmp_path: Path, marker: Marker) -> None:
    """The marker has no space (`TextPass.FOLD`): the copy is folded, not collapsed, and still found."""
    walk = LayerWalk(marker.sig_dir)
    assert walk.matcher.text_decoder is FOLD_DECODER
    walked = walk.scan(b"Some  TEXT\t\t" + marker.text.upper() + b"\r\n\r\nmore", "x.txt")
    assert walked.where(Marker.BODY) == {NORMALISED}
