"""Whether a short magic at a file's start opens that format's header, or is chance.

A file whose first bytes are a container's magic goes to that container's reader, and what the reader cannot open
is "not scanned: corrupt" (or "needs clamd"), never clean. Two bytes of magic are met by one random file in 65,536,
three by one in 16.7 million: on a fleet's worth of data files, that is a steady trickle of files reported not
scanned for nothing, where ClamAV scans them as data. So a magic of three bytes or fewer counts only with the
header behind it, checked by its own format's rules as far as the head holds it: a file too short for the whole
header is judged on what it has, and a real container damaged past its header is still that container (and still
never called clean). What fails the rules is scanned as plain data: every signature is still matched against its
bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

__all__ = ["HEADER_RULES", "is_arj", "is_bzip2", "is_compress", "is_cpio_binary", "is_gzip", "is_lzma_alone",
           "is_swf"]


def is_gzip(head: bytes) -> bool:
    """RFC 1952 2.3: CM 8 (deflate, the only method defined) and the reserved FLG bits 5-7 zero."""
    return head[:2] == b"\x1f\x8b" and head[2:3] in (b"", b"\x08") and (len(head) < 4 or not head[3] & 0xE0)


#: LZW codes of a .Z stream checked after its header: 24 nine-bit codes, 27 bytes.
_LZW_CODES = 24
_CLEAR = 256


def is_compress(head: bytes) -> bool:
    """A .Z (compress) header, as ncompress and libarchive read it: the third byte's reserved bits 5-6 zero and
    maxbits 9..16; then the first LZW codes (nine bits each, least significant first) name only entries the table
    already holds: the first a literal, each later one at most the entry being made (the "KwKwK" case), and none
    CLEAR (256 in block mode), which a compressor writes only once its table is full, hundreds of codes in. The
    header alone is met by one random file in a million; each code halves that."""
    if head[:2] != b"\x1f\x9d":
        return False
    if len(head) < 3:
        return True
    flags = head[2]
    if flags & 0x60 or not 9 <= flags & 0x1F <= 16:
        return False
    block_mode = bool(flags & 0x80)
    body = head[3 : 3 + _LZW_CODES * 9 // 8]
    bits = int.from_bytes(body, "little")
    free = 257 if block_mode else 256
    for i in range(len(body) * 8 // 9):
        code = (bits >> (9 * i)) & 0x1FF
        if code > (255 if i == 0 else free) or (block_mode and code == _CLEAR):
            return False
        if i:
            free += 1  # each code after the first makes an entry
    return True


_CPIO_TYPES = frozenset({0o01, 0o02, 0o04, 0o06, 0o10, 0o12, 0o14})  # mode >> 12: fifo, chr, dir, blk, reg, lnk, sock
_CPIO_TRAILER = b"TRAILER!!!\x00"


def is_cpio_binary(head: bytes) -> bool:
    """An old binary cpio header (070707 in either byte order): 26 bytes, a file type in the mode (or the trailer's
    mode 0), and a name of at least one character that ends with its only NUL inside the head, where its size says."""
    if head[:2] == b"\xc7\x71":
        order = "<"
    elif head[:2] == b"\x71\xc7":
        order = ">"
    else:
        return False
    if len(head) < 26:
        return False
    (mode,) = struct.unpack_from(order + "H", head, 6)
    (namesize,) = struct.unpack_from(order + "H", head, 20)
    name = head[26 : 26 + namesize]
    if not 2 <= namesize == len(name) or name.find(b"\x00") != namesize - 1:
        return False
    return mode >> 12 in _CPIO_TYPES or (mode == 0 and name == _CPIO_TRAILER)


_BZ2_BLOCK = b"\x31\x41\x59\x26\x53\x59"  # pi: a compressed block
_BZ2_END = b"\x17\x72\x45\x38\x50\x90"  # sqrt(pi): the end of an empty stream


def is_bzip2(head: bytes) -> bool:
    """``BZh``, a block size '1'..'9' (hundreds of KiB), then a block's magic or the end of stream's."""
    if not head.startswith(b"BZh"):
        return False
    level, first = head[3:4], head[4:10]
    return (not level or b"1" <= level <= b"9") and (_BZ2_BLOCK.startswith(first) or _BZ2_END.startswith(first))


#: The largest LZMA properties byte: (pb 4 * 5 + lp 4) * 9 + lc 8.
_LZMA_PROPS_MAX = (4 * 5 + 4) * 9 + 8


def _lzma_dict_size(size: int) -> bool:
    """A dictionary size as encoders write it and xz's .lzma reader insists on: 2^n or 2^n + 2^(n-1), at least
    4 KiB, or unset (all ones)."""
    if size == 0xFFFFFFFF:
        return True
    shift = size.bit_length() - 2
    return size >= 4096 and size >> shift << shift == size


def is_lzma_alone(head: bytes) -> bool:
    """An .lzma (LZMA alone) header with the usual properties byte 5d (lc 3, lp 0, pb 2), whose "magic" is that
    byte and the dictionary size's two low bytes: the dictionary size as `_lzma_dict_size` wants it, and the
    uncompressed size unknown (all ones) or below 256 GiB (xz's limit)."""
    if not head.startswith(b"\x5d\x00\x00"):
        return False
    if len(head) >= 5 and not _lzma_dict_size(int.from_bytes(head[1:5], "little")):
        return False
    if len(head) >= 13:
        size = int.from_bytes(head[5:13], "little")
        return size == (1 << 64) - 1 or size < 1 << 38
    return True


def is_swf(head: bytes) -> bool:
    """A compressed Flash file: ``CWS`` or ``ZWS``, a version below 64, the uncompressed length, then a zlib header
    (CWS: deflate, a window up to 32 KiB, no preset dictionary, the check bits) or, after the compressed length,
    LZMA properties (ZWS: lc/lp/pb in range, a dictionary size as `_lzma_dict_size` wants it). Only clamd opens
    SWF, so this decides "needs clamd": a file too short to hold the compressed stream's header hides nothing."""
    if head[:3] == b"CWS" and len(head) >= 10 and 0 < head[3] < 64:
        cmf, flg = head[8], head[9]
        return cmf & 0x0F == 8 and cmf >> 4 <= 7 and not flg & 0x20 and (cmf << 8 | flg) % 31 == 0
    if head[:3] == b"ZWS" and len(head) >= 17 and 0 < head[3] < 64:
        return head[12] <= _LZMA_PROPS_MAX and _lzma_dict_size(int.from_bytes(head[13:17], "little"))
    return False


ARJ_MAGIC = b"\x60\xea"
_ARJ_HEADER_MAX = 2600
_ARJ_FIRST_HEADER = 30
_ARJ_MAIN = 2  # the main header's "file type"


def is_arj(head: bytes) -> bool:
    """An ARJ archive's main header: magic, a size up to 2,600, a first header of at least 30 bytes within it, the
    main header's file type (2; 7-Zip, which opens ARJ here, insists on it) and, when the head holds it, the
    header's CRC-32 (as ClamAV's unarj checks them)."""
    if not head.startswith(ARJ_MAGIC) or len(head) <= 10:
        return False
    size = int.from_bytes(head[2:4], "little")
    if not _ARJ_FIRST_HEADER <= head[4] <= size <= _ARJ_HEADER_MAX or head[10] != _ARJ_MAIN:
        return False
    if len(head) < 4 + size + 4:
        return True  # too short a head to check the CRC: the fields alone
    return zlib.crc32(head[4 : 4 + size]) == int.from_bytes(head[4 + size : 8 + size], "little")


HEADER_RULES: dict[bytes, Callable[[bytes], bool]] = {
    b"\x1f\x8b": is_gzip,
    b"\x1f\x9d": is_compress,
    b"\x71\xc7": is_cpio_binary,
    b"\xc7\x71": is_cpio_binary,
    b"BZ": is_bzip2,
    b"\x5d\x00": is_lzma_alone,
    ARJ_MAGIC: is_arj,
}
"""The archives and compressed streams whose magic is three bytes or fewer, by their first two bytes: each is one
only when its rule says so."""
