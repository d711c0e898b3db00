"""PDF: every stream decoded through its filter chain, embedded files named by their file specification.

`pypdf` (pure Python, no dependencies) reads the cross-reference table, decrypts with the empty user password (AES
through `cryptography`: PDFs with only an owner password, common, are AES-encrypted with an empty user one), and
decodes FlateDecode, ASCIIHexDecode, ASCII85Decode, LZWDecode and RunLengthDecode, chained in any order, with its
own output limits per filter (set here to the member-size limit). Chosen over `pikepdf` (qpdf's binding) for its
footprint: one pure-Python wheel against qpdf plus Pillow and lxml, and the work that costs is zlib, in C either
way; on damage, qpdf repairs more, which the raw pass below makes up for.

ClamAV does not trust the cross-reference table: it finds objects by scanning for ``N G obj``. So does this decoder,
after pypdf: every ``obj ... stream ... endstream`` that pypdf did not list (an earlier revision, an object nothing
refers to, or all of a file too damaged for pypdf to open) is decoded from its raw bytes (the filters named in its
dictionary, or zlib when it starts like a zlib stream). A file pypdf could not open, or a stream no filter could
decode, is reported ``corrupt`` after its layers were yielded; an encrypted file the empty password does not open is
``encrypted``. Streams are named ``stream N`` (the object number) or by the embedded file's name.
"""

from __future__ import annotations

import binascii
import io
import logging
import re
import time
import zlib
from collections.abc import Iterator
from typing import Any

from ..limits import Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, register
from .guard import guarded
from .text import NORMALISED

__all__ = ["MAX_SECONDS", "MAX_STREAMS", "decode_pdf"]

#: Streams decoded per PDF, and seconds spent on one (pypdf is pure Python); past them the rest is a named limit.
MAX_STREAMS = 100_000
MAX_SECONDS = 60.0

_OBJ = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj\b")
_STREAM = re.compile(rb"stream\r?\n")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_NAME = re.compile(rb"/([A-Za-z0-9]+)")

# pypdf warns on every oddity it repairs; a damaged PDF is a verdict here (the skip reason), not console noise.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class _Streams:
    """What one PDF yields: layers in order, the objects already decoded, and the first problem met."""

    def __init__(self, name: str, budget: Budget) -> None:
        self.where = name or "PDF"
        self.budget = budget
        self.count = 0
        self.done: set[int] = set()  # offsets of the "N G obj" pypdf handled
        self.problem: tuple[SkipReason, str] | None = None
        self.deadline = time.monotonic() + MAX_SECONDS

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"decoding took over {MAX_SECONDS:.0f} s at {self.where}")

    def layer(self, label: str, data: bytes) -> Layer:
        self.count += 1
        self.check_time()
        if self.count > MAX_STREAMS:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"more than {MAX_STREAMS} streams at {self.where}")
        self.budget.charge(len(data), f"{self.where}!{label}")
        return Layer(label, data)

    def trouble(self, reason: SkipReason, detail: str) -> None:
        if self.problem is None:
            self.problem = (reason, f"{detail} at {self.where}")


def _library(data: bytes, found: _Streams) -> Iterator[Layer]:
    """The streams the cross-reference table lists, decoded by pypdf."""
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import DependencyError, LimitReachedError, PyPdfError
    from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

    cap = found.budget.limits.max_member_size
    with apply_configuration(zlib_maximum_output_length=cap, lzw_maximum_output_length=cap,
                             run_length_maximum_output_length=cap, array_based_stream_maximum_output_length=cap):
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError, PyPdfError) as exc:
                raise Undecodable(SkipReason.ENCRYPTED, f"encrypted PDF ({exc}) at {found.where}") from exc
            if not opened:
                raise Undecodable(SkipReason.ENCRYPTED, f"encrypted PDF, not the empty password, at {found.where}")
        objects: list[tuple[int, int, int]] = []
        for gen, table in reader.xref.items():
            for num, offset in table.items():
                objects.append((offset, num, gen))
        objects.sort()
        names: dict[int, str] = {}
        streams: list[tuple[int, Any]] = []
        for offset, num, gen in objects:
            found.check_time()
            try:
                obj = reader.get_object(IndirectObject(num, gen, reader))
            except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue  # the raw pass finds it
            found.done.add(offset)
            if isinstance(obj, StreamObject):
                if obj.get("/Type") != "/XRef":
                    streams.append((num, obj))
            elif isinstance(obj, DictionaryObject) and "/EF" in obj:
                _file_names(obj, names)
        for num, stream in streams:
            label = names.get(num) or f"stream {num}"
            try:
                decoded = stream.get_data()
            except LimitReachedError as exc:
                found.trouble(SkipReason.ARCHIVE_LIMIT, f"stream {num}: {exc}")
                continue
            except NotImplementedError as exc:
                found.trouble(SkipReason.UNSUPPORTED, f"stream {num}: {exc}")
                decoded = stream._data  # an image codec: its raw bytes are what is there to match
            except (PyPdfError, ValueError, zlib.error, binascii.Error, KeyError, TypeError, IndexError) as exc:
                found.trouble(SkipReason.CORRUPT, f"stream {num} does not decode ({type(exc).__name__}: {exc})")
                decoded = _raw_decode(stream._data, b"")
            if decoded:
                yield found.layer(label, decoded)


