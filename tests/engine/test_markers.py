"""Markers: the strings the data: URI and uuencode/BinHex decoders cannot do without, found in the pattern pass, so
that a text without one is not searched again in Python; and what a hash-only sweep, which makes no pattern pass,
leaves to every decoder or leaves out."""

from __future__ import annotations

import base64
import binascii
import pickle
from pathlib import Path

import pytest

from fleetscan.engine import load_signatures, markers
from fleetscan.engine.decoders import claiming
from fleetscan.engine.decoders.binhex import BANNER
from fleetscan.engine.signatures.compile import build_set
from fleetscan.engine.signatures.sources import read_sources
from fleetscan.engine.workers import Matcher, WorkerConfig

from .conftest import found, scan, write


@pytest.mark.parametrize(("text", "seen"), [
    (b"plain words, a colon: and nothing else\n", set()),
    (b'<img src="data:image/png;base64,AAAA">', {markers.DATA_URI}),
    (b"url(DaTa:font/woff2;base64,AAAA)", {markers.DATA_URI}),
    (b"text\nbegin 644 tool.exe\nM...\n", {markers.ENCODED_TEXT}),
    (b"text\nbegin-base64 644 tool.exe\nTVqQ\n====\n", {markers.ENCODED_TEXT}),
    (b"x\n" + BANNER + b" 4.0)\n:!!!!\n", {markers.ENCODED_TEXT}),
    (b"data: begin 600 x\n", {markers.DATA_URI, markers.ENCODED_TEXT}),
])
def test_the_pattern_pass_names_the_markers_it_saw(text: bytes, seen: set[str]) -> None:
    matcher = Matcher(WorkerConfig.from_sigset(load_signatures([])))
    out: list = []
    assert matcher.scan_bytes(text, None, out) == seen
    assert out == []  # a marker is no detection
    asked = {d.name for d in matcher.wanted(claiming(text, "x.txt"), matcher.scan_bytes(text, None, []))}
    assert ("html" in asked) == (markers.DATA_URI in seen)
    assert ("encoded-text" in asked) == (markers.ENCODED_TEXT in seen)


def test_without_a_pattern_pass_every_decoder_is_asked() -> None:
    matcher = Matcher(WorkerConfig.from_sigset(load_signatures([]), pattern_pass=False))
    assert matcher.scan_bytes(b"plain words\n", None, []) is None
    assert {"html", "encoded-text"} <= {d.name for d in matcher.wanted(claiming(b"plain words\n", "x"), None)}


def test_files_with_markers_are_still_decoded_end_to_end(tmp_path: Path) -> None:
    payload = b"planted-" + bytes(range(40, 90))
    db = write(tmp_path / "db" / "p.ndb", f"P.Body:0:*:{payload.hex()}\n")
    html = write(tmp_path / "t" / "page.html", b"<a href='data:application/octet-stream;base64,"
                 + base64.b64encode(b"\x00\x01" + payload) + b"'>x</a>")
    uu = write(tmp_path / "t" / "notes.txt", b"see below\n\nbegin 644 tool.bin\n" + _uuencode(b"\x00\x01" + payload)
               + b"end\n")
    report = scan([tmp_path / "t"], load_signatures([db]))
    assert found(report) == {(f"{html}!data URI 1", "P.Body"), (f"{uu}!tool.bin", "P.Body")}


def _uuencode(data: bytes) -> bytes:
    return b"".join(binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)) + b"`\n"


def test_a_set_compiled_with_other_markers_is_rebuilt(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\n")
    load_signatures([db], cache_dir=tmp_path / "cache")
    (tables,) = (tmp_path / "cache").glob("set-*.tables")
    fields = pickle.loads(tables.read_bytes())
    fields["markers"] = "an older fleetscan"
    tables.write_bytes(pickle.dumps(fields))
    again = load_signatures([db], cache_dir=tmp_path / "cache")
    assert again.tables.markers == markers.VERSION
    assert WorkerConfig.from_sigset(again).markers
    assert build_set(read_sources([db]), "v").tables.markers == markers.VERSION


def test_a_hash_only_sweep_makes_no_normalised_copy(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", f"N.Text:0:*:{b'two words'.hex()}\n")
    assert Matcher(WorkerConfig.from_sigset(load_signatures([db]))).text_decoder is not None
    assert Matcher(WorkerConfig.from_sigset(load_signatures([db]), pattern_pass=False)).text_decoder is None
