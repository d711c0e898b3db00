"""BinHex 4.0 (``.hqx``), as old Mac mail carries attachments; the stdlib's ``binhex`` module was removed in 3.11.

Decoding is three steps: the 64-character alphabet mapped onto base64's and decoded by ``binascii`` (so the bulk
runs in C), the run-length escape ``0x90`` expanded, then the header (name, type, creator, flags, the two fork
lengths) and the forks read, each with its CRC-16 (``binascii.crc_hqx``).
"""

from __future__ import annotations

import binascii
import re
import struct

from ..results import SkipReason
from . import Undecodable

__all__ = ["BANNER", "decode_binhex"]

BANNER = b"(This file must be converted with BinHex"
_ALPHABET = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_BASE64 = bytes.maketrans(_ALPHABET, _BASE64)
_NOT_ALPHABET = re.compile(rb"[^" + re.escape(_ALPHABET) + rb"]")
_RLE = 0x90


def _unrle(data: bytes, limit: int) -> bytes:
    if _RLE not in data:
        return data
    out = bytearray()
    pos = 0
    while pos < len(data):
        at = data.find(_RLE, pos)
        if at < 0 or at + 1 >= len(data):
            out += data[pos:] if at < 0 else data[pos:at]
            break
        out += data[pos:at]
        count = data[at + 1]
        if count == 0:
            out.append(_RLE)
        elif out:
            out += out[-1:] * (count - 1)
        pos = at + 2
        if len(out) > limit:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"BinHex run-length expansion over {limit} bytes")
    return bytes(out)


def decode_binhex(text: bytes, limit: int) -> tuple[str, list[tuple[str, bytes]], str | None] | None:
    """The forks of the first BinHex file in ``text``, as (name, [(layer name, bytes)], problem or None): what could
    be read is returned even when the rest is damaged, with the problem said. None when the banner is not followed,
    on a line of its own, by the ``:`` that starts the data (a text that only quotes the banner)."""
    start = text.find(BANNER)
    if start < 0:
        return None
    line_end = text.find(b"\n", start)
    data = text[line_end + 1 :].lstrip() if line_end >= 0 else b""
    if not data.startswith(b":"):
        return None
    colon = len(text) - len(data)
    end = text.find(b":", colon + 1)
    body = text[colon + 1 : end if end >= 0 else len(text)]
    body = _NOT_ALPHABET.sub(b"", body)
    problem = None if end >= 0 else "BinHex data not terminated (truncated)"
    b64 = body.translate(_TO_BASE64)
    b64 = b64[: len(b64) - len(b64) % 4 if len(b64) % 4 == 1 else len(b64)]
    raw = _unrle(binascii.a2b_base64(b64 + b"=" * (-len(b64) % 4)), limit)
    if not raw or len(raw) < 1 + raw[0] + 21:
        raise Undecodable(SkipReason.CORRUPT, "BinHex header truncated")
    n = raw[0]
    name = raw[1 : 1 + n].decode("mac_roman", "replace")
    head_end = 1 + n + 1 + 4 + 4 + 2 + 8
    data_len, rsrc_len = struct.unpack_from(">II", raw, head_end - 8)
    (head_crc,) = struct.unpack_from(">H", raw, head_end)
    if binascii.crc_hqx(raw[:head_end], 0) != head_crc:
        problem = problem or "BinHex header CRC mismatch"
    forks: list[tuple[str, bytes]] = []
    pos = head_end + 2
    for label, size in ((name or "data fork", data_len), (f"{name} (resource fork)", rsrc_len)):
        fork = raw[pos : pos + size]
        crc = raw[pos + size : pos + size + 2]
        if fork:
            forks.append((label, fork))
        if len(fork) < size or len(crc) < 2:
            return name, forks, problem or f"BinHex {label} truncated ({len(fork)} of {size} bytes)"
        if binascii.crc_hqx(fork, 0) != struct.unpack(">H", crc)[0]:
            problem = problem or f"BinHex {label} CRC mismatch"
        pos += size + 2
    return name, forks, problem
