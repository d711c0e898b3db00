"""The on-disk cache of compiled signature sets, in the folder given to `load_signatures`.

``set-<version>.{meta,tables,yarx}`` hold a set (counts and notes; the pickled tables; the compiled rules, masked),
and ``stamp-<stamp>`` names the version the sources with that `sources_stamp` hold, so that an unchanged set is
found again from a ``stat`` of each source. The tables are read back only when some file must be matched. The
most recently used sets are kept.
"""

from __future__ import annotations

import io
import os
import pickle
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import yara_x

from .. import markers
from .signature_set import MatchTables, SignatureSet

__all__ = ["KEEP_SETS", "cached_version", "load_cached", "store", "prune", "remember"]

_META_FIELDS = ("counts", "unsupported", "sources", "notes")
_TABLE_FIELDS = ("hash_index", "section_index", "patterns", "logical", "pattern_owner", "markers", "text_pass")


#: The compiled rules are stored through this byte substitution (and read back through its inverse): yara-x's
#: serialized form holds every pattern in the clear, and a scan of the cache folder, or another antivirus on the
#: host, would find the EICAR string and every ClamAV pattern in it. ``bytes.translate`` runs at about 800 MB/s.
_MASK = bytes((i * 167 + 91) & 0xFF for i in range(256))
_UNMASK = bytes(_MASK.index(i) for i in range(256))


def _load_tables(tables_fh: BinaryIO, yarx_fh: BinaryIO) -> MatchTables:
    rules = yara_x.Rules.deserialize_from(io.BytesIO(yarx_fh.read().translate(_UNMASK)))
    fields = pickle.load(tables_fh)
    if fields.get("markers") != markers.VERSION:  # compiled by another fleetscan: rebuilt, so markers are found
        raise ValueError("signature set compiled with other markers")
    return MatchTables(rules=rules, **{k: fields[k] for k in _TABLE_FIELDS})


def _close_all(handles: list[BinaryIO]) -> None:
    for fh in handles:
        fh.close()


def load_cached(base: Path, version: str, rebuild: Callable[[], SignatureSet]) -> SignatureSet | None:
    """The cached set, its tables read on first use.

    Their files are opened now: an open file stays readable if another process prunes the cache or the folder is
    deleted in between. Tables that no longer load (a yara-x upgrade changed the format) are rebuilt from the
    sources and stored again, so that happens once.
    """
    handles: list[BinaryIO] = []
    try:
        with base.with_suffix(".meta").open("rb") as fh:
            meta = pickle.load(fh)
        for suffix in (".tables", ".yarx"):
            handles.append(base.with_suffix(suffix).open("rb"))
    except Exception:  # a missing or unreadable cache entry is rebuilt, never trusted
        _close_all(handles)
        return None

    def tables() -> MatchTables:
        try:
            return _load_tables(*handles)
        except Exception:
            rebuilt = rebuild()
            store(base, rebuilt)
            return rebuilt.tables
        finally:
            _close_all(handles)

    sigset = SignatureSet(version=version, tables_or_loader=tables, **{k: meta[k] for k in _META_FIELDS})
    weakref.finalize(sigset, _close_all, handles)  # a set whose tables were never needed
    return sigset


def store(base: Path, sigset: SignatureSet) -> None:
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        for suffix, write in (
            (".tables", lambda fh: pickle.dump({k: getattr(sigset.tables, k) for k in _TABLE_FIELDS}, fh)),
            (".yarx", lambda fh: fh.write(sigset.rules_bytes.translate(_MASK))),
            (".meta", lambda fh: pickle.dump({k: getattr(sigset, k) for k in _META_FIELDS}, fh)),  # last: the mark
        ):
            tmp = base.with_suffix(suffix + ".tmp")
            with tmp.open("wb") as fh:
                write(fh)
            os.replace(tmp, base.with_suffix(suffix))
    except OSError as exc:
        sigset.notes.append(f"signature cache not written: {exc}")


#: Cached sets kept, the one just loaded among them (it was just marked as the newest): each ClamAV database
#: update makes a new one.
KEEP_SETS = 3


def prune(cache_dir: Path, keep: str) -> None:
    """Drop all but the most recently used cached sets, and all but the newest stamps that point to them."""
    def newest_first(pattern: str) -> list[Path]:
        return sorted(cache_dir.glob(pattern), key=lambda m: m.stat().st_mtime_ns, reverse=True)

    kept = {keep} | {m.stem.removeprefix("set-") for m in newest_first("set-*.meta")[:KEEP_SETS]}
    stamps = [f for f in newest_first("stamp-*") if not f.name.endswith(".tmp")]
    for f in cache_dir.iterdir():
        if f.name.endswith(".tmp"):  # being written by another process
            continue
        if f.name.startswith("set-") and f.name.split(".", 1)[0].removeprefix("set-") not in kept:
            f.unlink(missing_ok=True)
    for n, f in enumerate(stamps):
        if n >= 2 * KEEP_SETS or f.read_text().strip() not in kept:
            f.unlink(missing_ok=True)


def cached_version(cache_dir: Path, stamp: str) -> str | None:
    """The version of the set the sources with this stamp hold, if the cache knows it."""
    try:
        return (cache_dir / f"stamp-{stamp}").read_text().strip() or None
    except OSError:
        return None


def remember(cdir: Path, stamp: str, sigset: SignatureSet) -> None:
    """Point the stamp at the set and mark the set as just used; a cache that cannot be written is only slower."""
    try:
        meta = cdir / f"set-{sigset.version}.meta"
        if meta.exists():
            os.utime(meta)
            mark = cdir / f"stamp-{stamp}"
            if not mark.exists():
                tmp = mark.with_suffix(".tmp")
                tmp.write_text(sigset.version)
                os.replace(tmp, mark)
                prune(cdir, sigset.version)
    except OSError as exc:
        sigset.notes.append(f"signature cache not updated: {exc}")
