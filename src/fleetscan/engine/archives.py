"""Reading archive members through libarchive with hard limits, so that a zip bomb costs bounded time and memory.

Every format libarchive reads is accepted (zip, tar, 7z, cpio, cab, rar, iso, ar, xar...), and single compressed
streams (gzip, bzip2, xz, zstd, lz4, lzma) through its "raw" format. Limits are checked while data is being
expanded, block by block, and the first one hit stops the whole archive: skipping the rest of a compressed
stream would mean decompressing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ctypes import c_void_p, cast, create_string_buffer, string_at
from typing import Any

from libarchive import ffi
from libarchive.exception import ArchiveError
from libarchive.read import ArchiveRead

from .limits import ArchiveLimitExceeded, ArchiveLimits, ArchiveUnreadable, Budget

__all__ = ["ArchiveLimits", "ArchiveLimitExceeded", "ArchiveUnreadable", "Budget", "walk_archive"]

BLOCK = 256 * 1024


@contextmanager
def _reader(fd: int | None, data: bytes | None) -> Iterator[ArchiveRead]:
    archive_p = ffi.read_new()
    try:
        ffi.get_read_filter_function("all")(archive_p)
        ffi.get_read_format_function("all")(archive_p)
        ffi.get_read_format_function("raw")(archive_p)
        if data is not None:
            ffi.read_open_memory(archive_p, cast(data, c_void_p), len(data))  # type: ignore[arg-type]
        else:
            assert fd is not None
            os.lseek(fd, 0, os.SEEK_SET)
            ffi.read_open_fd(archive_p, fd, BLOCK)
        yield ArchiveRead(archive_p)
    finally:
        ffi.read_free(archive_p)


def _read_member(archive_p: Any, declared: int, budget: Budget, where: str) -> bytes:
    """The member's data, charged to the budget block by block (libarchive-c's get_blocks copies a whole
    buffer per block, which dominates for the many small members of typical archives)."""
    size = min(BLOCK, declared + 1) if declared > 0 else BLOCK
    buf = create_string_buffer(size)
    chunks: list[bytes] = []
    got = 0
    limit = budget.limits.max_member_size
    while True:
        n = ffi.read_data(archive_p, buf, size)
        if n <= 0:
            break
        got += n
        if got > limit:
            raise ArchiveLimitExceeded(f"member larger than {limit} bytes at {where}")
        budget.charge(n, where)
        chunks.append(string_at(buf, n))
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


MemberCallback = Callable[[bytes, str, int], None]
"""Called with (member data, member chain such as ``a.tar!x/y.exe``, depth of the member)."""


def walk_archive(
    *,
    fd: int | None,
    data: bytes | None,
    chain: str,
    depth: int,
    budget: Budget,
    on_member: MemberCallback,
) -> bool:
    """Expand one archive level, handing each regular member to ``on_member``.

    Returns False when libarchive does not recognise the content as an archive (nothing was expanded).
    Raises :class:`ArchiveLimitExceeded` or :class:`ArchiveUnreadable`.
    """
    lim = budget.limits
    if depth > lim.max_depth:
        raise ArchiveLimitExceeded(f"nesting deeper than {lim.max_depth} at {chain}")
    seen_any = False
    try:
        with _reader(fd, data) as archive:
            for entry in archive:
                if not seen_any:
                    seen_any = True
                    if archive.format_name == b"raw" and not archive.filter_names:
                        return False
                if not entry.isfile:
                    continue
                budget.members += 1
                name = entry.pathname or "data"
                where = f"{chain}!{name}" if chain else name
                if budget.members > lim.max_members:
                    raise ArchiveLimitExceeded(f"more than {lim.max_members} members at {where}")
                declared = entry.size if ffi.entry_size_is_set(entry._entry_p) else 0
                if declared > lim.max_member_size:
                    raise ArchiveLimitExceeded(f"member of {declared} bytes over {lim.max_member_size} at {where}")
                on_member(_read_member(archive._pointer, declared, budget, where), where, depth)
    except ArchiveError as exc:
        if not seen_any:
            return False
        raise ArchiveUnreadable(f"{chain or 'archive'}: {getattr(exc, 'msg', exc)}") from exc
    return seen_any
