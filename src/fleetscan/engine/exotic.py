"""Formats fleetscan recognises but cannot open itself, which libclamav (through clamd) can.

A packed executable, an installer or a Symbian package hides its content from a byte-pattern and hash pass the way
an archive does: scanning its bytes as they are and calling it clean would be a lie. `exotic` names such a format
from cheap checks (the first bytes, the PE headers, four KiB at the entry point and at the overlay) so the engine
can hand the file to clamd, or report it as not scanned when no clamd is configured.

The PE packer checks are the ones libclamav's ``pe.c`` makes before it tries each unpacker (entry-point stubs and
section layout), so a file named here is one clamd will actually unpack. Containers that an in-process decoder may
open (mail, PDF, OLE2, RTF, ...) are named only while no decoder in `decoders.REGISTRY` claims them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from .clamd import Clamd, ClamdError, StreamTooLong
from .decoders import claiming
from .headers import is_arj, is_swf
from .pe import PE_HEADER_SIZE, PeHeader, parse_pe
from .results import HitTuple, Problem, Severity, SkipReason

__all__ = ["Read", "exotic", "clamd_only", "undecoded", "second_opinion"]

Read = Callable[[int, int], bytes]
"""``read(offset, length)``: bytes of the file (fewer at its end)."""

_WINDOW = 4096
_HIGH = Severity.HIGH.value

# -- PE packers, as libclamav's pe.c recognises them ---------------------------------------------------------------

_UPX_STUBS = (
    b"\x11\xdb\x11\xc9\x01\xdb\x75\x07\x8b\x1e\x83\xee\xfc\x11\xdb\x11\xc9\x11\xc9\x75\x20\x41\x01\xdb",  # NRV2B
    b"\x83\xf0\xff\x74\x78\xd1\xf8\x89\xc5\xeb\x0b\x01\xdb\x75\x07\x8b\x1e\x83\xee\xfc\x11\xdb\x11\xc9",  # NRV2D
    b"\xeb\x52\x31\xc9\x83\xe8\x03\x72\x11\xc1\xe0\x08\x8a\x06\x46\x83\xf0\xff\x74\x75\xd1\xf8\x89\xc5",  # NRV2E
    b"\x56\x83\xc3\x04\x53\x50\xc7\x03",  # LZMA
)
_YC_HEADS = (
    (0, b"\x55\x8b\xec\x53\x56\x57\x60\xe8\x00\x00\x00\x00\x5d\x81\xed"),  # yC 1.3
    (0x17, b"\xe8\x00\x00\x00\x00\x5d\x81\xed"),  # yC 1.3 variant (after 55 8b ec 83 ec 40 53 56 57)
    (0, b"\x60\xe8\x00\x00\x00\x00\x5d\x81\xed"),  # yC 1.x/modified
)
_NSPACK = b"\x9c\x60\xe8\x00\x00\x00\x00\x5d\xb8\x07\x00\x00\x00"
#: Section names the packers give their sections, for builds whose entry stub varies.
_SECTION_NAMES = {
    b"UPX0": "UPX", b"UPX1": "UPX", b".aspack": "ASPack", b".adata": "ASPack", b".petite": "Petite",
    b".nsp0": "NsPack", b".nsp1": "NsPack", b"nsp0": "NsPack", b"nsp1": "NsPack", b"MEW": "MEW", b"yC": "yC",
    b".WWP32": "WWPack",
}


def _i32(b: bytes, off: int) -> int:
    return int(struct.unpack_from("<i", b, off)[0]) if off + 4 <= len(b) else 0


def _packer(pe: PeHeader, read: Read) -> str | None:
    secs = pe.sections
    n = len(secs)
    if not n:
        return None
    ep_off = pe.offset(pe.entry_rva)
    ep = read(ep_off, _WINDOW) if ep_off is not None else b""
    lowest = min(s.rva for s in secs)
    base = pe.image_base
    # UPX, FSG and MEW leave a section with no raw data before the one holding the compressed image.
    empty = any(not secs[i].rsize and secs[i].vsize and secs[i + 1].rsize and secs[i + 1].vsize for i in range(n - 1))
    if empty and ep[:1] == b"\xe9" and pe.entry_rva + _i32(ep, 1) + 5 in (0x154, 0x158):
        return "MEW"
    upack = pe.optional_size == 0x148
    mov_esi = ep[:1] == b"\xbe"
    if (upack and n == 3 and mov_esi and ep[5:7] in (b"\xad\x50", b"\xff\x36")) or (
        not upack and n == 2 and (ep[:6] == b"\x60\xe8\x09\x00\x00\x00" or (mov_esi and ep[5:8] == b"\xad\x8b\xf8"))
    ):
        return "Upack"
    if empty and (ep[:2] == b"\x87\x25" or (ep[:1] == b"\xbe" and _i32(ep, 1) - base < lowest)
                  or (ep[:1] == b"\xbb" and ep[5:6] == b"\xbf" and ep[10:11] == b"\xbe")):
        return "FSG"
    if n > 1 and any(ep[at : at + len(stub)] == stub for at, stub in _YC_HEADS):
        return "yC"
    if empty and (any(s.name.startswith(b"UPX") for s in secs) or any(stub in ep[:0x200] for stub in _UPX_STUBS)):
        return "UPX"
    if len(ep) >= 200 and ep[:1] == b"\xb8" and any(
        _i32(ep, 1) == s.rva + base for s in secs[-2:]
    ):
        return "Petite"
    if n > 1 and ep[4:14] == b"\xe8\x00\x00\x00\x00\x8b\x1c\x24\x83\xc3":
        return "PESpin"
    if n > 1 and ep[:7] == b"\x53\x55\x8b\xe8\x33\xdb\xeb" and ep[0x68:0x6D] == b"\xe8\x00\x00\x00\x00":
        return "WWPack"
    if ep[:8] == b"\x60\xe8\x03\x00\x00\x00\xe9\xeb":
        return "ASPack"
    stub = ep
    if ep[:1] == b"\xe9":  # NsPack with "bitched headers": a jump to the real stub
        target = pe.offset(pe.entry_rva + _i32(ep, 1) + 5)
        stub = read(target, 24) if target is not None else b""
    if stub.startswith(_NSPACK):
        return "NsPack"
    for s in secs:
        if s.name in _SECTION_NAMES:
            return _SECTION_NAMES[s.name]
    return None


# -- installers and other payloads appended to a PE ----------------------------------------------------------------

_NSIS = b"\xef\xbe\xad\xdeNullsoftInst"
_AUTOIT = re.compile(re.escape(bytes.fromhex("a3484bbe986c4aa9994c530a86d6487d")) + b"AU3!EA0[56]")
_ISHIELD_MSI = re.compile(re.escape(b"InstallShield\x00") + b".{292}\x06\x00{7}.{8}\x00{4}\x01", re.S)
_ISHIELD_SFX = re.compile(rb"([^\x00]{1,255})\x00([^\x00]{1,255})\x00([^\x00]{0,64})\x00(\d{1,12})\x00")


def _appended(pe: PeHeader, read: Read, size: int) -> str | None:
    """What ClamAV finds in the overlay: NSIS, AutoIt and InstallShield payloads."""
    start = pe.overlay
    if not 0 < start < size:
        return None
    window = read(start, _WINDOW)
    if _NSIS in window:
        return "NSIS"
    if _AUTOIT.search(window):
        return "AutoIt"
    if _ISHIELD_MSI.search(window):
        return "InstallShield"
    m = _ISHIELD_SFX.match(window)  # name, path, version, size: libclamav's cli_scanishield
    if m and int(m.group(4)) < size - start:
        return "InstallShield"
    return None


def _embedded_pe(data: bytes) -> bool:
    """Another PE inside this one: ClamAV matches its hashes and patterns as a file of its own."""
    at = data.find(b"MZ", 2)
    while at >= 0:
        if at + 64 <= len(data):
            (lfanew,) = struct.unpack_from("<I", data, at + 0x3C)
            if 0x40 <= lfanew <= 0x300 and data[at + lfanew : at + lfanew + 4] == b"PE\x00\x00":
                return True
        at = data.find(b"MZ", at + 2)
    return False


# -- formats recognised by their first bytes -----------------------------------------------------------------------

_MSI_CLSID = bytes.fromhex("84100c0000000000c000000000000046")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ONENOTE = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"ITSF", "CHM"),
    (b"SZDD\x88\xf0\x27\x33", "SZDD"),
    (b"\xb6\xb9\xac\xae\xfe\xff\xff\xff", "CryptFF"),
    (b"EGGA", "EGG"),
    (_ONENOTE, "OneNote"),
    (b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05", "HWP3"),
)


def _msi(head: bytes, read: Read) -> bool:
    """An OLE2 file whose root storage has the Windows Installer CLSID."""
    if len(head) < 0x40:
        return False
    shift, first_dir = struct.unpack_from("<H", head, 0x1E)[0], struct.unpack_from("<I", head, 0x30)[0]
    if not 7 <= shift <= 16 or first_dir >= 0xFFFFFFFA:
        return False
    root = read((first_dir + 1) << shift, 128)
    return root[0x50:0x60] == _MSI_CLSID


def clamd_only(head: bytes, read: Read, size: int, data: bytes | None = None) -> str | None:
    """The format of a file only libclamav opens, or None. ``head`` is the first bytes (512 are enough), ``data``
    the whole file when it is in memory anyway."""
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if b"\x19\x04\x00\x10" in head[8:24]:  # EPOC SIS: UID3 at 8 (libclamav's "1:8,12:19040010")
        return "SIS"
    if is_swf(head):
        return "SWF"
    if head.startswith(_OLE2):
        return "MSI" if _msi(head, read) else None
    if head[:2] != b"MZ":
        return None
    first = data[:PE_HEADER_SIZE] if data is not None else read(0, _WINDOW)
    pe = parse_pe(first)
    if pe is None:
        return None
    kind = _packer(pe, read) or _appended(pe, read, size)
    if kind is not None:
        return kind
    overlay = pe.overlay
    tail = read(overlay, _WINDOW) if 0 < overlay < size else b""
    return "embedded PE" if _embedded_pe(data if data is not None else tail) else None


# -- containers an in-process decoder may open ---------------------------------------------------------------------

_MAIL_HEADERS = (b"From ", b"From: ", b"Received: ", b"Return-Path: ", b"Delivered-To: ", b"Date: ", b"Subject: ",
                 b"To: ", b"Message-ID: ", b"Message-Id: ", b"MIME-Version: ", b"X-")
_DATA_URI = re.compile(rb"data:[\w/.+-]*;base64,", re.I)


#: First bytes of the containers below that sit at offset 0; other heads need only the PDF and data: URI checks.
_CONTAINER_FIRST = frozenset(b"\xd0{(x`b" + bytes(h[0] for h in _MAIL_HEADERS))


def _container(head: bytes, window: bytes) -> str | None:
    if b"%PDF-" in head:  # anywhere in the head, as ClamAV's "1:*:255044462d??2e" finds it
        return "PDF"
    if head[:1] and head[0] not in _CONTAINER_FIRST:
        return "data: URI" if b";base64," in window and _DATA_URI.search(window) else None
    if head.startswith(_OLE2):
        return "OLE2"
    if head.startswith(b"{\\rt"):
        return "RTF"
    if head.startswith(b"(This file must be converted with BinHex"):
        return "BinHex"
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return "TNEF"
    if is_arj(head):
        return "ARJ"
    if head.startswith(b"begin ") and head[6:9].isdigit():
        return "uuencoded"
    if head.startswith(_MAIL_HEADERS) and (head.startswith(b"From ") or b"\n" in head) and b": " in head:
        return "mail"
    if b";base64," in window and _DATA_URI.search(window):  # the plain find first: most text has neither
        return "data: URI"
    return None


def undecoded(head: bytes, name: str, read: Read) -> str | None:
    """A container fleetscan recognises (mail, PDF, OLE2, RTF, BinHex, TNEF, ARJ, base64 ``data:`` URIs) while no
    registered decoder claims it: until one does, its content is seen only by clamd."""
    # The data: URI check needs more than the head, and only text holds one: binary heads skip the read.
    window = read(0, _WINDOW) if b"\x00" not in head else head
    kind = _container(head, window)
    if kind is None or claiming(window, name):
        return None
    return kind


def exotic(head: bytes, read: Read, size: int, name: str = "", data: bytes | None = None) -> str | None:
    """The name of the format that keeps this file's content from fleetscan's own pass, or None."""
    return clamd_only(head, read, size, data) or undecoded(head, name, read)


# -- what the engine does with such a file -------------------------------------------------------------------------


def second_opinion(
    clamd: Clamd | None,
    head: bytes,
    read: Read,
    size: int,
    name: str,
    data: bytes | None,
    problem: Problem | None,
    detected: bool,
    stream: Callable[[Clamd], list[str]],
) -> tuple[list[HitTuple], Problem | None]:
    """Detections clamd adds, and the problem this adds to the file's (None: none), for a file fleetscan has
    matched; ``problem`` is the file's first problem so far.

    An exotic file goes to clamd, whose ``OK`` makes it clean; without clamd it is not scanned (`NEEDS_CLAMD`). A
    file whose own pass left a problem (an unreadable archive, a limit) is also shown to clamd while nothing was
    detected in it: a detection there is reported, an ``OK`` leaves the problem standing, as clamd may have skipped
    the same content. A file that already has a problem gets no second one from here.
    """
    kind = exotic(head, read, size, name, data)
    if kind is None and (problem is None or detected or problem.reason == SkipReason.ENCRYPTED):
        return [], None
    if clamd is None:
        if problem is None and kind:
            return [], Problem("", SkipReason.NEEDS_CLAMD.value, f"{kind}: needs the clamd backend")
        return [], None
    what = f"{kind}: " if kind else ""
    try:
        names = stream(clamd)
    except StreamTooLong as exc:
        return [], None if problem else Problem("", SkipReason.TOO_LARGE.value, f"{what}{exc}")
    except ClamdError as exc:
        return [], None if problem else Problem("", SkipReason.READ_ERROR.value, f"{what}{exc}")
    return [(n, "clamav", _HIGH, None, None) for n in names], None
