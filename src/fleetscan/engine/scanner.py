"""The scan loop: walk, consult the cache, send batches of paths to worker processes, collect verdicts in order.

Verdicts are applied strictly in walk order (a window of batches is in flight, but results are consumed from the
head), so the report's ``checkpoint`` always means "everything up to here is final": a cancelled scan resumes from
it with its counters restored, and the result is the same as an uninterrupted scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cache import VerdictCache
from .filetypes import parse_classes
from .limits import ArchiveLimits
from .locations import own_folders, resolve_scope
from .pool import WorkerDied, WorkerPool
from .progress import PreWalk, Progress, ProgressCallback, TotalsEstimate
from .results import CLEAN, SKIPPED, FileResult, Hit, Problem, ScanReport, Skip, SkipReason
from .signatures.signature_set import SignatureSet
from .throttle import split_cpu_share
from .walk import FileEntry, WalkOptions, walk

if TYPE_CHECKING:
    from .workers import Matcher, WorkerConfig

__all__ = ["ScanOptions", "Scanner", "DEFAULT_MAX_FILE_SIZE"]

DEFAULT_MAX_FILE_SIZE = 256 * 1024 * 1024
#: Outcomes that depend only on content, signatures and options, hence safe to cache.
_CACHEABLE_SKIPS = {SkipReason.ARCHIVE_LIMIT, SkipReason.EXCLUDED, SkipReason.ENCRYPTED, SkipReason.CORRUPT,
                    SkipReason.UNSUPPORTED}


@dataclass
class ScanOptions:
    scan_type: str = "custom"
    root: str | None = None
    """A mounted filesystem scanned as if it were ``/``; paths are reported as seen inside it."""
    exclude: Sequence[str] = ()
    include: Sequence[str] = ()
    file_classes: Sequence[int] = ()
    """HSS classes: 0 all, 1 executable, 2 archive, 3 script, 4 document, 5 image, 6 audio/video."""
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    one_filesystem: bool = True
    follow_symlinks: bool = False
    scan_archives: bool = True
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    workers: int | None = None
    """Worker processes; None: one per core (within ``cpu_share``); 0: match in this process."""
    cpu_share: float | None = None
    """Share of all cores the scan may use, e.g. 0.25; enforced by worker count and duty cycle."""
    bytes_per_second: float | None = None
    nice: int = 0
    cache_path: str | None = None
    own_folders: Sequence[str] = ()
    """Folders fleetscan itself writes (an agent's state folder, a cache): never scanned, like the installed
    package and the signature set's cache folder."""
    prewalk: bool = True
    resume_after: str | None = None
    batch_files: int = 64
    batch_bytes: int = 32 * 1024 * 1024
    progress_interval: float = 0.25
    file_timeout: int = 120
    all_matches: bool = False
    """Report every match in a file; by default a file is one result, as clamscan reports it: the first match
    inside a member when there is one (``a.zip!x.com``), else the first match."""
    clamd: str | None = None
    """clamd's address (unix socket path or ``host:port``): formats only libclamav opens (PE packers, installers,
    CHM, SIS, SZDD, ...) are streamed to it. Without one they are reported as not scanned (``needs_clamd``)."""
    pattern_pass: bool = True
    """Match byte patterns (YARA, ClamAV bodies, EICAR). False matches hashes alone, as a sweep for a file by its
    SHA-256 does: no yara-x pass, and a file no hash signature has the size of is not hashed (archives are still
    opened, for their members)."""

    def __post_init__(self) -> None:
        if self.clamd is not None:  # a bad address fails here, not in every worker process
            from .clamd import parse_address

            parse_address(self.clamd)

    def digest(self) -> str:
        """What, besides the signature version, decides a file's verdict (the cache key)."""
        doc = {
            "classes": sorted(parse_classes(list(self.file_classes))),
            "archives": self.scan_archives,
            "limits": self.archive_limits.to_dict(),
        }
        if self.clamd:  # clamd's verdicts are kept apart from those made without it
            doc["clamd"] = self.clamd
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class _Unit:
    """A run of walk items whose verdicts are applied together, in order."""

    items: list[tuple[FileEntry | Skip, Any]]
    npaths: int = 0
    future: Future[list[FileResult]] | None = None
    results: list[FileResult] | None = None


class Scanner:
    def __init__(self, sigset: SignatureSet, options: ScanOptions | None = None) -> None:
        self.sigset = sigset
        self.options = options or ScanOptions()

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _worker_config(self, per_worker_cpu: float | None, n_workers: int) -> WorkerConfig:
        """Built on the first file that must be matched: the workers module loads yara-x and libarchive, and the
        signature tables load from their cache, none of which a rescan of unchanged files needs."""
        from .workers import WorkerConfig

        o = self.options
        return WorkerConfig.from_sigset(
            self.sigset,
            classes=parse_classes(list(o.file_classes)),
            scan_archives=o.scan_archives,
            limits=o.archive_limits,
            cpu_share=per_worker_cpu,
            bytes_per_second=(o.bytes_per_second / max(1, n_workers)) if o.bytes_per_second else None,
            nice=o.nice,
            timeout=o.file_timeout,
            clamd=o.clamd,
            pattern_pass=o.pattern_pass,
        )

    def _scope_key(self, displays: list[str]) -> str:
        o = self.options
        doc = [o.scan_type, o.root, sorted(displays), list(o.exclude), list(o.include), o.max_file_size,
               o.one_filesystem, o.follow_symlinks]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:16]

    # -- the scan -------------------------------------------------------------------------------------------------

    def run(
        self,
        targets: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
        on_detection: Callable[[Hit], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        resume: ScanReport | None = None,
        on_skip: Callable[[Skip], None] | None = None,
    ) -> ScanReport:
        """Scan ``targets`` (custom scans) or the quick/full locations; ``resume`` continues a stopped report.

        ``on_detection`` and ``on_skip`` are called in walk order, as the report counts them.
        """
        return _ScanRun(self, targets, on_progress, on_detection, should_stop, resume, on_skip).run()


class _ScanRun:
    """One call of :meth:`Scanner.run`: walk and batch, dispatch batches to the workers, drain their verdicts in
    walk order into the ledger, report progress; then release the workers and the cache whatever happened."""

    def __init__(
        self,
        scanner: Scanner,
        targets: Sequence[str],
        on_progress: ProgressCallback | None,
        on_detection: Callable[[Hit], None] | None,
        should_stop: Callable[[], bool] | None,
        resume: ScanReport | None,
        on_skip: Callable[[Skip], None] | None,
    ) -> None:
        self.scanner = scanner
        self.on_progress = on_progress
        self.should_stop = should_stop
        o = self.options = scanner.options
        sigset = scanner.sigset
        self.scope = resolve_scope(o.scan_type, targets, o.root)
        report = self.report = ScanReport.from_dict(resume.to_dict()) if resume is not None else ScanReport()
        report.stopped = False
        report.signature_version = sigset.version
        report.signature_counts = dict(sigset.counts)
        report.unsupported_signatures = dict(sigset.unsupported.counts)
        report.scan_type = o.scan_type
        report.targets = [t.display for t in self.scope.targets]
        report.root = o.root
        self.t0 = time.monotonic()
        self.elapsed_before = report.duration if resume is not None else 0.0
        if resume is None or not report.started_at:
            report.started_at = time.time()
        self.walk_options = WalkOptions(
            exclude=tuple(o.exclude),
            include=tuple(o.include),
            max_file_size=o.max_file_size,
            one_filesystem=o.one_filesystem and self.scope.one_filesystem,
            # Inside a mounted root, absolute links would resolve on the host: never follow them there.
            follow_symlinks=o.follow_symlinks and o.root is None,
            pruned=self.scope.pruned,
            resume_after=resume.checkpoint if resume is not None else o.resume_after,
            own=own_folders([sigset.cache_dir, *o.own_folders]),
        )
        self.cache = VerdictCache(o.cache_path, f"{sigset.version}-{o.digest()}")
        self.scope_key = scanner._scope_key(report.targets)
        prior_totals = self.cache.totals(self.scope_key) if self.walk_options.resume_after is None else None
        self.prewalk: PreWalk | None = None
        # Only for someone reading progress; on a rescan too: the previous totals hold until the count says the
        # tree changed (a rescan's walk pays for a listing in a thread, the price of a figure that means something).
        if o.prewalk and on_progress is not None:
            self.prewalk = PreWalk(self.scope.targets, dataclasses.replace(self.walk_options, resume_after=None))
        self.ledger = _VerdictLedger(report, sigset.version, self.cache, on_detection, on_skip, o.all_matches)
        self.totals = TotalsEstimate(self.ledger.files_before, self.ledger.bytes_before, self.prewalk, prior_totals)
        self.n_workers, self.per_worker_cpu = split_cpu_share(o.cpu_share, os.cpu_count() or 1, o.workers)
        self.pool: WorkerPool | None = None
        self.matcher: Matcher | None = None
        self.units: deque[_Unit] = deque()
        self.last_progress = 0.0
        self.current: str | None = None
        self.walk_done = False

    def run(self) -> ScanReport:
        report = self.report
        stopped = False
        try:
            if self.prewalk is not None:
                self.prewalk.start()
            stopped = not self._walk()
            self.walk_done = not stopped
            self._drain(limit=-1)
        finally:
            # yara-x scanners must be freed on the thread that made them: drop ours here, not whenever the garbage
            # collector gets to this object.
            self.matcher = None
            if self.prewalk is not None:
                self.prewalk.stop()
            if self.pool is not None:
                self.pool.shutdown()
            if self.walk_done:
                self.cache.set_totals(self.scope_key, *self.totals.so_far())
            self.cache.close()  # also when the scan failed: the verdicts it made are good
        report.stopped = stopped
        report.finished_at = report.started_at + self.elapsed_before + (time.monotonic() - self.t0)
        self._emit(force=True)
        return report

    def _walk(self) -> bool:
        """Walk the scope, look each file up in the verdict cache and dispatch the walk in batches; False when the
        caller asked to stop. The loop runs once per file of a rescan, so its counters are locals, handed to the
        totals before each dispatch (the only time progress is read)."""
        o = self.options
        totals = self.totals
        walked_files = walked_bytes = 0
        current = self.current
        lookup = self.cache.get
        max_files, max_bytes = o.batch_files, o.batch_bytes
        window = max(2, 3 * self.n_workers)
        batch: list[tuple[FileEntry | Skip, Any]] = []
        paths: list[str] = []
        batch_bytes = 0
        for item in walk(self.scope.targets, self.walk_options):
            walked_files += 1  # a skip is a verdict too: files_done counts it, so the total must
            if type(item) is FileEntry:
                size = item.size
                walked_bytes += size
                current = item.display
                cached = lookup(item.dev, item.ino, size, item.mtime_ns, item.ctime_ns)
                batch.append((item, cached))
                if cached is None:
                    paths.append(item.path)
                    batch_bytes += size
            else:
                batch.append((item, None))
            if len(batch) < 1024 and len(paths) < max_files and batch_bytes < max_bytes:
                continue
            totals.walked_files, totals.walked_bytes, self.current = walked_files, walked_bytes, current
            self._dispatch(batch, paths)
            batch, paths, batch_bytes = [], [], 0
            if self.should_stop is not None and self.should_stop():
                return False
            self._drain(limit=window)
            self._emit()
        totals.walked_files, totals.walked_bytes, self.current = walked_files, walked_bytes, current
        if batch:
            self._dispatch(batch, paths)
        return True

    def _dispatch(self, batch: list[tuple[FileEntry | Skip, Any]], paths: list[str]) -> None:
        """Queue a batch as a unit, its files to be matched in this process (``workers=0``) or by the pool; the
        workers start on the first file that must be matched, which a rescan of unchanged files never has."""
        unit = _Unit(batch, len(paths))
        if paths:
            if self.options.workers == 0:
                if self.matcher is None:
                    from .workers import Matcher

                    cfg = self.scanner._worker_config(self.per_worker_cpu, 1)
                    self.matcher = Matcher(cfg, rules=self.scanner.sigset.rules)
                unit.results = [self.matcher.scan_path(p) for p in paths]
            else:
                if self.pool is None:
                    cfg = self.scanner._worker_config(self.per_worker_cpu, self.n_workers)
                    self.pool = WorkerPool(self.n_workers, cfg)
                unit.future = self.pool.submit(paths)
        self.units.append(unit)

    def _drain(self, limit: int) -> None:
        """Apply finished units from the head, in order. Wait on the head only while more than ``limit`` batches
        are still being worked on, or too many finished ones queue behind a slow head: a slow batch (a large
        file) must not leave the other workers idle. ``limit < 0``: wait for every unit (the final drain)."""
        units = self.units
        while units:
            head = units[0]
            if head.future is not None:
                if not head.future.done():
                    if limit < 0:
                        futures_wait([head.future])
                        continue
                    busy = [u.future for u in units if u.future is not None and not u.future.done()]
                    if len(busy) <= limit and len(units) <= 64 * max(1, limit):
                        return
                    futures_wait(busy if len(busy) > limit else [head.future], return_when=FIRST_COMPLETED)
                    continue
                try:
                    head.results = head.future.result()
                except WorkerDied as exc:
                    lost: FileResult = (SKIPPED, [], SkipReason.READ_ERROR, f"{exc} while scanning this batch", 0,
                                        None, [])
                    head.results = [lost] * head.npaths
            self.ledger.apply(units.popleft())
            self._emit()

    def _emit(self, force: bool = False) -> None:
        """Report progress, at most once per ``progress_interval`` unless forced."""
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self.last_progress < self.options.progress_interval:
            return
        self.last_progress = now
        files_total, bytes_total = self.totals.estimate(self.walk_done)
        ledger, report = self.ledger, self.report
        self.on_progress(Progress(
            files_done=ledger.files_done,
            bytes_done=ledger.bytes_done,
            files_total=files_total,
            bytes_total=bytes_total,
            totals_final=self.walk_done,
            elapsed=self.elapsed_before + now - self.t0,
            detections=len(report.detections),
            skipped=report.files_skipped,
            current=self.current,
            checkpoint=report.checkpoint,
        ))


class _VerdictLedger:
    """The report's books: applies each unit's verdicts in walk order (counters, detections, skips, checkpoint)
    and records the new ones in the verdict cache."""

    def __init__(self, report: ScanReport, version: str, cache: VerdictCache,
                 on_detection: Callable[[Hit], None] | None,
                 on_skip: Callable[[Skip], None] | None = None, all_matches: bool = False) -> None:
        self.report = report
        self.all_matches = all_matches
        self.version = version
        self.cache = cache
        self.on_detection = on_detection
        self.on_skip = on_skip
        self.files_before = report.files_scanned + report.files_skipped
        self.bytes_before = report.bytes_scanned
        self.files_done = self.files_before
        self.bytes_done = self.bytes_before

    def apply(self, unit: _Unit) -> None:
        results = iter(unit.results or ())
        report = self.report
        clean = clean_bytes = 0  # cached clean files, nearly all of a rescan: counted here, added once
        for item, cached in unit.items:
            if isinstance(item, Skip):
                self._skip(item)
                self.files_done += 1
            elif cached is None:
                status, dets, reason, detail, nbytes, opened, problems = next(results)
                walked = (item.dev, item.ino, item.size, item.mtime_ns, item.ctime_ns)
                self._verdict(item, status, dets, reason, detail, nbytes, problems, store=opened == walked)
            elif cached[0] == CLEAN:
                clean += 1
                clean_bytes += item.size
            else:
                if cached[0] != SKIPPED:  # a cached "not scanned" is not a scanned file's verdict
                    report.files_cached += 1
                dets, reason, detail, *rest = json.loads(cached[1])
                problems = [Problem(*p) for p in rest[0]] if rest else []
                self._verdict(item, cached[0], [tuple(d) for d in dets], reason, detail, item.size, problems,
                              store=False)
        report.files_cached += clean
        report.files_clean += clean
        report.bytes_scanned += clean_bytes
        self.files_done += clean
        self.bytes_done += clean_bytes
        if unit.items:
            last = unit.items[-1][0]
            report.checkpoint = last.display if isinstance(last, FileEntry) else last.path

    def _skip(self, skip: Skip) -> None:
        self.report.add_skip(skip)
        if self.on_skip is not None:
            self.on_skip(skip)

    def _verdict(self, item: FileEntry, status: int, dets: list[Any], reason: str | None, detail: str,
                 nbytes: int, problems: list[Problem], store: bool) -> None:
        report = self.report
        self.files_done += 1
        if status == SKIPPED:
            skip_reason = SkipReason(reason or SkipReason.READ_ERROR)
            self._skip(Skip(item.display, skip_reason, detail))
            report.bytes_scanned += nbytes
            self.bytes_done += item.size
            if store and skip_reason in _CACHEABLE_SKIPS:
                self.cache.put(item.dev, item.ino, item.size, item.mtime_ns, item.ctime_ns, status,
                               [[], reason, detail, [list(p) for p in problems]])
            return
        report.bytes_scanned += item.size
        self.bytes_done += item.size
        if status == CLEAN:
            report.files_clean += 1
        else:
            report.files_detected += 1
            if problems:
                report.add_partial(item.display, problems)
            for sig, typ, sev, off, member in dets if self.all_matches else _one_result(dets):
                det = Hit(item.display, sig, typ, sev, off, member, self.version)
                report.detections.append(det)
                if self.on_detection is not None:
                    self.on_detection(det)
        if store:
            self.cache.put(item.dev, item.ino, item.size, item.mtime_ns, item.ctime_ns, status,
                           [[list(d) for d in dets], None, detail, [list(p) for p in problems]])


def _one_result(dets: list[Any]) -> list[Any]:
    """A file is one result, as clamscan reports it: its first match inside a member when there is one (the
    container's own match of the same bytes, a stored zip's, says less), else its first match."""
    return [next((d for d in dets if d[4]), dets[0])] if dets else []
