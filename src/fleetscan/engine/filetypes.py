"""HSS's seven file-type classes, decided from the first bytes and, failing that, the name.

Magic wins over the extension so that a renamed executable is still an executable; the extension decides only
for formats without a reliable signature (scripts, plain-text documents) and for zip-based office files.
"""

from __future__ import annotations

import os
from enum import IntEnum

from .headers import HEADER_RULES, is_arj

__all__ = ["FileClass", "classify", "is_archive", "is_arj", "parse_classes", "HEAD_SIZE"]

#: Bytes read from the start of a file to classify it and to ask decoders whether they claim it; covers tar's
#: magic at offset 257.
HEAD_SIZE = 4096


class FileClass(IntEnum):
    ALL = 0
    EXECUTABLE = 1
    ARCHIVE = 2
    SCRIPT = 3
    DOCUMENT = 4
    IMAGE = 5
    AUDIO_VIDEO = 6
    OTHER = 7
    """Matches only class 0 (all): text, data and anything unrecognised."""


#: Magics of four bytes or more; the shorter ones (gzip, .Z, bzip2, binary cpio, .lzma, ARJ) count only with their
#: header behind them (`headers.HEADER_RULES`).
_ARCHIVE_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"PK\x03\x04"),
    (0, b"PK\x05\x06"),
    (0, b"PK\x07\x08"),
    (0, b"\xfd7zXZ\x00"),
    (0, b"7z\xbc\xaf\x27\x1c"),
    (0, b"Rar!\x1a\x07"),
    (0, b"MSCF"),
    (0, b"070701"),
    (0, b"070702"),
    (0, b"070707"),
    (0, b"\x28\xb5\x2f\xfd"),
    (0, b"\x04\x22\x4d\x18"),
    (0, b"!<arch>\n"),
    (0, b"\xed\xab\xee\xdb"),
    (0, b"xar!"),
    (0, b"LZIP"),
    (257, b"ustar"),
)
_EXEC_MAGIC = (b"\x7fELF", b"MZ", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
_DOC_MAGIC = (b"%PDF", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00")
_AV_MAGIC = (b"ID3", b"OggS", b"fLaC", b"\x1aE\xdf\xa3", b"\xff\xfb", b"\xff\xf3", b"FLV")

_EXT = {
    FileClass.EXECUTABLE: "exe dll sys scr com cpl ocx so ko bin elf out msi apk dylib",
    FileClass.ARCHIVE: "zip jar war ear tar gz tgz bz2 tbz xz txz 7z rar cab cpio iso zst lz4 lzma ar deb rpm",
    FileClass.SCRIPT: "sh bash zsh ksh csh py pl pm rb php phtml php5 js mjs vbs vbe jse wsf ps1 psm1 bat cmd lua "
    "jsp jspx asp aspx cgi tcl awk",
    FileClass.DOCUMENT: "pdf doc docx docm xls xlsx xlsm ppt pptx pptm odt ods odp rtf txt csv html htm xml chm "
    "eml msg md",
    FileClass.IMAGE: "png jpg jpeg gif bmp tif tiff ico webp svg psd heic",
    FileClass.AUDIO_VIDEO: "mp3 mp4 m4a m4v avi mkv mov wmv wav flac ogg oga ogv webm flv aac wma mpg mpeg 3gp",
}
_BY_EXT = {ext: cls for cls, exts in _EXT.items() for ext in exts.split()}
_ZIP_DOCS = {"docx", "docm", "xlsx", "xlsm", "pptx", "pptm", "odt", "ods", "odp"}


_BY_PREFIX: dict[bytes, tuple[bytes, ...]] = {}
for _off, _magic in _ARCHIVE_MAGIC:
    if _off == 0:
        _BY_PREFIX[_magic[:2]] = (*_BY_PREFIX.get(_magic[:2], ()), _magic)


def is_archive(head: bytes) -> bool:
    """True when libarchive (or 7-Zip, for ARJ) should be asked to open the file (archives and compressed streams).

    Called for every file, so the magics are looked up by their first two bytes rather than tried one by one. A
    magic of three bytes or fewer needs its format's header too: chance meets it in one random file in 65,536 (or
    16.7 million), which its reader would then report "not scanned: corrupt" for nothing.
    """
    rule = HEADER_RULES.get(head[:2])
    if rule is not None and rule(head):
        return True
    candidates = _BY_PREFIX.get(head[:2])
    if candidates is not None and head.startswith(candidates):
        return True
    return head[257:262] == b"ustar"


def classify(head: bytes, name: str) -> FileClass:
    ext = os.path.splitext(name)[1][1:].lower()
    if head.startswith(b"#!"):
        return FileClass.SCRIPT
    if head.startswith(_EXEC_MAGIC):
        return FileClass.EXECUTABLE
    if head.startswith(_DOC_MAGIC):
        return FileClass.DOCUMENT
    if is_archive(head):
        return FileClass.DOCUMENT if ext in _ZIP_DOCS else FileClass.ARCHIVE
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return FileClass.IMAGE
    if head.startswith(_AV_MAGIC) or head[4:8] == b"ftyp" or (head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WAVE")):
        return FileClass.AUDIO_VIDEO
    return _BY_EXT.get(ext, FileClass.OTHER)


def parse_classes(values: object) -> frozenset[int]:
    """Normalise a class selection; empty or containing 0 means every file."""
    if values is None:
        return frozenset()
    if isinstance(values, int | str):
        values = [values]
    assert isinstance(values, list | tuple | set | frozenset)
    classes = frozenset(int(v) for v in values)
    bad = [c for c in classes if not 0 <= c <= 6]
    if bad:
        raise ValueError(f"file-type classes are 0..6, got {sorted(bad)}")
    return frozenset() if 0 in classes else classes
