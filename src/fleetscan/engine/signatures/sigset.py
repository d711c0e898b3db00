"""Loading every signature source into one :class:`SignatureSet` with a content version.

All byte patterns (YARA rules, translated ClamAV body patterns, EICAR) are compiled into one yara-x ``Rules``.
ClamAV patterns are packed into few rules of many patterns each, grouped by target type, because yara-x's per-file
cost grows with the number of rules, not patterns; which pattern fired, and whether its ClamAV offset holds, is
decided after the match from the pattern's identifier.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import yara_x

from .clamav import METADATA_SUFFIXES, parse_clamav_db
from .cvd import CONTAINER_SUFFIXES, CvdError, read_cvd
from .eicar import EICAR_NAMESPACE, EICAR_RULE
from .hashes import HASH_LIST_SUFFIXES, HashIndex, parse_hash_list
from .ldb import holds_unmatched
from .model import BodyPattern, Expr, SignatureParts, UnsupportedReport
from .yara import YARA_SUFFIXES, count_rules

__all__ = ["SignatureSet", "MatchTables", "SignatureError", "DamagedSignatures", "load_signatures", "PatternInfo",
           "LogicalRule", "BODY_NAMESPACE", "LOGICAL_NAMESPACE"]


#: Bumped when translation or grouping changes, so that caches keyed by the version are invalidated.
FORMAT_VERSION = "fleetscan-sig-4"
BODY_NAMESPACE = "clamav_body"
LOGICAL_NAMESPACE = "clamav_logical"
#: Patterns per generated rule: enough to keep the rule count (and per-file cost) small.
PATTERNS_PER_RULE = 1000

PatternInfo = tuple[str, str, int, int]
"""(name, offset kind, start, span) of a translated body pattern, indexed by its ``$p<n>`` identifier."""
LogicalRule = tuple[str, int, "tuple[int, int] | None", Expr]
"""(name, target type, file size range, expression) of a usable logical signature."""

_TARGET_GUARDS = {
    0: "",
    1: "uint16(0) == 0x5A4D",
    2: "uint32be(0) == 0xD0CF11E0",
    5: "(uint32be(0) == 0x89504E47 or uint16be(0) == 0xFFD8 or uint32be(0) == 0x47494638 or uint16be(0) == 0x424D"
    " or uint32be(0) == 0x49492A00 or uint32be(0) == 0x4D4D002A)",
    6: "uint32be(0) == 0x7F454C46",
    9: "uint32be(0) == 0xFEEDFACE or uint32be(0) == 0xFEEDFACF or uint32be(0) == 0xCEFAEDFE"
    " or uint32be(0) == 0xCFFAEDFE or uint32be(0) == 0xCAFEBABE",
    10: "uint32be(0) == 0x25504446",
    11: "uint16be(1) == 0x5753 and (uint8(0) == 0x46 or uint8(0) == 0x43 or uint8(0) == 0x5A)",
    12: "uint32be(0) == 0xCAFEBABE",
}


class SignatureError(Exception):
    """A signature path does not exist or cannot be read, or a source is damaged (and that was not accepted)."""


class DamagedSignatures(SignatureError):
    """Sources that cannot be used, whole or in part: what ``ignore_bad`` would accept, unlike a missing path."""

    def __init__(self, damaged: dict[str, str], shown: int = 5) -> None:
        self.damaged = dict(damaged)
        items = list(damaged.items())
        listed = "; ".join(f"{source}: {why}" for source, why in items[:shown])
        more = f"; and {len(items) - shown} more" if len(items) > shown else ""
        super().__init__(f"signature source{'s' if len(items) > 1 else ''} not usable: {listed}{more}")


@dataclass
class MatchTables:
    """What matching needs: the compiled rules and the tables that name what matched."""

    rules: yara_x.Rules
    hash_index: HashIndex
    section_index: HashIndex
    patterns: list[PatternInfo]
    logical: list[LogicalRule] = field(default_factory=list)
    pattern_owner: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    """Pattern id -> (index in ``logical``, subsignature) for the patterns that are logical subsignatures; None for
    those of a signature that could not be used (another of its subsignatures did not compile), which must match
    nothing on their own."""


@dataclass
class SignatureSet:
    """A signature set's identity and counts, with its match tables.

    The tables may be given as a loader: a rescan in which every file is unchanged never matches anything, so it
    should not pay for reading the compiled rules and hash tables back from the cache.
    """

    version: str
    counts: dict[str, int]
    unsupported: UnsupportedReport
    tables_or_loader: MatchTables | Callable[[], MatchTables]
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stamp: str = ""
    """:func:`sources_stamp` of the paths it was loaded from: when that changes, the set is stale."""
    cache_dir: str | None = None
    """Where its compiled form is kept, if anywhere: a folder scans never enter (it is fleetscan's own)."""
    _rules_bytes: bytes | None = None

    @property
    def tables(self) -> MatchTables:
        if not isinstance(self.tables_or_loader, MatchTables):
            self.tables_or_loader = self.tables_or_loader()
        return self.tables_or_loader

    @property
    def rules(self) -> yara_x.Rules:
        return self.tables.rules

    @property
    def hash_index(self) -> HashIndex:
        return self.tables.hash_index

    @property
    def section_index(self) -> HashIndex:
        return self.tables.section_index

    @property
    def patterns(self) -> list[PatternInfo]:
        return self.tables.patterns

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def rules_bytes(self) -> bytes:
        """The compiled rules serialized once, to hand to worker processes."""
        if self._rules_bytes is None:
            buf = io.BytesIO()
            self.rules.serialize_into(buf)
            self._rules_bytes = buf.getvalue()
        return self._rules_bytes

    def summary(self) -> dict[str, object]:
        return {
            "version": self.version,
            "counts": dict(self.counts),
            "total": self.total,
            "unsupported": dict(self.unsupported.counts),
            "unsupported_total": self.unsupported.total,
            "unsupported_examples": {k: list(v) for k, v in self.unsupported.examples.items()},
            "damaged": dict(self.unsupported.damaged),
            "sources": list(self.sources),
            "notes": list(self.notes),
        }


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
        raise SignatureError(f"signature path not found: {path}")


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
                raise SignatureError(f"cannot read {f}: {exc}") from exc
            h.update(f"{f}\0{explicit}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_dev}\0"
                     f"{st.st_ino}\n".encode())
    return h.hexdigest()[:16]


Source = tuple[str, bytes, bool]
"""(path, content, given explicitly rather than found in a folder)"""


def _read_sources(paths: Sequence[str | os.PathLike[str]]) -> list[Source]:
    out: list[Source] = []
    for p in paths:
        for f, explicit in _iter_files(Path(p)):
            try:
                out.append((str(f), f.read_bytes(), explicit))
            except OSError as exc:
                raise SignatureError(f"cannot read {f}: {exc}") from exc
    return out


def _parse(sources: Sequence[Source]) -> tuple[SignatureParts, list[str]]:
    parts = SignatureParts()
    notes: list[str] = []
    for origin, data, explicit in sources:
        _add_file(os.path.basename(origin), data, origin, parts, notes, explicit)
    return parts, notes


def read_parts(paths: Sequence[str | os.PathLike[str]]) -> tuple[SignatureParts, list[str]]:
    return _parse(_read_sources(paths))


def _group_source(rule: str, guard: str, ids: Sequence[int], patterns: Sequence[BodyPattern], ep: bool) -> str:
    strings = "\n".join(f"    $p{i} = {patterns[i].string}" for i in ids)
    cond = "any of them" if not guard else f"({guard}) and any of them"
    imports = 'import "pe"\nimport "elf"\n' if ep else ""
    return f"{imports}rule {rule} {{\n  strings:\n{strings}\n  condition:\n    {cond}\n}}\n"


def _add_group(
    compiler: yara_x.Compiler,
    rule: str,
    guard: str,
    ids: list[int],
    patterns: Sequence[BodyPattern],
    ep: bool,
    rejected: dict[int, str],
    accepted: set[int],
) -> None:
    """Add a pattern group; on a compile error, bisect so only the offending patterns are lost (and counted)."""
    try:
        compiler.add_source(_group_source(rule, guard, ids, patterns, ep), origin=rule)
        accepted.update(ids)
        return
    except yara_x.CompileError as exc:
        if len(ids) == 1:
            rejected[ids[0]] = (str(exc).splitlines()[0] if str(exc) else "compile error")[:80]
            return
    mid = len(ids) // 2
    _add_group(compiler, f"{rule}a", guard, ids[:mid], patterns, ep, rejected, accepted)
    _add_group(compiler, f"{rule}b", guard, ids[mid:], patterns, ep, rejected, accepted)


def _compile(parts: SignatureParts) -> tuple[MatchTables, dict[str, int]]:
    compiler = yara_x.Compiler()
    counts: dict[str, int] = {}
    for n, (origin, text) in enumerate(parts.yara_sources):
        compiler.new_namespace(f"y{n}")
        try:
            compiler.add_source(text, origin=origin)
            counts["yara"] = counts.get("yara", 0) + count_rules(text)
        except yara_x.CompileError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "compile error"
            parts.unsupported.damage(origin, f"YARA rule file rejected by yara-x: {first[:80]}", origin,
                                     count_rules(text))
    compiler.new_namespace(EICAR_NAMESPACE)
    compiler.add_source(EICAR_RULE, origin="builtin:eicar")
    counts["eicar"] = 1
    # Logical subsignatures join the body patterns: one pass over the file matches them all.
    patterns = list(parts.patterns)
    owner: dict[int, tuple[int, int]] = {}
    for k, sig in enumerate(parts.logical):
        for j, sub in enumerate(sig.subsigs):
            owner[len(patterns)] = (k, j)
            patterns.append(sub)
    compiler.new_namespace(BODY_NAMESPACE)
    groups: dict[tuple[int, bool], list[int]] = {}
    for i, pat in enumerate(patterns):
        groups.setdefault((pat.target, pat.offset_kind == "ep"), []).append(i)
    accepted: set[int] = set()
    rejected: dict[int, str] = {}
    for (target, ep), ids in sorted(groups.items()):
        for chunk_no, start in enumerate(range(0, len(ids), PATTERNS_PER_RULE)):
            rule = f"ndb_t{target}{'_ep' if ep else ''}_{chunk_no}"
            chunk = ids[start : start + PATTERNS_PER_RULE]
            _add_group(compiler, rule, _TARGET_GUARDS[target], chunk, patterns, ep, rejected, accepted)
    for i, why in rejected.items():
        if i not in owner:
            parts.unsupported.add(f"body pattern rejected by yara-x: {why}", patterns[i].name)
    if accepted - owner.keys():
        counts["body-pattern"] = len(accepted - owner.keys())
    logical, pattern_owner = _usable_logical(parts, owner, rejected)
    if logical:
        counts["logical"] = len(logical)
    # A signature that holds with no subsignature matched (``0=0&...`` aside, ``0<2``) is evaluated on every file
    # of its type: these rules say which types a file is.
    compiler.new_namespace(LOGICAL_NAMESPACE)
    for target in sorted({t for _, t, _, expr in logical if t and holds_unmatched(expr)}):
        compiler.add_source(f"rule ldb_t{target} {{\n  condition:\n    {_TARGET_GUARDS[target]}\n}}\n")
    tables = MatchTables(
        rules=compiler.build(),
        hash_index=HashIndex(parts.hashes),
        section_index=HashIndex(parts.section_hashes),
        patterns=[(p.name, p.offset_kind, p.start, p.span) for p in patterns],
        logical=logical,
        pattern_owner=pattern_owner,
    )
    return tables, counts


def _usable_logical(
    parts: SignatureParts, owner: dict[int, tuple[int, int]], rejected: dict[int, str]
) -> tuple[list[LogicalRule], dict[int, tuple[int, int] | None]]:
    """The logical signatures all of whose subsignatures compiled, numbered afresh; the others are counted."""
    lost = {owner[i][0]: why for i, why in rejected.items() if i in owner}
    renumber: dict[int, int] = {}
    logical: list[LogicalRule] = []
    for k, sig in enumerate(parts.logical):
        if k in lost:
            parts.unsupported.add(f"logical signature: subsignature rejected by yara-x: {lost[k]}", sig.name)
            continue
        renumber[k] = len(logical)
        logical.append((sig.name, sig.target, sig.file_size, sig.expr))
    return logical, {i: (renumber[k], j) if k in renumber else None for i, (k, j) in owner.items()}


def _version(sources: Sequence[Source]) -> str:
    """A digest of the contents and of each file's suffix (which decides how it is read), not of the names."""
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for digest in sorted(f"{_suffix(path)}:{hashlib.sha256(data).hexdigest()}" for path, data, _ in sources):
        h.update(digest.encode())
    return h.hexdigest()[:16]


def _build(sources: Sequence[Source], version: str) -> SignatureSet:
    parts, notes = _parse(sources)
    tables, counts = _compile(parts)
    if parts.hashes:
        counts["hash"] = len(parts.hashes)
    if parts.section_hashes:
        counts["pe-section-hash"] = len(parts.section_hashes)
    return SignatureSet(
        version=version,
        counts=counts,
        unsupported=parts.unsupported,
        tables_or_loader=tables,
        sources=[origin for origin, _ in parts.sources],
        notes=notes,
    )


_META_FIELDS = ("counts", "unsupported", "sources", "notes")
_TABLE_FIELDS = ("hash_index", "section_index", "patterns", "logical", "pattern_owner")


#: The compiled rules are stored through this byte substitution (and read back through its inverse): yara-x's
#: serialized form holds every pattern in the clear, and a scan of the cache folder, or another antivirus on the
#: host, would find the EICAR string and every ClamAV pattern in it. ``bytes.translate`` runs at about 800 MB/s.
_MASK = bytes((i * 167 + 91) & 0xFF for i in range(256))
_UNMASK = bytes(_MASK.index(i) for i in range(256))


def _load_tables(tables_fh: BinaryIO, yarx_fh: BinaryIO) -> MatchTables:
    rules = yara_x.Rules.deserialize_from(io.BytesIO(yarx_fh.read().translate(_UNMASK)))
    fields = pickle.load(tables_fh)
    return MatchTables(rules=rules, **{k: fields[k] for k in _TABLE_FIELDS})


def _close_all(handles: list[BinaryIO]) -> None:
    for fh in handles:
        fh.close()


def _load_cached(base: Path, version: str, rebuild: Callable[[], SignatureSet]) -> SignatureSet | None:
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
            _store(base, rebuilt)
            return rebuilt.tables
        finally:
            _close_all(handles)

    sigset = SignatureSet(version=version, tables_or_loader=tables, **{k: meta[k] for k in _META_FIELDS})
    weakref.finalize(sigset, _close_all, handles)  # a set whose tables were never needed
    return sigset


def _store(base: Path, sigset: SignatureSet) -> None:
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


#: Cached sets kept besides the one just loaded: each ClamAV database update makes a new one.
KEEP_SETS = 3


def _prune(cache_dir: Path, keep: str) -> None:
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


def load_signatures(
    paths: Sequence[str | os.PathLike[str]] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    ignore_bad: bool = False,
) -> SignatureSet:
    """Read YARA, hash-list and ClamAV sources (files or folders) into one set; EICAR is always included.

    A damaged source (see :class:`UnsupportedReport`) is a :class:`DamagedSignatures` naming it, unless
    ``ignore_bad``: then what could be read is used and the rest counted. ``~`` in paths is the user's home.

    With ``cache_dir`` the parsed tables and compiled rules are kept under the set's version (a digest of the
    sources' contents), and the version under the sources' :func:`sources_stamp`. Reloading an unchanged set, as
    every rescan does, then costs a ``stat`` of each source and reading a small pickle: the sources are not read,
    and the compiled tables are read back only once a file must be matched. The cache directory must be as trusted
    as the code (it holds pickles): the CLI uses the user's own cache folder, the agent its state folder.
    """
    stamp = sources_stamp(paths)  # before reading: a source changed meanwhile gets a new stamp next time
    cdir = Path(cache_dir).expanduser() if cache_dir is not None else None
    version: str | None = None
    sources: list[Source] | None = None
    if cdir is not None:
        try:
            version = (cdir / f"stamp-{stamp}").read_text().strip() or None
        except OSError:
            version = None
    if version is None:
        sources = _read_sources(paths)
        version = _version(sources)
    sigset: SignatureSet | None = None
    if cdir is not None:
        expected = version

        def rebuild() -> SignatureSet:
            again = _read_sources(paths)
            if _version(again) != expected:
                raise SignatureError("the signature sources changed during the scan")
            return _build(again, expected)

        sigset = _load_cached(cdir / f"set-{version}", version, rebuild)
    if sigset is None:
        if sources is None:  # the stamp pointed to a set that is gone: read the sources after all
            sources = _read_sources(paths)
            version = _version(sources)
        sigset = _build(sources, version)
        if cdir is not None:
            _store(cdir / f"set-{version}", sigset)
    sigset.stamp = stamp
    if cdir is not None:
        sigset.cache_dir = str(cdir)
        _remember(cdir, stamp, sigset)
    if sigset.unsupported.damaged and not ignore_bad:
        raise DamagedSignatures(sigset.unsupported.damaged)
    return sigset


def _remember(cdir: Path, stamp: str, sigset: SignatureSet) -> None:
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
                _prune(cdir, sigset.version)
    except OSError as exc:
        sigset.notes.append(f"signature cache not updated: {exc}")
