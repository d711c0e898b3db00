"""Damaged input of every content format: a decoder yields layers or raises `Undecodable` (or a budget limit),
never anything else, so one hostile file cannot take a worker's walk down with it."""

from __future__ import annotations

import base64
import random
import struct
import zlib

import pytest

from fleetscan.engine.decoders import Undecodable, claiming
from fleetscan.engine.limits import ArchiveLimitExceeded, ArchiveLimits, Budget

from .builders import cfb, ole10native, vba_project
from .test_mail import _attached, binhex, tnef, uuencode
from .test_pdf import embedded, pdf, stream
from .test_rtf import ole1, rtf

MUTATIONS = 60
PAYLOAD = b"MZ\x90\x00" + bytes(range(256)) * 3


def _samples() -> dict[str, bytes]:
    source = 'Attribute VB_Name = "Module1"\r\nSub AutoOpen()\r\n' + "  x = 1\r\n" * 30 + "End Sub\r\n"
    package = ole10native("a.exe", PAYLOAD)
    inner = zlib.compress(cfb({"\x01Ole10Native": struct.pack("<I", len(package)) + package}))
    record = struct.pack("<HHI", 0x0010, 0x1011, len(inner) + 4) + struct.pack("<I", 4096) + inner
    return {
        "mail": _attached(PAYLOAD) + b"\n" + uuencode(PAYLOAD, "b.exe"),
        "hqx": binhex(PAYLOAD, "mac.exe"),
        "tnef": tnef(PAYLOAD, "r.exe"),
        "pdf": pdf(stream(PAYLOAD, "FlateDecode"), stream(PAYLOAD, "ASCII85Decode", "LZWDecode", "RunLengthDecode")),
        "pdf-embedded": embedded(PAYLOAD),
        "ole2": cfb({**{f"Macros/{k}": v for k, v in vba_project({"Module1": source}).items()},
                     "PowerPoint Document": struct.pack("<HHI", 0x000F, 0x03E8, len(record)) + record}),
        "rtf": rtf(ole1("Package", package)),
        "html": b'<a href="data:application/octet-stream;base64,' + base64.b64encode(PAYLOAD) + b'">x</a>',
        "utf16": "Write-Host HELLO\r\n".encode("utf-16-le") * 20,
    }


def _mutations(data: bytes, rng: random.Random) -> list[bytes]:
    out = [data[:n] for n in sorted(rng.sample(range(len(data)), min(40, len(data))))]  # truncations
    for _ in range(MUTATIONS):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(buf))
            buf[at : at + rng.randint(1, 4)] = rng.randbytes(rng.randint(0, 4))
        out.append(bytes(buf))
    return out


@pytest.mark.parametrize("kind", list(_samples()))
def test_damage_is_undecodable_never_a_crash(kind: str) -> None:
    data = _samples()[kind]
    rng = random.Random(kind)
    assert claiming(data[:4096], "sample"), kind
    for sample in _mutations(data, rng):
        for decoder in claiming(sample[:4096], "sample"):
            try:
                decode = getattr(decoder.decode, "__wrapped__", decoder.decode)  # unguarded: a bug must show here
                for layer in decode(sample, "sample", Budget(ArchiveLimits(), archive_size=len(sample))):
                    assert isinstance(layer.data, bytes) and layer.name
            except (Undecodable, ArchiveLimitExceeded):
                pass
