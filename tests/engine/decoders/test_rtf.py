"""RTF objects: OLE1 packages and embedded OLE2 documents, plain and obfuscated hex, truncation."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from fleetscan.engine.decoders import Undecodable
from fleetscan.engine.decoders.rtf import decode_rtf
from fleetscan.engine.limits import ArchiveLimits, Budget
from fleetscan.engine.results import SkipReason

from .builders import cfb, ole10native
from .conftest import LayerWalk, Marker, compare_with_clamscan


def ole1(cls: str, native: bytes) -> bytes:
    def text(s: str) -> bytes:
        raw = s.encode() + b"\0" if s else b""  # an empty name is a zero length, as Word writes it
        return struct.pack("<I", len(raw)) + raw

    return struct.pack("<II", 0x0501, 2) + text(cls) + text("") + text("") + struct.pack("<I", len(native)) + native


def rtf(obj: bytes, cls: str = "Package", obfuscate: bool = False) -> bytes:
    digits = obj.hex()
    if obfuscate:  # what exploit kits do: whitespace, control words and empty groups among the digits
        digits = "\n".join(digits[i : i + 60] + ("{\\*\\fleetjunk}" if i % 120 else "\\par ")
                           for i in range(0, len(digits), 60))
    body = f"{{\\object\\objemb{{\\*\\objclass {cls}}}\\objw100\\objh100{{\\*\\objdata {digits}}}}}"
    return b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Hello\\par " + body.encode() + b"}\n"


def test_packages_and_ole2_objects_match_at_least_as_clamscan(
    tmp_path: Path, marker: Marker, walk: LayerWalk
) -> None:
    package = ole1("Package", ole10native("invoice.exe", marker.payload))
    word = ole1("Word.Document.8", cfb({"WordDocument": b"\xec\xa5" + bytes(100), "Data": marker.payload}))
    corpus = {
        "package.rtf": rtf(package),
        "obfuscated.rtf": rtf(package, obfuscate=True),
        "word.rtf": rtf(word, "Word.Document.8"),
        "no-f.rtf": rtf(package).replace(b"{\\rtf1", b"{\\rt", 1),
    }
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    for name, walked in walks.items():
        assert Marker.HASH in walked.found and not walked.problems, (name, walked.layers, walked.problems)
    assert walks["package.rtf"].where(Marker.HASH) == {"invoice.exe"}
    assert walks["word.rtf"].where(Marker.HASH) == {"object 1 (Word.Document.8)!Data"}
    assert Marker.HASH in walks["package.rtf"].clamscan


def test_clam_exe_rtf(clam_dir: Path) -> None:
    data = (clam_dir / "clam.exe.rtf").read_bytes()
    layers = list(decode_rtf(data, "clam.exe.rtf", Budget(ArchiveLimits(), len(data))))
    assert [x.data for x in layers] == [(clam_dir / "clam.exe").read_bytes()]


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_object_is_corrupt_after_what_decodes(marker: Marker, cut: float) -> None:
    doc = rtf(ole1("Package", ole10native("invoice.exe", marker.payload)))
    got = []
    with pytest.raises(Undecodable) as err:
        for layer in decode_rtf(doc[: int(len(doc) * cut)], "x.rtf", Budget(ArchiveLimits(), 1 << 20)):
            got.append(layer)
    assert err.value.reason == SkipReason.CORRUPT
    assert got and got[0].name == "invoice.exe" and marker.payload.startswith(got[0].data)
