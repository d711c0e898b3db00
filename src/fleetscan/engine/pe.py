"""Just enough PE parsing for ClamAV section-hash (``.mdb``/``.msb``) signatures and for recognising packers.

Offsets follow ClamAV's reading: the raw pointer is aligned down and the raw size up to FileAlignment (when that
is a multiple of 0x200), and a section running past the end of the file is cut at the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["PE_HEADER_SIZE", "PeHeader", "Section", "parse_pe", "pe_sections"]

#: Bytes from the start of a file that hold the headers and the section table of nearly every PE.
PE_HEADER_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Section:
    name: bytes
    rva: int
    vsize: int
    raw: int
    """File offset of the raw data, aligned as ClamAV aligns it."""
    rsize: int
    """Raw size as the header gives it, aligned; not cut at the end of the file."""


@dataclass(frozen=True, slots=True)
class PeHeader:
    sections: tuple[Section, ...]
    entry_rva: int
    image_base: int
    optional_size: int

    @property
    def overlay(self) -> int:
        """Where data appended after the last section starts (installers keep their payload there)."""
        return max((s.raw + s.rsize for s in self.sections if s.rsize), default=0)

    def offset(self, rva: int) -> int | None:
        """The file offset of a relative virtual address: in a section's raw data, or in the headers."""
        for s in self.sections:
            if s.rva <= rva < s.rva + max(s.vsize, s.rsize) and rva - s.rva < s.rsize:
                return s.raw + rva - s.rva
        first = min((s.rva for s in self.sections), default=0)
        return rva if rva < first else None


def parse_pe(head: bytes) -> PeHeader | None:
    """The headers of a PE from its first bytes (64 KiB covers them), or None when ``head`` is not one."""
    if len(head) < 64 or head[:2] != b"MZ":
        return None
    (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
    if e_lfanew + 24 > len(head) or head[e_lfanew : e_lfanew + 4] != b"PE\x00\x00":
        return None
    (nsections,) = struct.unpack_from("<H", head, e_lfanew + 6)
    (opt_size,) = struct.unpack_from("<H", head, e_lfanew + 20)
    opt = e_lfanew + 24
    entry = struct.unpack_from("<I", head, opt + 16)[0] if opt + 20 <= len(head) else 0
    magic = struct.unpack_from("<H", head, opt)[0] if opt + 2 <= len(head) else 0
    if magic == 0x20B:  # PE32+: a 64-bit ImageBase at 24
        base = struct.unpack_from("<Q", head, opt + 24)[0] if opt + 32 <= len(head) else 0
    else:
        base = struct.unpack_from("<I", head, opt + 28)[0] if opt + 32 <= len(head) else 0
    falign = struct.unpack_from("<I", head, opt + 36)[0] if opt + 40 <= len(head) else 0
    if not falign or falign % 0x200:
        falign = 0
    table = opt + opt_size
    sections = []
    for i in range(min(nsections, 96)):
        off = table + 40 * i
        if off + 40 > len(head):
            break
        vsize, rva, rsize, raw = struct.unpack_from("<IIII", head, off + 8)
        if falign:
            raw = raw // falign * falign
            rsize = (rsize + falign - 1) // falign * falign
        sections.append(Section(head[off : off + 8].rstrip(b"\x00"), rva, vsize, raw, rsize))
    return PeHeader(tuple(sections), entry, base, opt_size)


def pe_sections(head: bytes, file_size: int) -> list[tuple[int, int]]:
    """(raw offset, raw size) of each section, or [] when ``head`` (the file's first 64 KiB) is not a PE."""
    pe = parse_pe(head)
    if pe is None:
        return []
    return [(s.raw, min(s.rsize, file_size - s.raw)) for s in pe.sections if s.raw < file_size and s.rsize]
