"""OLE2: streams reassembled from their sectors, VBA source decompressed, packages and PowerPoint objects opened."""

from __future__ import annotations

import secrets
import struct
import zlib
from pathlib import Path

import pytest

from fleetscan.engine.decoders import Undecodable
from fleetscan.engine.decoders.ole2 import decode_ole2, decompress_vba
from fleetscan.engine.limits import ArchiveLimits, Budget
from fleetscan.engine.results import SkipReason

from .builders import cfb, ole10native, ovba_compress, vba_project
from .conftest import LayerWalk, Marker, compare_with_clamscan


def _budget() -> Budget:
    return Budget(ArchiveLimits(), archive_size=1 << 20)


def _split_across_sectors(marker: Marker) -> bytes:
    """A 9 KiB stream whose marker straddles a sector boundary, written with its sectors in reverse order, so
    the marker is not contiguous in the file."""
    head = secrets.token_bytes(SECTOR_SPLIT := 4096 + 512 - len(marker.text) // 2)
    data = head + marker.text + secrets.token_bytes(9216 - SECTOR_SPLIT - len(marker.text))
    doc = bytearray(cfb({"WordDocument": data, "1Table": b"\0" * 100}))
    # The big stream starts at sector 0 (file offset 512): reverse its 18 sectors and relink its FAT chain.
    count = 18
    first = 512
    sectors = [doc[first + i * 512 : first + (i + 1) * 512] for i in range(count)]
    for i, s in enumerate(reversed(sectors)):
        doc[first + i * 512 : first + (i + 1) * 512] = s
    fat_sector = struct.unpack_from("<I", doc, 76)[0]
    fat_at = 512 + fat_sector * 512
    for logical in range(count):
        physical = count - 1 - logical
        nxt = count - 1 - (logical + 1) if logical + 1 < count else 0xFFFFFFFE
        struct.pack_into("<I", doc, fat_at + physical * 4, nxt)
    # the directory entry's start sector: the physical home of logical sector 0
    dir_at = 512 + struct.unpack_from("<I", doc, 48)[0] * 512
    for entry in range(4):
        at = dir_at + entry * 128
        if doc[at : at + 24] == "WordDocument".encode("utf-16-le"):
            struct.pack_into("<I", doc, at + 116, count - 1)
    assert marker.text not in doc
    return bytes(doc)


def test_streams_vba_packages_and_ppt_objects_match_at_least_as_clamscan(
    tmp_path: Path, marker: Marker, walk: LayerWalk
) -> None:
    source = 'Attribute VB_Name = "Module1"\r\nSub AutoOpen()\r\n' + "  x = 1\r\n" * 50
    source += f'  Shell "{marker.text.decode()}"\r\nEnd Sub\r\n'
    macros = cfb({"WordDocument": b"\xec\xa5" + bytes(600), **{f"Macros/{k}": v for k, v in
                                                               vba_project({"Module1": source}).items()}})
    package = ole10native("invoice.exe", marker.payload)
    with_package = cfb({"WordDocument": b"\xec\xa5" + bytes(600),
                        "ObjectPool/_1/\x01Ole10Native": struct.pack("<I", len(package)) + package})
    big_stream = cfb({"Workbook": secrets.token_bytes(5000) + marker.payload + secrets.token_bytes(3000)})
    hashed = cfb({"Contents": marker.payload})  # a hash signature on one whole stream
    inner = zlib.compress(with_package)
    record = struct.pack("<HHI", 0x0010, 0x1011, len(inner) + 4) + struct.pack("<I", len(with_package)) + inner
    ppt = cfb({"PowerPoint Document": struct.pack("<HHI", 0x000F, 0x03E8, len(record)) + record,
               "Current User": b"\0" * 20})
    corpus = {
        "macros.doc": macros,
        "package.doc": with_package,
        "book.xls": big_stream,
        "hashed.doc": hashed,
        "split.doc": _split_across_sectors(marker),
        "slides.ppt": ppt,
    }
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    for name, walked in walks.items():
        assert Marker.BODY in walked.found and not walked.problems, (name, walked.layers, walked.problems)
    assert "Macros/VBA/Module1 (VBA source)" in walks["macros.doc"].where(Marker.BODY)
    assert walks["package.doc"].where(Marker.HASH) == {"ObjectPool/_1/Ole10Native/invoice.exe"}
    assert walks["hashed.doc"].where(Marker.HASH) == {"Contents"}
    assert walks["split.doc"].where(Marker.BODY) == {"WordDocument"}
    assert walks["slides.ppt"].where(Marker.HASH) == {
        "PowerPoint Document/object 1!ObjectPool/_1/Ole10Native/invoice.exe"}


def test_msi_stream_names_are_decoded(marker: Marker) -> None:
    def encode(name: str, table: bool = False) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._"
        codes = [alphabet.index(c) for c in name]
        pairs = [chr(0x3800 + a + (b << 6)) for a, b in zip(codes[0::2], codes[1::2], strict=False)]
        tail = [chr(0x4800 + codes[-1])] if len(codes) % 2 else []
        return ("\u4840" if table else "") + "".join(pairs + tail)

    msi = cfb({encode("Binary.payload"): marker.payload, encode("File", table=True): bytes(8)})
    assert [x.name for x in decode_ole2(msi, "x.msi", _budget())] == ["Binary.payload", "table File"]


def test_vba_decompression_round_trips() -> None:
    text = (b"Attribute VB_Name = \"M\"\r\n" + b"Dim a As String\r\n" * 400 + secrets.token_hex(3000).encode())
    assert decompress_vba(ovba_compress(text), 1 << 20) == text
    with pytest.raises(ValueError):
        decompress_vba(b"\x02garbage", 1 << 20)


def _problem(data: bytes) -> tuple[list[str], Undecodable]:
    got: list[str] = []
    with pytest.raises(Undecodable) as err:
        for layer in decode_ole2(data, "x.doc", _budget()):
            got.append(layer.name)
    return got, err.value


def test_damaged_truncated_and_encrypted(marker: Marker) -> None:
    doc = cfb({"WordDocument": b"\xec\xa5" + bytes(600), "Data": secrets.token_bytes(20000)})
    got, err = _problem(doc[:6000])  # the big stream's sectors past the end
    assert err.reason == SkipReason.CORRUPT
    got, err = _problem(doc[:300])
    assert err.reason == SkipReason.CORRUPT and got == []
    source = 'Attribute VB_Name = "Module1"\r\n' + "x = 1\r\n" * 40
    streams = vba_project({"Module1": source})
    streams["VBA/Module1"] = streams["VBA/Module1"][:40]  # cut inside the compressed source
    got, err = _problem(cfb({f"Macros/{k}": v for k, v in streams.items()}))
    assert err.reason == SkipReason.CORRUPT and "Module1" in err.detail
    assert "Macros/VBA/Module1 (VBA source)" in got  # what decompressed before the cut is still matched
    encrypted = cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(100), "EncryptedPackage": secrets.token_bytes(5000)})
    got, err = _problem(encrypted)
    assert err.reason == SkipReason.ENCRYPTED and "EncryptedPackage" in got
    word = bytearray(b"\xec\xa5" + bytes(600))
    word[11] |= 1
    got, err = _problem(cfb({"WordDocument": bytes(word)}))
    assert err.reason == SkipReason.ENCRYPTED
    bof = struct.pack("<HH", 0x0809, 16) + bytes(16)
    filepass = struct.pack("<HH", 0x002F, 6) + bytes(6)
    got, err = _problem(cfb({"Workbook": bof + filepass + secrets.token_bytes(5000)}))
    assert err.reason == SkipReason.ENCRYPTED and got == ["Workbook"]
    assert list(decode_ole2(cfb({"Workbook": bof + struct.pack("<HH", 0x000A, 0) + bytes(5000)}), "b.xls", _budget()))
