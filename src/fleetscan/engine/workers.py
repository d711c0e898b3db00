"""Matching one file: open it safely, hash it if a hash signature has its size, run yara-x, then walk its layers.

A file is a tree of layers (the bytes on disk, an archive's members, a stream's content, a mail's parts, ...): each
layer is matched, then every decoder that claims it (`decoders.claiming`) yields the layers inside, which are
matched and decoded in turn, depth first, within one `Budget` per file. A layer a decoder recognises but cannot open
is a *problem* of the file (member chain, skip reason, detail): a file with no detection and a problem is not
scanned, never clean; a file with a detection keeps its problems.

This runs in worker processes because yara-x's Python binding holds the GIL during a scan, so threads do not
scale. Results cross the process boundary as small tuples; files are opened by the worker, never read by the
parent. yara-x reads the file itself (through ``/proc/self/fd`` so that it scans exactly the file opened here)
unless the bytes are already in memory for hashing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yara_x

from . import markers
from .clamd import Clamd
from .decoders import Decoder, Undecodable, Unopened, claiming
from .decoders import content as _content  # noqa: F401  (importing it registers the content decoders)
from .decoders import text as _text
from .decoders.archive import EMBEDDED, probe, searched
from .decoders.text import NORMALISED
from .exotic import Read, second_opinion
from .filetypes import HEAD_SIZE, classify
from .limits import ArchiveLimitExceeded, ArchiveLimits, Budget
from .pe import pe_sections
from .results import CLEAN, DETECTED, SKIPPED, FileResult, HitTuple, Problem, Severity, SkipReason, add_hit
from .signatures.clamav_match import MatchReader
from .signatures.hashes import HashIndex
from .signatures.ldb import matches_needed
from .signatures.signature_set import LogicalRule, PatternInfo, SignatureSet
from .signatures.text_pass import TextPass
from .throttle import Throttle
from .walk import open_path

__all__ = ["WorkerConfig", "Matcher", "FileResult", "HitTuple", "init_worker", "scan_batch", "CLEAN", "DETECTED",
           "SKIPPED"]

#: Problems kept per file; the first one names the file's skip reason when nothing was detected.
MAX_PROBLEMS = 20

#: Files up to this size are read into memory when they must be hashed, so yara-x scans the same bytes.
IN_MEMORY_MAX = 32 * 1024 * 1024
#: Files up to this size are always read into memory in one call and scanned from there.
SMALL_FILE = 64 * 1024
READ_CHUNK = 1024 * 1024
_PROC_FD = os.path.isdir("/proc/self/fd")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)
_HIGH = Severity.HIGH.value



@dataclass
class WorkerConfig:
    """Everything a worker needs, picklable: it is sent to each worker process once, when it starts."""

    rules_bytes: bytes
    hash_index: HashIndex
    section_index: HashIndex
    patterns: list[PatternInfo]
    logical: list[LogicalRule] = field(default_factory=list)
    pattern_owner: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    classes: frozenset[int] = frozenset()
    scan_archives: bool = True
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    cpu_share: float | None = None
    bytes_per_second: float | None = None
    nice: int = 0
    timeout: int = 120
    max_matches: int = 1000
    clamd: str | None = None
    """A clamd address (socket path or host:port) for formats only libclamav opens; None: they are not scanned."""
    pattern_pass: bool = True
    """False: hashes only, no yara-x pass (ScanOptions.pattern_pass)."""
    markers: bool = False
    """The rules hold the `markers` the decoders name: a decoder is asked only about layers where it was seen."""
    text_pass: TextPass = TextPass.FULL
    """The normalised-text pass the signatures need (`signatures.text_pass`)."""

    @classmethod
    def from_sigset(cls, sigset: SignatureSet, **kwargs: Any) -> WorkerConfig:
        return cls(
            rules_bytes=sigset.rules_bytes,
            hash_index=sigset.hash_index,
            section_index=sigset.section_index,
            patterns=sigset.patterns,
            logical=sigset.tables.logical,
            pattern_owner=sigset.tables.pattern_owner,
            max_matches=max([1000, *(matches_needed(expr) for *_, expr in sigset.tables.logical)]),
            markers=sigset.tables.markers == markers.VERSION,
            text_pass=sigset.tables.text_pass,
            **kwargs,
        )


class Matcher:
    """One per worker process: the deserialized rules, a yara-x scanner and the signature tables."""

    def __init__(self, cfg: WorkerConfig, rules: yara_x.Rules | None = None) -> None:
        import io

        self.cfg = cfg
        self.rules = rules if rules is not None else yara_x.Rules.deserialize_from(io.BytesIO(cfg.rules_bytes))
        self.scanner = yara_x.Scanner(self.rules)
        self.scanner.set_timeout(cfg.timeout)
        self.scanner.max_matches_per_pattern(cfg.max_matches)
        self.throttle = Throttle(cfg.cpu_share, cfg.bytes_per_second)
        self.classes = cfg.classes
        self.clamd = Clamd(cfg.clamd, timeout=cfg.timeout) if cfg.clamd else None
        self.reader = MatchReader(cfg.patterns, cfg.logical, cfg.pattern_owner)
        passes = {TextPass.SKIP: None, TextPass.FOLD: _text.FOLD_DECODER, TextPass.FULL: _text.DECODER}
        # A hash-only sweep matches no pattern: a normalised copy would be matched by nothing.
        self.text_decoder = passes[cfg.text_pass] if cfg.pattern_pass else None
        self.markers_known = cfg.markers and cfg.pattern_pass

    def wanted(self, found: list[Decoder], seen: set[str] | None) -> list[Decoder]:
        """The claiming decoders worth asking about a layer: those whose marker the pattern pass saw in it (`seen`,
        None when it did not look), and the text pass as the signature set needs it (`signatures.text_pass`)."""
        out = []
        for decoder in found:
            if decoder is _text.DECODER:
                if self.text_decoder is not None:
                    out.append(self.text_decoder)
            elif decoder.marker is None or seen is None or decoder.marker in seen:
                out.append(decoder)
        return out

    # -- matching -------------------------------------------------------------------------------------------------

    def _hash_hits(self, source: bytes | int, size: int, head: bytes, member: str | None,
                   out: list[HitTuple]) -> None:
        """Whole-content and PE section hashes of a layer, in memory (``bytes``) or a file (its descriptor). Only
        sizes some signature has are hashed."""
        algos = self.cfg.hash_index.algos_for(size)
        if algos:
            for name, typ in self.cfg.hash_index.lookup(size, _digests(source, algos)):
                add_hit(out, (name, typ, _HIGH, None, member))
        if len(self.cfg.section_index) and head[:2] == b"MZ":
            if isinstance(source, bytes):
                data = source
                self._section_hits(lambda off, n: data[off : off + n], data[:65536], size, member, out)
            else:
                fd = source
                self._section_hits(lambda off, n: os.pread(fd, n, off), os.pread(fd, 65536, 0), size, member, out)

    def _section_hits(self, read: Any, head: bytes, size: int, member: str | None, out: list[HitTuple]) -> None:
        index = self.cfg.section_index
        for off, n in pe_sections(head, size):
            algos = index.algos_for(n)
            if not algos:
                continue
            chunk = read(off, n)
            if len(chunk) != n:
                continue
            for name, typ in index.lookup(n, _digests(chunk, algos)):
                add_hit(out, (name, typ, _HIGH, off, member))

    def scan_bytes(self, data: bytes, member: str | None, out: list[HitTuple], *, hashes: bool = True
                   ) -> set[str] | None:
        """Hash and match one in-memory buffer (an archive member), without recursion; return the markers seen in
        it (None: not known). `hashes=False` for a normalised copy of a text, which ClamAV matches with patterns
        only: its hash is nobody's file's."""
        if hashes:
            self._hash_hits(data, len(data), data, member, out)
        if self.cfg.pattern_pass:
            seen = self.reader.read(self.scanner.scan(data), len(data), member, out)
            return seen if self.markers_known else None
        return None

    def second_opinion(self, head: bytes, read: Read, stream: Callable[[Clamd], list[str]], size: int, name: str,
                       data: bytes | None, where: str, problems: list[Problem], out: list[HitTuple]) -> None:
        """Formats only libclamav opens go to clamd, or are reported as needing it (see exotic.py): the file itself
        (`where` empty; one whose own layers left a problem and nothing detected is shown to clamd too) and every
        leaf layer inside it that no decoder opened, so an archive never makes such a member clean."""
        first = problems[0] if problems and not where else None
        dets, problem = second_opinion(self.clamd, head, read, size, name, data, first, bool(out) and not where,
                                       stream)
        for sig, typ, sev, off, _member in dets:
            add_hit(out, (sig, typ, sev, off, where or None))
        if problem is not None:
            problems.append(problem._replace(where=where))

    # -- one file ---------------------------------------------------------------------------------------------------

    def scan_path(self, path: str) -> FileResult:
        try:
            try:
                fd = open_path(path, _OPEN_FLAGS | _NOATIME)
            except PermissionError:
                fd = open_path(path, _OPEN_FLAGS)  # O_NOATIME needs ownership; retry honestly without it
        except PermissionError as exc:
            return _skip(SkipReason.PERMISSION_DENIED, exc.strerror or "permission denied")
        except FileNotFoundError:
            return _skip(SkipReason.READ_ERROR, "vanished before it was read")
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return _skip(SkipReason.SYMLINK, "became a symlink before it was read")
            return _skip(SkipReason.READ_ERROR, exc.strerror or str(exc))
        try:
            st = os.fstat(fd)
            # What was read, as the walk saw it: the scanner caches the verdict only when the two agree, so a file
            # swapped between the walk and the open cannot lend its verdict to another.
            opened = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            status, dets, reason, detail, nbytes, problems = self._scan_fd(fd, path, st)
            return status, dets, reason, detail, nbytes, opened, problems
        except OSError as exc:
            return _skip(SkipReason.READ_ERROR, exc.strerror or str(exc))
        except yara_x.TimeoutError:
            return _skip(SkipReason.READ_ERROR, f"scan timed out after {self.cfg.timeout} s")
        except yara_x.ScanError as exc:
            return _skip(SkipReason.READ_ERROR, f"scan error: {exc}")
        finally:
            os.close(fd)

    def _scan_fd(self, fd: int, path: str, st: os.stat_result
                 ) -> tuple[int, list[HitTuple], str | None, str, int, list[Problem]]:
        if not stat.S_ISREG(st.st_mode):
            return SKIPPED, [], SkipReason.SPECIAL_FILE, "not a regular file when opened", 0, []
        size = st.st_size
        # Small files are read whole in one call: cheaper than yara-x opening and mapping them again.
        data: bytes | None = os.pread(fd, SMALL_FILE + 1, 0) if size <= SMALL_FILE else None
        head = data[:HEAD_SIZE] if data is not None else os.pread(fd, HEAD_SIZE, 0)
        if self.classes:
            cls = classify(head, path)
            if cls not in self.classes:
                return SKIPPED, [], SkipReason.EXCLUDED, f"file type {cls.name.lower()}", 0, []
        out: list[HitTuple] = []
        if data is not None and len(data) != size:
            data = None  # the file is changing under us: read it whole below, or let yara-x read it
        if data is None and size <= IN_MEMORY_MAX and self.cfg.hash_index.algos_for(size):
            data = _read_all(fd, size)  # hashed and matched from memory: both see the same bytes
        self._hash_hits(data if data is not None else fd, size, head, None, out)
        seen: set[str] | None = None
        if self.cfg.pattern_pass:  # False: hashes only (a sweep)
            if data is not None:
                res = self.scanner.scan(data)
            else:
                res = self.scanner.scan_file(f"/proc/self/fd/{fd}" if _PROC_FD else path)
            seen = self.reader.read(res, size, None, out)
            if not self.markers_known:
                seen = None
        problems: list[Problem] = []
        name = os.path.basename(path)
        if self.cfg.scan_archives:
            layers = _Layers(self, Budget(self.cfg.limits, archive_size=size), out, problems)
            if data is None and searched(head) and not claiming(head, name):
                data = _read_all(fd, size)  # searched whole for an archive inside: read once
            if data is not None:
                found = layers.decoders_for(head, name, data, seen)
            else:
                found = self.wanted(claiming(head, name), seen)
                if not found and probe(head, lambda off, n: os.pread(fd, n, off), size):
                    found = [EMBEDDED]
            if found:
                layers.expand(found, data if data is not None else _read_all(fd, size), name, "", 1)
        buf = data  # the whole file when it is in memory anyway
        self.second_opinion(
            head,
            lambda off, n: buf[off : off + n] if buf is not None else os.pread(fd, n, off),
            lambda clamd: clamd.scan_bytes(buf) if buf is not None else clamd.scan_fd(fd),
            size, name, buf, "", problems, out,
        )
        if self.throttle.active:
            self.throttle.account(size)
        if out:
            return DETECTED, out, None, "", size, problems
        if problems:
            where, reason, detail = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return SKIPPED, [], reason, (f"{where}: {detail}" if where else detail) + more, size, problems
        return CLEAN, out, None, "", size, problems


class _Layers:
    """The walk over the layers of one file: match a layer, ask the decoders that claim it for the layers inside,
    recurse. Limits are charged to one budget: a limit on one member is that member's problem and the walk goes on;
    a limit on the whole file (expanded size, ratio, member count) ends the walk, after what was expanded before it
    has been matched.

    A class rather than a recursive closure: a closure that refers to itself is a reference cycle, which would keep
    the yara-x scanner alive until the garbage collector frees it, possibly from another thread, which yara-x's
    scanner does not allow.
    """

    __slots__ = ("matcher", "budget", "out", "problems")

    def __init__(self, matcher: Matcher, budget: Budget, out: list[HitTuple], problems: list[Problem]) -> None:
        self.matcher = matcher
        self.budget = budget
        self.out = out
        self.problems = problems

    def limit_hit(self, where: str) -> None:
        """A limit on the whole file ended the walk: one problem, at the innermost layer it cut."""
        if not any(p.reason == SkipReason.ARCHIVE_LIMIT and p.detail == self.budget.exhausted for p in self.problems):
            self.problem(where, SkipReason.ARCHIVE_LIMIT, self.budget.exhausted or "archive limit")

    def problem(self, where: str, reason: str, detail: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(where, str(reason), detail))

    def decoders_for(self, head: bytes, name: str, data: bytes, seen: set[str] | None) -> list[Decoder]:
        """The decoders that claim a layer by its first bytes and name (and are worth asking, `Matcher.wanted`) or,
        failing that, the search for an archive inside it (`probe` looks at two fixed offsets, and searches only
        executables and images)."""
        found = self.matcher.wanted(claiming(head, name), seen)
        if not found and probe(head, lambda off, n: data[off : off + n], len(data)):
            found = [EMBEDDED]
        return found

    def expand(self, decoders: list[Decoder], data: bytes, name: str, chain: str, depth: int) -> None:
        lim = self.budget.limits
        for decoder in decoders:
            if self.budget.exhausted:
                return
            if depth > lim.max_depth:
                self.problem(chain, SkipReason.ARCHIVE_LIMIT, f"nesting deeper than {lim.max_depth} at {chain or name}")
                return
            items = decoder.decode(data, name, self.budget)
            where = chain
            try:
                for item in items:
                    where = f"{chain}!{item.name}" if chain else item.name
                    if isinstance(item, Unopened):
                        self.problem(where, item.reason, item.detail)
                        continue
                    if item.name == NORMALISED:
                        # ClamAV matches a text's normalised form as the text itself: a hit is the text's own, under
                        # its chain, and the copy is neither a member nor anything to decode further.
                        where = chain
                        self.matcher.scan_bytes(item.data, chain or None, self.out, hashes=False)
                        continue
                    self.budget.count_member(where)
                    self.layer(item.data, os.path.basename(item.name), where, depth)
                    if self.budget.exhausted:
                        self.limit_hit(where)
                        break
            except Undecodable as exc:
                self.problem(chain, exc.reason, exc.detail)
            except ArchiveLimitExceeded:
                self.limit_hit(where)
            except yara_x.TimeoutError:
                self.problem(where, SkipReason.READ_ERROR, "scan of an expanded layer timed out")
            except Exception as exc:  # a decoder's bug must cost its layer, not the batch of files
                self.problem(chain, SkipReason.READ_ERROR, f"{decoder.name} decoder failed: {exc!r}")
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

    def layer(self, data: bytes, name: str, where: str, depth: int) -> None:
        seen = self.matcher.scan_bytes(data, where, self.out)
        head = data[:HEAD_SIZE]
        found = self.decoders_for(head, name, data, seen)
        if found:
            self.expand(found, data, name, where, depth + 1)
        else:
            self.matcher.second_opinion(head, lambda off, n: data[off : off + n], lambda c: c.scan_bytes(data),
                                        len(data), name, data, where, self.problems, self.out)


def _skip(reason: SkipReason, detail: str) -> FileResult:
    return SKIPPED, [], reason, detail, 0, None, []


def _read_all(fd: int, size: int) -> bytes:
    chunks = []
    off = 0
    while True:
        chunk = os.pread(fd, max(READ_CHUNK, size - off + 1), off)
        if not chunk:
            break
        chunks.append(chunk)
        off += len(chunk)
    return b"".join(chunks)


def _digests(source: bytes | int, algos: set[str]) -> dict[str, str]:
    """Hex digests of a buffer, or of a whole file read through its descriptor in chunks, one pass for all."""
    if isinstance(source, bytes):
        return {a: hashlib.new(a, source).hexdigest() for a in algos}
    hashers = {a: hashlib.new(a) for a in algos}
    off = 0
    while True:
        chunk = os.pread(source, 8 * READ_CHUNK, off)
        if not chunk:
            break
        for h in hashers.values():
            h.update(chunk)
        off += len(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


# -- process-pool entry points -----------------------------------------------------------------------------------

_matcher: Matcher | None = None


def init_worker(cfg: WorkerConfig) -> None:
    global _matcher
    if cfg.nice:
        try:
            os.nice(cfg.nice)
        except OSError:
            pass
    _matcher = Matcher(cfg)


def scan_batch(paths: list[str]) -> list[FileResult]:
    assert _matcher is not None, "init_worker was not called"
    return [_matcher.scan_path(p) for p in paths]
