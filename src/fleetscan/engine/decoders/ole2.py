"""OLE2 compound files (``.doc``, ``.xls``, ``.ppt``, ``.msi``, ...): every stream a contiguous layer, VBA source
decompressed.

An OLE2 file stores a stream in 512-byte sectors (64-byte ones for small streams) chained through an allocation
table, in any order: a pattern that crosses a sector boundary is not contiguous on disk, and a hash signature can
only match the reassembled stream. `olefile` (pure Python, no dependencies, the reader ``oletools`` builds on)
reassembles them. VBA macros are stored compressed (MS-OVBA 2.4.1) at an offset the project's ``dir`` stream gives;
the decompression and the ``dir`` records are implemented here (60 lines) rather than pulling in ``oletools``, whose
dependencies (pyparsing, colorclass, easygui, msoffcrypto-tool with cryptography) are far larger than that.

Layers are named by the stream's path (``Macros/VBA/Module1``) and ``<path> (VBA source)`` for a module's
decompressed code. The file an OLE1 package wraps (an ``\x01Ole10Native`` stream) and PowerPoint's
embedded objects (zlib-compressed ``ExOleObjStg`` records) are layers too, as ClamAV opens them. Limits:
streams per file, and the member size per stream (a stream over it is skipped alone).
An encrypted document (``EncryptedPackage``, PowerPoint's ``EncryptedSummary``, Word's ``fEncrypted`` flag, an
Excel ``FILEPASS`` record) is ``encrypted`` after its streams.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Generator, Iterator

from ..limits import Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, register
from .guard import guarded

__all__ = ["MAGIC", "MAX_STREAMS", "decode_ole2", "decompress_vba", "ole10native", "vba_modules"]

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Streams read per file; a real document has tens, an MSI hundreds.
MAX_STREAMS = 10_000


def decompress_vba(data: bytes, limit: int) -> bytes:
    """MS-OVBA 2.4.1 decompression of a CompressedContainer. Raises ValueError on damage (what decoded so far is
    in the exception's second argument)."""
    if not data or data[0] != 1:
        raise ValueError("no compressed container signature", b"")
    out = bytearray()
    pos = 1
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("chunk header truncated", bytes(out))
        (header,) = struct.unpack_from("<H", data, pos)
        declared_end = pos + (header & 0x0FFF) + 3
        chunk_end = min(declared_end, len(data))
        if (header >> 12) & 7 != 3:
            raise ValueError(f"bad chunk signature at {pos}", bytes(out))
        pos += 2
        start = len(out)
        if not header & 0x8000:  # an uncompressed chunk: 4,096 bytes as they are
            out += data[pos : pos + 4096]
            pos += 4096
            if pos > len(data):
                raise ValueError("uncompressed chunk truncated", bytes(out))
            continue
        while pos < chunk_end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                if pos + 2 > chunk_end:
                    raise ValueError("copy token truncated", bytes(out))
                (token,) = struct.unpack_from("<H", data, pos)
                pos += 2
                bit_count = max((len(out) - start - 1).bit_length(), 4)
                offset = (token >> (16 - bit_count)) + 1
                length = (token & (0xFFFF >> bit_count)) + 3
                if offset > len(out) - start:
                    raise ValueError(f"copy token before the chunk's start at {pos - 2}", bytes(out))
                src = len(out) - offset
                if offset >= length:
                    out += out[src : src + length]
                else:
                    for i in range(length):
                        out.append(out[src + i])
        if declared_end > len(data):
            raise ValueError("chunk truncated", bytes(out))
        if len(out) > limit:
            raise OverflowError(f"VBA source over {limit} bytes")
    return bytes(out)


def vba_modules(dir_stream: bytes) -> list[tuple[str, int]]:
    """(module stream name, source offset) from a decompressed ``dir`` stream's records (MS-OVBA 2.3.4.2)."""
    modules: list[tuple[str, int]] = []
    pos, stream, offset = 0, "", 0
    while pos + 6 <= len(dir_stream):
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        pos += 6
        if rid == 0x0009:  # PROJECTVERSION: its "size" is a reserved 4, followed by 6 bytes
            size = 6
        value = dir_stream[pos : pos + size]
        pos += size
        if rid == 0x001A:
            stream = value.decode("latin-1")
        elif rid == 0x0032:
            stream = value.decode("utf-16-le", "replace") or stream
        elif rid == 0x0031 and len(value) == 4:
            (offset,) = struct.unpack("<I", value)
        elif rid == 0x002B:
            modules.append((stream, offset))
            stream, offset = "", 0
        elif rid == 0x0010:
            break
    return modules


def ole10native(data: bytes, sized: bool = True) -> tuple[str, bytes, bool] | None:
    """The file an OLE1 "Package" object wraps (an ``Ole10Native`` stream, or an RTF object's native data, which
    has no size prefix): (its name, its bytes, whether it was cut short), or None when the header does not parse."""
    pos = 4 if sized else 0
    try:
        pos += 2  # type
        end = data.index(b"\0", pos)
        label = data[pos:end]
        end = data.index(b"\0", end + 1)  # the source path
        path = data[data.index(b"\0", pos) + 1 : end]
        pos = end + 1 + 4  # an unknown 32-bit field
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4 + n  # the temporary path, with its NUL
        (size,) = struct.unpack_from("<I", data, pos)
        pos += 4
    except (ValueError, struct.error):
        return None
    content = data[pos : pos + size]
    name = (label or path.replace(b"\\", b"/").rsplit(b"/", 1)[-1]).decode("latin-1").replace("!", "_")
    return name or "package", content, len(content) < size


def _powerpoint(document: bytes, where: str, budget: Budget) -> Iterator[Layer]:
    """Embedded objects in a PowerPoint document stream: ExOleObjStg records, zlib-compressed when their
    instance is 1 (MS-PPT 2.10.34). Each is an OLE2 file of its own; raises on damage after yielding."""
    pending = [(0, len(document))]
    count = 0
    while pending:
        pos, end = pending.pop()
        while pos + 8 <= end:
            ver_inst, rec_type, length = struct.unpack_from("<HHI", document, pos)
            body = pos + 8
            if ver_inst & 0xF == 0xF:
                pending.append((body, min(body + length, end)))
            elif rec_type == 0x1011:
                count += 1
                label = f"PowerPoint Document/object {count}"
                raw = document[body : body + length]
                if ver_inst >> 4 == 1:
                    inflater = zlib.decompressobj()
                    try:
                        raw = inflater.decompress(raw[4:], budget.limits.max_member_size)
                    except zlib.error as exc:
                        raise Undecodable(SkipReason.CORRUPT, f"{label} does not inflate ({exc}) at {where}") from exc
                    if not inflater.eof and inflater.unconsumed_tail:
                        raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"{label} over the member size at {where}")
                budget.charge(len(raw), f"{where}!{label}")
                yield Layer(label, raw)
            pos = body + length


