"""RTF embedded objects: ``{\\object ... {\\*\\objdata 0105...}}``, the hex decoded, the OLE1 object opened.

An object's data is an OLE1 ``EmbeddedObject`` (MS-OLEDS 2.2.5): version, format, class name, topic and item
names, then the native data. For the ``Package`` class that data wraps a file (name and bytes, read by
:func:`.ole2.ole10native`); for other classes it is usually an OLE2 file (a Word document, an Equation Editor
object), yielded for :mod:`.ole2` to open. Data that is not an OLE1 object is yielded as it decodes, as ClamAV
scans it. Malicious RTF hides the hex among whitespace, control words and nested groups that Word ignores; so
does this reader (everything but hex digits in the group is dropped), as ``oletools.rtfobj`` does, in a few lines
of its own rather than the whole of ``oletools``.
"""

from __future__ import annotations

import binascii
import re
import struct
from collections.abc import Iterator

from ..limits import Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, register
from .guard import guarded
from .ole2 import ole10native
from .text import NORMALISED

__all__ = ["MAX_OBJECTS", "decode_rtf"]

#: Objects decoded per document; past it the rest is a named limit.
MAX_OBJECTS = 1_000

_OBJDATA = re.compile(rb"\\objdata\b")
_CONTROL = re.compile(rb"\\[A-Za-z]+-?\d* ?|\\.")
_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]")


def _group_end(data: bytes, pos: int) -> int:
    """Where the group that ``pos`` is in closes (or the end of the data, for a cut document)."""
    depth = 0
    for match in re.finditer(rb"[{}]|\\.", data[pos:]):
        token = match.group()
        if token == b"{":
            depth += 1
        elif token == b"}":
            if depth == 0:
                return pos + match.start()
            depth -= 1
    return len(data)


def _ole1(obj: bytes) -> tuple[str, bytes, bool] | None:
    """(class name, native data, cut short) of an OLE1 EmbeddedObject, or None when it is not one."""
    try:
        version, fmt = struct.unpack_from("<II", obj, 0)
        pos = 8
        names = []
        for _ in range(3):  # class, topic, item: length-prefixed, NUL-terminated
            (n,) = struct.unpack_from("<I", obj, pos)
            if n > 0x10000:
                return None
            names.append(obj[pos + 4 : pos + 4 + n].rstrip(b"\0"))
            pos += 4 + n
        (size,) = struct.unpack_from("<I", obj, pos)
    except struct.error:
        return None
    if fmt != 2 or not names[0]:
        return None
    native = obj[pos + 4 : pos + 4 + size]
    return names[0].decode("latin-1"), native, len(native) < size


def decode_rtf(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    where = name or "RTF"
    problem: str | None = None
    for n, match in enumerate(_OBJDATA.finditer(data), 1):
        label = f"object {n}"
        if n > MAX_OBJECTS:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"more than {MAX_OBJECTS} objects at {where}")
        end = _group_end(data, match.end())
        hexdigits = _NOT_HEX.sub(b"", _CONTROL.sub(b"", data[match.end() : end]))
        if end == len(data):
            problem = problem or f"{label} not closed (truncated) at {where}"
        if len(hexdigits) % 2:
            hexdigits = hexdigits[:-1]
        obj = binascii.unhexlify(hexdigits)
        if not obj:
            continue
        budget.charge(len(obj), f"{where}!{label}")
        parsed = _ole1(obj)
        if parsed is None:
            yield Layer(label, obj)  # not OLE1: matched as it is
            continue
        cls, native, cut = parsed
        if cut:
            problem = problem or f"{label} ({cls}) native data truncated at {where}"
        package = ole10native(native, sized=False) if cls == "Package" else None
        if package is not None:
            inner_name, inner, inner_cut = package
            if inner_cut:
                problem = problem or f"{label} package {inner_name!r} truncated at {where}"
            yield Layer(inner_name, inner)
        elif native:  # usually an OLE2 file, which the ole2 decoder opens
            yield Layer(f"{label} ({cls})", native)
    if problem:
        raise Undecodable(SkipReason.CORRUPT, problem)


def _claims(head: bytes, name: str) -> bool:
    return head[:4] == b"{\\rt" and name != NORMALISED  # Word opens "{\rt" as RTF; so does malware that skips the "f"


DECODER = register(Decoder("rtf", _claims, guarded("RTF", decode_rtf)))
