"""Just enough PE parsing for ClamAV section-hash (``.mdb``/``.msb``) signatures: each section's raw data.

Offsets follow ClamAV's reading: the raw pointer is aligned down and the raw size up to FileAlignment (when that
is a multiple of 0x200), and a section running past the end of the file is cut at the end.
"""

from __future__ import annotations

import struct

__all__ = ["pe_sections"]


def pe_sections(head: bytes, file_size: int) -> list[tuple[int, int]]:
    """(raw offset, raw size) of each section, or [] when ``head`` (the file's first 64 KiB) is not a PE."""
    if len(head) < 64 or head[:2] != b"MZ":
        return []
    (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
    if e_lfanew + 24 > len(head) or head[e_lfanew : e_lfanew + 4] != b"PE\x00\x00":
        return []
    (nsections,) = struct.unpack_from("<H", head, e_lfanew + 6)
    (opt_size,) = struct.unpack_from("<H", head, e_lfanew + 20)
    opt = e_lfanew + 24
    falign = struct.unpack_from("<I", head, opt + 36)[0] if opt + 40 <= len(head) else 0
    if not falign or falign % 0x200:
        falign = 0
    table = opt + opt_size
    out = []
    for i in range(min(nsections, 96)):
        off = table + 40 * i
        if off + 40 > len(head):
            break
        raw_size, raw_ptr = struct.unpack_from("<II", head, off + 16)
        if falign:
            raw_ptr = raw_ptr // falign * falign
            raw_size = (raw_size + falign - 1) // falign * falign
        if raw_ptr >= file_size or not raw_size:
            continue
        out.append((raw_ptr, min(raw_size, file_size - raw_ptr)))
    return out