def decode_ole2(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    import olefile

    where = name or "OLE2"
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except (OSError, ValueError, IndexError, struct.error, RecursionError) as exc:
        raise Undecodable(SkipReason.CORRUPT, f"OLE2 structure damaged ({exc}) at {where}") from exc
    problem: tuple[SkipReason, str] | None = None
    cap = budget.limits.max_member_size
    with ole:
        try:
            paths = ole.listdir(streams=True, storages=False)
        except RecursionError as exc:  # a directory whose entries point back at each other
            raise Undecodable(SkipReason.CORRUPT, f"OLE2 directory loops at {where}") from exc
        if len(paths) > MAX_STREAMS:
            problem = (SkipReason.ARCHIVE_LIMIT, f"more than {MAX_STREAMS} streams at {where}")
        streams: dict[str, tuple[str, bytes]] = {}  # by lower-cased path: VBA names streams in any case
        for entry in paths[:MAX_STREAMS]:
            path = _display("/".join(entry))
            try:
                if ole.get_size(entry) > cap:
                    problem = problem or (SkipReason.ARCHIVE_LIMIT, f"stream over {cap} bytes at {where}!{path}")
                    continue
                content = ole.openstream(entry).read()
            except (OSError, ValueError, IndexError, struct.error) as exc:
                problem = problem or (SkipReason.CORRUPT, f"stream unreadable ({exc}) at {where}!{path}")
                continue
            budget.charge(len(content), f"{where}!{path}")
            streams[path.lower()] = (path, content)
            yield Layer(path, content)
            leaf = entry[-1].lower()
            if leaf == "\x01ole10native":  # the one stream name that keeps its control character here
                package = ole10native(content)
                if package is not None:
                    label, inner, cut = package
                    budget.charge(len(inner), f"{where}!{path}/{label}")
                    yield Layer(f"{path}/{label}", inner)
                    if cut:
                        problem = problem or (SkipReason.CORRUPT, f"package truncated at {where}!{path}")
            elif leaf == "powerpoint document":
                try:
                    yield from _powerpoint(content, f"{where}!{path}", budget)
                except Undecodable as exc:
                    problem = problem or (exc.reason, exc.detail)
    for key, (path, content) in list(streams.items()):
        if key.endswith("vba/dir"):
            trouble = yield from _vba(key[: -len("dir")], content, streams, f"{where}!{path}", budget)
            problem = problem or trouble
    if ("encryptedpackage" in streams or "encryptedsummary" in streams
            or _word_encrypted(streams.get("worddocument", ("", b""))[1])
            or _excel_encrypted(streams.get("workbook", ("", b""))[1])):
        problem = problem or (SkipReason.ENCRYPTED, f"encrypted document at {where}")
    if problem:
        raise Undecodable(*problem)


def _vba(storage: str, dir_compressed: bytes, streams: dict[str, tuple[str, bytes]], where: str,
         budget: Budget) -> Generator[Layer, None, tuple[SkipReason, str] | None]:
    """The decompressed source of each module of one VBA project; returns the first problem met."""
    cap = budget.limits.max_member_size
    try:
        modules = vba_modules(decompress_vba(dir_compressed, cap))
    except ValueError as exc:
        return SkipReason.CORRUPT, f"VBA dir stream damaged ({exc.args[0]}) at {where}"
    except OverflowError as exc:
        return SkipReason.ARCHIVE_LIMIT, f"{exc} at {where}"
    problem: tuple[SkipReason, str] | None = None
    for stream, offset in modules:
        found = streams.get(f"{storage}{stream}".lower())
        if found is None:
            problem = problem or (SkipReason.CORRUPT, f"VBA module stream {stream!r} missing at {where}")
            continue
        label, content = found
        try:
            source = decompress_vba(content[offset:], cap)
        except ValueError as exc:
            source = exc.args[1]
            problem = problem or (SkipReason.CORRUPT, f"VBA module {stream!r} damaged ({exc.args[0]}) at {where}")
        except OverflowError as exc:
            problem = problem or (SkipReason.ARCHIVE_LIMIT, f"{exc} at {where}")
            continue
        if source:
            budget.charge(len(source), f"{where}!{label}")
            yield Layer(f"{label} (VBA source)", source)
    return problem


_MSI_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._"


def _msi_name(name: str) -> str:
    """An MSI stream name as Windows Installer wrote it: two characters of ``[0-9A-Za-z._]`` packed in each code
    point from U+3800, one in U+4800..U+483F, and U+4840 marking a table (as Wine's ``decode_streamname``)."""
    out: list[str] = []
    for ch in name:
        c = ord(ch)
        if 0x3800 <= c < 0x4800:
            out += (_MSI_ALPHABET[(c - 0x3800) & 0x3F], _MSI_ALPHABET[((c - 0x3800) >> 6) & 0x3F])
        elif 0x4800 <= c < 0x4840:
            out.append(_MSI_ALPHABET[c - 0x4800])
        elif c == 0x4840:
            out.append("table ")
        else:
            out.append(ch)
    return "".join(out)


def _display(path: str) -> str:
    """A stream path as a member name: MSI names decoded, without the control characters OLE2 names start with
    (``\x05Summary...``) and without ``!``, which separates members."""
    return "".join(c for c in _msi_name(path) if c >= " ").replace("!", "_")


def _word_encrypted(word: bytes) -> bool:
    """The FIB's fEncrypted bit (MS-DOC 2.5.2): a .doc whose text streams are encrypted."""
    return len(word) >= 12 and word[:2] in (b"\xec\xa5", b"\xdc\xa5") and bool(word[11] & 0x01)


def _excel_encrypted(book: bytes) -> bool:
    """A FILEPASS record (0x002F) among the workbook globals' first records (MS-XLS 2.4.117): it follows BOF."""
    pos = 0
    for _ in range(64):
        if pos + 4 > len(book):
            return False
        rec, size = struct.unpack_from("<HH", book, pos)
        if rec == 0x002F:
            return True
        if rec == 0x000A:  # EOF of the globals substream
            return False
        pos += 4 + size
    return False


def _claims(head: bytes, name: str) -> bool:
    return head[:8] == MAGIC


DECODER = register(Decoder("ole2", _claims, guarded("OLE2", decode_ole2)))
