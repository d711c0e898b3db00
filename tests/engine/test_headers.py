"""A magic of three bytes or fewer counts only with its format's header behind it.

One random file in 16,000 started with gzip's, .Z's or binary cpio's two bytes of magic and was "not scanned:
corrupt" for it, where ClamAV scans such a file as data. Chance is now scanned as data (every signature still
matched); a real container damaged past its header is still corrupt, never clean.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetscan.engine import load_signatures
from fleetscan.engine.exotic import exotic
from fleetscan.engine.filetypes import is_archive
from fleetscan.engine.headers import HEADER_RULES, is_swf
from tests.support.formats import cpio_binary, libarchive_of

from .conftest import TESTFILES, found, scan, skips, write

SEED = 1109
BODY = bytes(range(256)) * 64


def _rule(head: bytes) -> Callable[[bytes], bool]:
    return HEADER_RULES.get(head[:2], is_swf)


def _compress(data: bytes) -> bytes:
    return libarchive_of({"data": data}, "raw", "compress")


REAL: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    ".Z": _compress,
    "cpio, little-endian": lambda data: cpio_binary({"a.bin": data}, "<"),
    "cpio, big-endian": lambda data: cpio_binary({"a.bin": data}, ">"),
    "cpio, libarchive's": lambda data: libarchive_of({"a.bin": data}, "cpio_bin"),
    "bzip2": bz2.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
}


@pytest.mark.parametrize("kind", REAL)
def test_real_headers_pass_their_rules(kind: str) -> None:
    for data in (BODY, b"", b"x"):
        blob = REAL[kind](data)
        assert _rule(blob)(blob[:4096]) and is_archive(blob[:4096]), (kind, blob[:32].hex())


@pytest.mark.parametrize("name", ["clam.exe.bz2", "clam.bin-be.cpio", "clam.bin-le.cpio", "clam.arj", "clam.tar.gz"])
def test_clamav_testfiles_pass_their_rules(name: str) -> None:
    path = TESTFILES / name
    if not path.exists():
        pytest.skip("Debian package clamav-testfiles is not installed")
    head = path.read_bytes()[:4096]
    assert _rule(head)(head) and is_archive(head)


def _swf(body: bytes) -> dict[str, bytes]:
    """Flash files as Flash writes them: CWS, zlib after the 8-byte header; ZWS, the compressed length and the
    5-byte LZMA properties, then the LZMA data."""
    whole = struct.pack("<I", 8 + len(body))
    alone = lzma.compress(body, format=lzma.FORMAT_ALONE)  # properties (5), uncompressed size (8), data
    return {"CWS": b"CWS\x0a" + whole + zlib.compress(body),
            "ZWS": b"ZWS\x0d" + whole + struct.pack("<I", len(alone) - 13) + alone[:5] + alone[13:]}


def test_real_swf_heads_need_clamd() -> None:
    for kind, blob in _swf(BODY).items():
        assert is_swf(blob) and exotic(blob, lambda off, n, b=blob: b[off : off + n], len(blob)) == "SWF", kind
        assert not is_swf(blob[:9]), kind  # no compressed stream behind the header: nothing hidden


@pytest.mark.parametrize("magic", [*HEADER_RULES, b"CWS", b"ZWS"])
def test_chance_rarely_passes(magic: bytes) -> None:
    """Of random heads behind each magic, at most one in a thousand passes its rules (gzip's, the weakest, one in
    2,048): with the magic's own odds, at most one random file in 65 million."""
    rng = random.Random(SEED)
    heads = [magic + rng.randbytes(512 - len(magic)) for _ in range(20_000)]
    assert sum(_rule(head)(head) for head in heads) <= 20


# Heads that chance makes: each magic, then a byte or two that breaks its header's rules, then random bytes.
CHANCE = {
    "gzip-cm9": b"\x1f\x8b\x09",
    "gzip-reserved-flag": b"\x1f\x8b\x08\xe0",
    "Z-reserved-bits": b"\x1f\x9d\x70",
    "Z-maxbits-8": b"\x1f\x9d\x88",
    "Z-first-code-not-literal": b"\x1f\x9d\x90\xff\xff",
    "cpio-le": b"\xc7\x71",
    "cpio-be": b"\x71\xc7",
    "bzip2-no-block": b"BZh9",
    "lzma-dictionary": b"\x5d\x00\x00\x12\x34",
    "arj": b"\x60\xea",
    "swf-cws": b"CWS\x09",
    "swf-zws": b"ZWS\x0d",
}


def test_chance_is_scanned_as_data(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    marker = rng.randbytes(16)
    sigset = load_signatures([write(tmp_path / "s.ndb", f"Test.Planted:0:*:{marker.hex()}\n")])
    planted, plain = set(), set()
    for label, prefix in CHANCE.items():
        for i in range(3):
            body = bytearray(prefix + rng.randbytes(3000))
            assert not _rule(bytes(body))(bytes(body[:4096])), label
            plain.add(str(write(tmp_path / f"{label}-{i}.bin", bytes(body))))
            body[1500:1516] = marker
            planted.add((str(write(tmp_path / f"{label}-{i}-planted.bin", bytes(body))), "Test.Planted"))
    report = scan(sorted(plain | {path for path, _ in planted}), sigset)
    assert (report.skipped, report.files_partial) == ({}, 0)
    assert found(report) == planted
    assert report.files_clean == len(plain)


def test_chance_goes_to_no_container_path() -> None:
    rng = random.Random(SEED)
    for label, prefix in CHANCE.items():
        head = prefix + rng.randbytes(4096 - len(prefix))
        assert not is_archive(head), label
        assert exotic(head, lambda off, n, h=head: h[off : off + n], len(head)) is None, label


def _overwritten(blob: bytes) -> bytes:
    """The middle of a stream overwritten with all-ones bytes: LZW codes beyond the table, a deflate or bzip2
    block that cannot be, a cpio member cut by a header that is not one."""
    mid = len(blob) // 2
    return blob[:mid] + b"\xff" * 64 + blob[mid + 64 :]


def test_real_but_damaged_containers_are_never_clean(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    body = rng.randbytes(20_000)  # incompressible: the stream is as long as the body, so the damage lands in it
    blobs = {
        "cut.gz": gzip.compress(body)[:10_000],
        "header-then-garbage.gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rng.randbytes(3000),
        "damaged.Z": _overwritten(_compress(BODY * 4)),
        "cut-le.cpio": cpio_binary({"a.bin": body}, "<")[:10_000],
        "cut-be.cpio": cpio_binary({"a.bin": body}, ">")[:10_000],
        "cut.bz2": bz2.compress(body)[:10_000],
        "cut.lzma": lzma.compress(body, format=lzma.FORMAT_ALONE)[:10_000],
    }
    files = {str(write(tmp_path / name, blob)) for name, blob in blobs.items()}
    for name, blob in blobs.items():
        assert is_archive(blob[:4096]), name
    report = scan(sorted(files))
    assert report.files_clean == 0
    assert skips(report, "corrupt") == files
