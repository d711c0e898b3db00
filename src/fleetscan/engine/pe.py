"""Just enough PE parsing for ClamAV section-hash (``.mdb``/``.msb``) signatures: each section's raw data."""

from __future__ import annotations

import struct

__all__ = ["pe_sections"]


def pe_sections(data: bytes) -> list[tuple[int, int]]:
    """(raw offset, raw size) of each section, or [] when ``data`` (the file's first 64 KiB) is not a PE."""
    if len(data) < 64 or data[:2] != b"MZ":
        return []
    (e_lfanew,) = struct.unpack_from("<I", data, 0x3C)
    if e_lfanew + 24 > len(data) or data[e_lfanew : e_lfanew + 4] != b"PE\x00\x00":
        return []
    nsections, = struct.unpack_from("<H", data, e_lfanew + 6)
    (opt_size,) = struct.unpack_from("<H", data, e_lfanew + 20)
    table = e_lfanew + 24 + opt_size
    out = []
    for i in range(min(nsections, 96)):
        off = table + 40 * i
        if off + 40 > len(data):
            break
        raw_size, raw_ptr = struct.unpack_from("<II", data, off + 16)
        if raw_size:
            out.append((raw_ptr, raw_size))
    return out