def _file_names(spec: Any, names: dict[int, str]) -> None:
    """A file specification's name for the embedded-file streams its ``/EF`` points to."""
    try:
        name = str(spec.get("/UF") or spec.get("/F") or "").replace("!", "_").strip()
        ef = spec["/EF"].get_object()
        for key in ("/F", "/UF"):
            ref = ef.raw_get(key) if key in ef else None
            if ref is not None and hasattr(ref, "idnum") and name:
                names[ref.idnum] = name
    except Exception:  # noqa: BLE001 - a damaged name only costs the layer its nicer name
        return


def _raw_decode(raw: bytes, header: bytes) -> bytes:
    """Decode a stream from its raw bytes and the filters its dictionary names; zlib when it looks like zlib."""
    from pypdf.filters import ASCII85Decode, LZWDecode, RunLengthDecode

    match = _FILTER.search(header)
    filters = [n.decode() for n in _NAME.findall(match.group(1))] if match else []
    if not filters and raw[:1] in (b"x", b"h", b"X", b"H") and len(raw) > 2 and (raw[0] << 8 | raw[1]) % 31 == 0:
        filters = ["FlateDecode"]
    data = raw
    for f in filters:
        if f in ("FlateDecode", "Fl"):
            data = zlib.decompressobj().decompress(data)  # a truncated stream gives what it holds
        elif f in ("ASCIIHexDecode", "AHx"):
            hexdigits = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">", 1)[0])
            data = binascii.unhexlify(hexdigits + b"0" * (len(hexdigits) % 2))
        elif f in ("ASCII85Decode", "A85"):
            data = ASCII85Decode.decode(data)
        elif f in ("LZWDecode", "LZW"):
            data = LZWDecode.decode(data)
        elif f in ("RunLengthDecode", "RL"):
            data = RunLengthDecode.decode(data)
        else:
            break  # an image codec: what is left is what there is to match
    return data


def _raw(data: bytes, found: _Streams) -> Iterator[Layer]:
    """Streams of objects pypdf did not list, found by scanning for ``N G obj`` as ClamAV does."""
    for match in _OBJ.finditer(data):
        if match.start() in found.done:
            continue
        end_obj = data.find(b"endobj", match.end())
        stream = _STREAM.search(data, match.end(), end_obj if end_obj >= 0 else len(data))
        if stream is None:
            continue
        end = data.find(b"endstream", stream.end())
        raw = data[stream.end() : end if end >= 0 else len(data)].removesuffix(b"\n").removesuffix(b"\r")
        try:
            decoded = _raw_decode(raw, data[match.end() : stream.start()])
        except Exception as exc:  # noqa: BLE001 - pypdf's codecs raise what they like on garbage
            found.trouble(SkipReason.CORRUPT, f"object {int(match.group(1))} does not decode ({exc})")
            decoded = raw
        if end < 0:
            found.trouble(SkipReason.CORRUPT, f"object {int(match.group(1))} truncated")
        if decoded:
            yield found.layer(f"stream {int(match.group(1))}", decoded)


def decode_pdf(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    from pypdf.errors import LimitReachedError, PyPdfError

    found = _Streams(name, budget)
    try:
        yield from _library(data, found)
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        if isinstance(exc, LimitReachedError):
            found.trouble(SkipReason.ARCHIVE_LIMIT, str(exc))
        else:
            found.trouble(SkipReason.CORRUPT, f"PDF structure damaged ({type(exc).__name__}: {exc})")
    yield from _raw(data, found)  # unlisted objects: old revisions, hidden objects, or all of a damaged file
    if found.problem:
        raise Undecodable(*found.problem)


def _claims(head: bytes, name: str) -> bool:
    return b"%PDF-" in head[:1024] and name != NORMALISED


DECODER = register(Decoder("pdf", _claims, guarded("PDF", decode_pdf)))
