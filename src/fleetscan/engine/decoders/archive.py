"""Archives and compressed streams, through libarchive; Deflate64 zip members through inflate64.

libarchive is asked for real archive formats only (zip, 7z, rar, rar5, tar, cpio, cab, iso9660, ar, xar, lha)
and every compression filter. It never gets the formats that bid on plain text (mtree, the raw bid on anything):
a gzipped CSV is not an mtree archive, and its 20,000 "mtree" warnings never reach a terminal (libarchive-c's
warnings are silenced here, and the archive's own errors become skip reasons). A compressed stream that no
archive format reads is opened a second time as one raw stream, so a `.gz` whose content starts with zero
blocks (which the tar reader takes for an empty archive) is still decompressed and matched.

What this decoder recognises it never calls clean without reading: an encrypted member or header is
`encrypted`, a truncated or damaged one `corrupt`, an unknown method or format (implode, ARJ) `unsupported`.
One member over `max_member_size` is skipped alone and the archive goes on; a member cut by a limit on the
whole file is matched as far as it was expanded before the walk stops.

Archives inside other files (a self-extracting zip behind an ELF or PE stub, a zip or 7z appended to an image,
an ISO 9660 image, whose magic sits at 32769) are found by `probe`, which the layer walk asks only when no
decoder claimed the layer by its first bytes, and which costs a look at two fixed offsets, plus a search of the
bytes of executables and images.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ctypes import c_void_p, cast, create_string_buffer, string_at
from typing import Any

from libarchive import ffi
from libarchive.entry import ArchiveEntry
from libarchive.exception import ArchiveError

from ..filetypes import is_archive
from ..headers import is_arj
from ..limits import ArchiveLimitExceeded, Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, Unopened, register
from .archive_7z import extract_7z, seven_zip

__all__ = ["ARCHIVE", "ARJ", "EMBEDDED", "probe", "searched", "decode_archive", "decode_embedded"]

BLOCK = 256 * 1024
_FORMATS = ("zip", "7zip", "rar", "rar5", "tar", "cpio", "cab", "iso9660", "ar", "xar", "lha")
#: Files searched for an archive inside: PE executables (self-extracting stubs) and images (appended archives).
_SEARCHED = (b"MZ", b"\xff\xd8\xff", b"\x89PNG", b"GIF8")
#: Formats whose members are skipped by decompressing them (solid or compressed as a whole).
_SOLID = (b"7-Zip", b"RAR", b"CAB", b"lha", b"xar")
_ZIP_METHODS = frozenset({0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 18, 19, 20, 93, 94, 95, 96, 97, 98, 99})
_STREAM_SUFFIXES = (".gz", ".tgz", ".bz2", ".tbz", ".xz", ".txz", ".lzma", ".zst", ".lz4", ".lz", ".z", ".gzip")
#: Single compressed streams: what no archive format reads is decompressed as one raw stream.
_STREAMS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x5d\x00\x00", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18", b"LZIP",
            b"\x1f\x9d")

# libarchive-c logs every ARCHIVE_WARN through this logger; with no handler Python prints them on stderr.
_log = logging.getLogger("libarchive")
_log.addHandler(logging.NullHandler())
_log.propagate = False


def reason_for(message: str) -> SkipReason:
    """A libarchive error message as a skip reason: the library has no error codes for these cases."""
    m = message.lower()
    if "encrypt" in m or "passphrase" in m or "password" in m:
        return SkipReason.ENCRYPTED
    if "unsupported" in m or "not supported" in m:
        return SkipReason.UNSUPPORTED
    return SkipReason.CORRUPT


def _message(exc: ArchiveError) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


@contextmanager
def _reader(raw_only: bool) -> Iterator[Any]:
    archive_p = ffi.read_new()
    try:
        ffi.get_read_filter_function("all")(archive_p)
        for fmt in () if raw_only else _FORMATS:
            try:
                ffi.get_read_format_function(fmt)(archive_p)
            except (ValueError, ArchiveError):  # a reader this build of libarchive lacks
                pass
        # raw bids least: it takes only a (decompressed) stream no archive format reads.
        ffi.get_read_format_function("raw")(archive_p)
        yield archive_p
    finally:
        ffi.read_free(archive_p)


def _filtered(archive_p: Any) -> bool:
    """Whether libarchive decompressed the stream (a filter other than 'none' is in the chain)."""
    return bool(ffi.filter_count(archive_p) > 1)


def _stream_name(name: str) -> str:
    base = os.path.basename(name)
    low = base.lower()
    for suffix in _STREAM_SUFFIXES:
        if low.endswith(suffix) and len(base) > len(suffix):
            stem = base[: -len(suffix)]
            return stem + ".tar" if suffix in (".tgz", ".tbz", ".txz") else stem
    return "data"


def _read_member(archive_p: Any, declared: int, budget: Budget, where: str, cap: int) -> tuple[bytes, bool]:
    """The member's data up to ``cap`` bytes, charged to the budget block by block, and whether it was cut
    there. A limit on the whole file raises `ArchiveLimitExceeded` with what was read so far attached."""
    size = min(BLOCK, declared + 1) if declared > 0 else BLOCK
    buf = create_string_buffer(size)
    chunks: list[bytes] = []
    got = 0
    while True:
        try:
            n = ffi.read_data(archive_p, buf, size)
        except ArchiveError as exc:
            exc.partial = b"".join(chunks)  # type: ignore[attr-defined]
            raise
        if n <= 0:
            break
        take = min(n, cap - got)
        chunks.append(string_at(buf, take))
        got += take
        try:
            budget.charge(take, where)
        except ArchiveLimitExceeded as exc:
            exc.partial = b"".join(chunks)  # type: ignore[attr-defined]
            raise
        if got >= cap:
            # Past the cap: the rest of this member is not read (the next header skips it).
            return b"".join(chunks), ffi.read_data(archive_p, buf, 1) > 0
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), False


def _drain(archive_p: Any, budget: Budget, where: str) -> None:
    buf = create_string_buffer(BLOCK)
    while (n := ffi.read_data(archive_p, buf, BLOCK)) > 0:
        budget.charge(n, where)


def _walk(data: bytes, name: str, budget: Budget, raw_only: bool, state: dict[str, Any]) -> Iterator[Layer | Unopened]:
    """One pass of libarchive over ``data``; ``state`` says what it saw: "filtered" (a compression filter
    decoded the stream), "entries" (headers read), "error" (the error that ended the pass)."""
    lim = budget.limits
    state["entries"] = 0
    with _reader(raw_only) as archive_p:
        try:
            ffi.read_open_memory(archive_p, cast(data, c_void_p), len(data))  # type: ignore[arg-type]
        except ArchiveError as exc:  # no reader bid on it
            state["error"] = exc
            return
        state["filtered"] = _filtered(archive_p)
        while True:
            entry = ArchiveEntry(archive_p, "utf-8")
            try:
                if ffi.read_next_header2(archive_p, entry._entry_p) == ffi.ARCHIVE_EOF:
                    return
            except ArchiveError as exc:
                state["error"] = exc
                return
            if not state["entries"] and ffi.format_name(archive_p) == b"raw":
                if not state["filtered"]:  # neither compressed nor an archive any reader knows
                    state["unreadable"] = True
                    return
                raw_only = True
            state["entries"] += 1
            # ar members written by `ar rc` carry a mode without a file type: a member is a file unless it says
            # it is something else.
            if entry.filetype not in (0, 0o100000):
                continue
            if raw_only:
                member = _stream_name(name)
            else:
                try:
                    member = entry.pathname or "data"
                except UnicodeDecodeError:
                    member = "data"
            declared = entry.size if ffi.entry_size_is_set(entry._entry_p) else 0
            if declared > lim.max_member_size:
                yield Unopened(member, SkipReason.ARCHIVE_LIMIT,
                               f"member of {declared} bytes over the {lim.max_member_size} bytes member limit")
                if state["filtered"] or (ffi.format_name(archive_p) or b"").startswith(_SOLID):
                    # Skipping it means decompressing it: charged, so that a bomb member stops at a limit.
                    try:
                        _drain(archive_p, budget, member)
                    except ArchiveError as exc:
                        state["error"] = exc
                        return
                continue
            try:
                content, cut = _read_member(archive_p, declared, budget, member, lim.max_member_size)
            except ArchiveLimitExceeded as exc:
                yield Layer(member, getattr(exc, "partial", b""))
                raise
            except ArchiveError as exc:
                partial = getattr(exc, "partial", b"")
                if partial:
                    yield Layer(member, partial)
                msg = _message(exc)
                low = msg.lower()
                if "(9: deflate64)" in low or "method (9" in low:
                    yield from _deflate64(data, member, budget)
                elif "implode" in low or "method (6" in low:
                    yield from _by_7z(data, budget, member, "zip method implode")
                else:
                    yield Unopened(member, reason_for(msg), msg)
                if getattr(exc, "retcode", None) == ffi.ARCHIVE_FATAL:
                    state["error"] = exc
                    return
                continue
            yield Layer(member, content)
            if cut:
                yield Unopened(member, SkipReason.ARCHIVE_LIMIT,
                               f"member larger than the {lim.max_member_size} bytes member limit: "
                               f"its first {lim.max_member_size} bytes were scanned")


def decode_archive(data: bytes, name: str, budget: Budget) -> Iterator[Layer | Unopened]:
    """The members of an archive or the content of a compressed stream that starts at offset 0 (or of a
    self-extracting or appended archive libarchive finds by itself)."""
    state: dict[str, Any] = {}
    yield from _walk(data, name, budget, False, state)
    error = state.get("error")
    if state.get("unreadable"):
        raise Undecodable(SkipReason.CORRUPT, "an archive's signature, but no archive reader could open it")
    if not state["entries"] and (state.get("filtered") or data.startswith(_STREAMS)):
        # A compressed stream no archive format read, or whose zero blocks the tar reader took for the end of
        # an empty archive: one raw stream.
        state = {}
        yield from _walk(data, name, budget, True, state)
        error = state.get("error")
    if error is not None:
        msg = _message(error)
        raise Undecodable(reason_for(msg), msg)


def _deflate64(data: bytes, member: str, budget: Budget) -> Iterator[Layer | Unopened]:
    """A Deflate64 zip member (method 9), which libarchive cannot expand, inflated by inflate64 from the raw
    compressed bytes that Python's zipfile locates (it also corrects the offsets of self-extracting zips)."""
    try:
        import inflate64
    except ImportError:  # pragma: no cover - a dependency of the package
        yield Unopened(member, SkipReason.UNSUPPORTED, "zip method Deflate64 needs the inflate64 package")
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo(member)  # header_offset already counts an SFX stub's bytes
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        yield Unopened(member, SkipReason.CORRUPT, f"Deflate64 member not located: {exc}")
        return
    start = info.header_offset
    header = data[start : start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        yield Unopened(member, SkipReason.CORRUPT, "Deflate64 member: bad local header")
        return
    nlen, xlen = struct.unpack("<HH", header[26:30])
    body = data[start + 30 + nlen + xlen : start + 30 + nlen + xlen + info.compress_size]
    inflater = inflate64.Inflater()
    out: list[bytes] = []
    got = 0
    cap = budget.limits.max_member_size
    for i in range(0, len(body), 64 * 1024):
        chunk = inflater.inflate(body[i : i + 64 * 1024])
        chunk = chunk[: cap - got]
        out.append(chunk)
        got += len(chunk)
        try:
            budget.charge(len(chunk), member)
        except ArchiveLimitExceeded as exc:
            yield Layer(member, b"".join(out))
            raise exc
        if got >= cap:
            yield Layer(member, b"".join(out))
            yield Unopened(member, SkipReason.ARCHIVE_LIMIT, f"member larger than the {cap} bytes member limit")
            return
    yield Layer(member, b"".join(out))


# -- archives inside other files ------------------------------------------------------------------------------------


def probe(head: bytes, read: Callable[[int, int], bytes], size: int) -> bool:
    """Whether an archive may sit inside a layer no decoder claimed by its first bytes: an ISO 9660 volume
    descriptor at 32769, a zip's end of central directory at the very end (an archive appended to anything), or
    a PE or image file holding an archive's signature anywhere (a self-extracting 7z or RAR, a zip with a comment
    appended to a JPEG). Only PE files and images are searched, so an ELF binary or a data file costs two reads at
    fixed offsets."""
    if size >= 32774 and read(32769, 5) == b"CD001":
        return True
    if size >= 22 and read(size - 22, 4) == b"PK\x05\x06":
        return True
    if head.startswith(_SEARCHED):
        data = read(0, size)
        return bool(_embedded_offsets(data)) or data.rfind(b"PK\x05\x06", max(0, size - 65_558)) > 0
    return False


def searched(head: bytes) -> bool:
    """Whether `probe` searches a layer with this head for archives inside (it then reads all of it)."""
    return head.startswith(_SEARCHED)


def _embedded_offsets(data: bytes) -> list[int]:
    """Offsets after the start where an archive's signature is found and its header looks real (a zip local
    header with a known method and a sane name length, a 7z or RAR signature with its version bytes), so that
    the bytes "PK\x03\x04" inside a program's code do not make an archive of it."""
    found = []
    off = data.find(b"PK\x03\x04", 1)
    if 0 < off <= len(data) - 30:
        version, _flags, method = struct.unpack_from("<HHH", data, off + 4)
        (name_len,) = struct.unpack_from("<H", data, off + 26)
        if version <= 63 and method in _ZIP_METHODS and 0 < name_len <= 1024:
            found.append(off)
    off = data.find(b"7z\xbc\xaf\x27\x1c", 1)
    if off > 0 and data[off + 6 : off + 7] == b"\x00":
        found.append(off)
    off = data.find(b"Rar!\x1a\x07", 1)
    if off > 0 and data[off + 6 : off + 7] in (b"\x00", b"\x01"):
        found.append(off)
    return sorted(found)


def decode_embedded(data: bytes, name: str, budget: Budget) -> Iterator[Layer | Unopened]:
    """An archive that does not start at offset 0. libarchive finds ISO images, self-extracting zips, 7z and
    RAR by itself from offset 0; otherwise each plausible signature found is decoded from its offset, until one
    gives members. What an attempt could not open is reported once it is plainly an archive (it gave a member,
    or its place is certain: an ISO descriptor, a zip directory ending the file); otherwise it was a coincidence
    of bytes, and nothing is reported."""
    certain = (len(data) >= 32774 and data[32769:32774] == b"CD001") or data[-22:-18] == b"PK\x05\x06"
    attempts = [0, *_embedded_offsets(data)[:3]] if certain or data.startswith(_SEARCHED) else [0]
    for off in attempts:
        held: list[Layer | Unopened] = []
        gave = False
        try:
            for item in decode_archive(data if off == 0 else data[off:], name, budget):
                if isinstance(item, Layer) and not gave:
                    gave = True
                    yield from held
                if gave:
                    yield item
                else:
                    held.append(item)
        except Undecodable:
            if gave or (certain and off == 0 and held):
                raise
            continue
        if gave:
            return
        if certain and off == 0 and held:
            yield from held
            return


def _claims_arj(head: bytes, _name: str) -> bool:
    return is_arj(head)


def _decode_arj(data: bytes, _name: str, budget: Budget) -> Iterator[Layer | Unopened]:
    if seven_zip() is None:
        raise Undecodable(SkipReason.UNSUPPORTED, "ARJ archive: libarchive has no reader, and 7-Zip is not installed")
    yield from extract_7z(data, budget)


def _by_7z(data: bytes, budget: Budget, member: str, what: str) -> Iterator[Layer | Unopened]:
    if seven_zip() is None:
        yield Unopened(member, SkipReason.UNSUPPORTED, f"{what}: libarchive cannot read it, and 7-Zip is not installed")
        return
    try:
        yield from extract_7z(data, budget, only=member)
    except Undecodable as exc:
        yield Unopened(member, exc.reason, exc.detail)


def _claims_archive(head: bytes, _name: str) -> bool:
    return is_archive(head) and not is_arj(head)


ARCHIVE = register(Decoder("archive", _claims_archive, decode_archive))
ARJ = register(Decoder("arj", _claims_arj, _decode_arj))
EMBEDDED = Decoder("embedded-archive", lambda head, name: False, decode_embedded)
"""Not in the registry: the layer walk asks `probe` for it when no decoder claimed a layer."""
