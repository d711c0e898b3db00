"""Signature sources on disk: finding them (files, or folders walked in order), reading them, what they look like
(`sources_stamp`, from ``stat`` alone) and what they hold (`sources_version`, from their contents); parsing each by
its suffix into `SignatureParts`, ClamAV containers unpacked and verified on the way."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .clamav import METADATA_SUFFIXES, parse_clamav_db
from .cvd import CONTAINER_SUFFIXES, CvdError, read_cvd
from .hashes import HASH_LIST_SUFFIXES, parse_hash_list
from .model import SignatureParts
from .yara import YARA_SUFFIXES

__all__ = ["SignatureSourceError", "DamagedSignatures", "Source", "FORMAT_VERSION", "read_sources", "parse_sources",
           "read_parts", "sources_stamp", "sources_version"]

#: Bumped when translation or grouping changes, so that caches keyed by the version are invalidated.
FORMAT_VERSION = "fleetscan-sig-4"


class SignatureSourceError(Exception):
    """A signature path does not exist or cannot be read, or a source is damaged (and that was not accepted)."""


class DamagedSignatures(SignatureSourceError):
    """Sources that cannot be used, whole or in part: what ``ignore_bad`` would accept, unlike a missing path."""

    def __init__(self, damaged: dict[str, str], shown: int = 5) -> None:
        self.damaged = dict(damaged)
        items = list(damaged.items())
        listed = "; ".join(f"{source}: {why}" for source, why in items[:shown])
        more = f"; and {len(items) - shown} more" if len(items) > shown else ""
        super().__init__(f"signature source{'s' if len(items) > 1 else ''} not usable: {listed}{more}")


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _add_file(name: str, data: bytes, origin: str, parts: SignatureParts, notes: list[str], explicit: bool) -> None:
    suffix = _suffix(name)
    parts.sources.append((origin, hashlib.sha256(data).hexdigest()))
    if suffix in CONTAINER_SUFFIXES:
        try:
            container = read_cvd(data, suffix)
        except CvdError as exc:
            parts.unsupported.damage(origin, f"unusable container: {exc}")
            return
        header = container.header
        notes.append(
            f"{origin}: ClamAV container version {header.version} ({header.signatures} signatures declared), "
            f"{container.trust}"
        )
        for member, content in container.members:
            _add_file(member, content, f"{origin}/{member}", parts, notes, explicit=False)
        return
    text = data.decode("utf-8", "replace")
    if suffix in YARA_SUFFIXES:
        parts.yara_sources.append((origin, text))
    elif suffix in HASH_LIST_SUFFIXES:
        parse_hash_list(text, origin, parts)
    elif parse_clamav_db(suffix, text, origin, parts):
        pass
    elif explicit:  # named by the user: they meant it to hold signatures
        parts.unsupported.damage(origin, f"unrecognised signature file ({suffix or 'no suffix'})")
    elif suffix not in METADATA_SUFFIXES:
        parts.unsupported.add(f"unrecognised signature file ({suffix or 'no suffix'})", origin)


def _iter_files(path: Path) -> Iterable[tuple[Path, bool]]:
    path = path.expanduser()
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for fn in sorted(filenames):
                yield Path(dirpath) / fn, False
    elif path.exists():
        yield path, True
    else:
        raise SignatureSourceError(f"signature path not found: {path}")


def sources_stamp(paths: Sequence[str | os.PathLike[str]]) -> str:
    """What the signature sources look like on disk: every file's path, size, mtime, ctime and inode.

    Equal stamps mean equal contents, by the rule the verdict cache applies to scanned files, so a cached set is
    found again without reading its sources (a ClamAV database is hundreds of megabytes), and an agent notices that
    freshclam replaced a database by a ``stat`` of each file.
    """
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for p in paths:
        for f, explicit in _iter_files(Path(p)):
            try:
                st = f.stat()
            except OSError as exc:
                raise SignatureSourceError(f"cannot read {f}: {exc}") from exc
            h.update(f"{f}\0{explicit}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_dev}\0"
                     f"{st.st_ino}\n".encode())
    return h.hexdigest()[:16]


Source = tuple[str, bytes, bool]
"""(path, content, given explicitly rather than found in a folder)"""


def read_sources(paths: Sequence[str | os.PathLike[str]]) -> list[Source]:
    out: list[Source] = []
    for p in paths:
        for f, explicit in _iter_files(Path(p)):
            try:
                out.append((str(f), f.read_bytes(), explicit))
            except OSError as exc:
                raise SignatureSourceError(f"cannot read {f}: {exc}") from exc
    return out


def parse_sources(sources: Sequence[Source]) -> tuple[SignatureParts, list[str]]:
    parts = SignatureParts()
    notes: list[str] = []
    for origin, data, explicit in sources:
        _add_file(os.path.basename(origin), data, origin, parts, notes, explicit)
    return parts, notes


def read_parts(paths: Sequence[str | os.PathLike[str]]) -> tuple[SignatureParts, list[str]]:
    return parse_sources(read_sources(paths))


def sources_version(sources: Sequence[Source]) -> str:
    """A digest of the contents and of each file's suffix (which decides how it is read), not of the names."""
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for digest in sorted(f"{_suffix(path)}:{hashlib.sha256(data).hexdigest()}" for path, data, _ in sources):
        h.update(digest.encode())
    return h.hexdigest()[:16]
