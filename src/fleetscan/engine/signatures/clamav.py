"""ClamAV database files: which ones this engine uses, and an exact count of the lines it cannot use.

Used: ``.hdb``/``.hsb`` (whole-file hashes), ``.mdb``/``.msb`` (PE section hashes), ``.ndb`` (body patterns),
``.ldb`` (logical signatures over body patterns), ``.yar``/``.yara`` (ClamAV's YARA subset, compiled by yara-x); the
``u`` variants (``.hdu``, ``.ndu``...) are the same formats for potentially unwanted applications. Everything else
is counted per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .ldb import parse_ldb_line
from .model import HASH_LENGTHS, HashSig, SignatureParts, UnsupportedReport
from .ndb import Malformed, Untranslatable, parse_ndb_line

__all__ = ["parse_clamav_db", "CLAMAV_SUFFIXES", "METADATA_SUFFIXES"]

_HASH_FILE = {".hdb", ".hdu", ".hsb", ".hsu"}
_SECTION_FILE = {".mdb", ".mdu", ".msb", ".msu"}
_BODY_FILE = {".ndb", ".ndu"}
_LOGICAL_FILE = {".ldb", ".ldu"}
_YARA_FILE = {".yar", ".yara"}

#: Kinds that are real signatures this engine does not evaluate, with the reason shown in reports.
_UNSUPPORTED = {
    ".cbc": "bytecode signature (.cbc)",
    ".cdb": "container metadata signature (.cdb)",
    ".crb": "certificate trust rule (.crb)",
    ".idb": "icon signature (.idb)",
    ".pdb": "phishing domain signature (.pdb)",
    ".gdb": "phishing domain signature (.pdb)",
    ".wdb": "phishing allow-list (.wdb)",
    ".ftm": "file-type magic (.ftm)",
    ".fp": "false-positive allow-list (.fp)",
    ".sfp": "false-positive allow-list (.fp)",
    ".ign": "signature ignore list (.ign)",
    ".ign2": "signature ignore list (.ign)",
    ".imp": "import-table hash (.imp)",
    ".hwp": "HWP signature (.hwp)",
}

#: Files in a database directory or container that hold no signatures (indexes, configuration, licences).
METADATA_SUFFIXES = (".info", ".cfg", ".txt", "")

CLAMAV_SUFFIXES = tuple(
    sorted(_HASH_FILE | _SECTION_FILE | _BODY_FILE | _LOGICAL_FILE | _YARA_FILE | set(_UNSUPPORTED))
)


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip() and line[0] != "#"]


def _size(field: str) -> int | None:
    if field == "*":
        return None
    return int(field)


def _hash_lines(text: str, origin: str, parts: SignatureParts, section: bool) -> None:
    for n, line in _lines(text):
        fields = line.split(":")
        try:
            if section:
                size, digest, name = _size(fields[0]), fields[1].lower(), fields[2]
            else:
                digest, size, name = fields[0].lower(), _size(fields[1]), fields[2]
            algo = HASH_LENGTHS[len(digest)]
            int(digest, 16)
        except (IndexError, KeyError, ValueError):
            parts.unsupported.damage(origin, "malformed hash line", f"{origin}:{n}")
            continue
        if section:
            if size is None:
                parts.unsupported.add("section hash without size", f"{origin}:{n}")
                continue
            parts.section_hashes.append(HashSig(name, algo, digest, size, "pe-section-hash"))
        else:
            parts.hashes.append(HashSig(name, algo, digest, size, "hash"))


T = TypeVar("T")


def _translate_lines(
    text: str, origin: str, parse: Callable[[str], T], into: list[T], kind: str, unsupported: UnsupportedReport
) -> None:
    """Every line translated, or counted with the reason it could not be (a malformed one damages the file)."""
    for n, line in _lines(text):
        try:
            into.append(parse(line))
        except Malformed as exc:
            unsupported.damage(origin, f"{kind}: {exc}", f"{origin}:{n}")
        except Untranslatable as exc:
            unsupported.add(f"{kind}: {exc}", f"{origin}:{n}")
        except ValueError:  # a number field that only looks like one ("²".isdigit())
            unsupported.damage(origin, f"{kind}: malformed line", f"{origin}:{n}")


def parse_clamav_db(suffix: str, text: str, origin: str, parts: SignatureParts) -> bool:
    """Add one database file's signatures to ``parts``; False when the suffix is not a ClamAV database."""
    if suffix in _HASH_FILE:
        _hash_lines(text, origin, parts, section=False)
    elif suffix in _SECTION_FILE:
        _hash_lines(text, origin, parts, section=True)
    elif suffix in _BODY_FILE:
        _translate_lines(text, origin, parse_ndb_line, parts.patterns, "body pattern", parts.unsupported)
    elif suffix in _LOGICAL_FILE:
        _translate_lines(text, origin, parse_ldb_line, parts.logical, "logical signature", parts.unsupported)
    elif suffix in _YARA_FILE:
        parts.yara_sources.append((origin, text))
    elif suffix in _UNSUPPORTED:
        reason = _UNSUPPORTED[suffix]
        if suffix == ".cbc":  # one bytecode program per file
            parts.unsupported.add(reason, origin)
        else:
            for n, _line in _lines(text):
                parts.unsupported.add(reason, f"{origin}:{n}")
    else:
        return False
    return True
