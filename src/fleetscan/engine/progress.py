"""Progress reporting: counters, totals estimated by a cheap pre-walk running alongside, rate and ETA.

The same :class:`Progress` value goes to the CLI's progress bar and to the agent, which forwards it to the server.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .walk import PathFilter, WalkOptions, WalkRoot

__all__ = ["Progress", "PreWalk", "ProgressCallback", "TotalsEstimate"]


@dataclass(frozen=True)
class Progress:
    files_done: int
    bytes_done: int
    files_total: int
    bytes_total: int
    totals_final: bool
    """False while the totals are still an estimate (pre-walk or previous scan of the same scope)."""
    elapsed: float
    detections: int
    skipped: int
    current: str | None
    checkpoint: str | None
    """Every path up to and including this one has its final verdict: resume a stopped scan after it."""

    @property
    def percent(self) -> float:
        if self.bytes_total > 0:
            return min(100.0, 100.0 * self.bytes_done / self.bytes_total)
        if self.files_total > 0:
            return min(100.0, 100.0 * self.files_done / self.files_total)
        return 100.0 if self.totals_final else 0.0

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def files_per_second(self) -> float:
        return self.files_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.bytes_per_second
        if rate <= 0 or self.bytes_total <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / rate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_done": self.files_done,
            "bytes_done": self.bytes_done,
            "files_total": self.files_total,
            "bytes_total": self.bytes_total,
            "totals_final": self.totals_final,
            "elapsed": self.elapsed,
            "percent": self.percent,
            "bytes_per_second": self.bytes_per_second,
            "files_per_second": self.files_per_second,
            "eta": self.eta,
            "detections": self.detections,
            "skipped": self.skipped,
            "current": self.current,
            "checkpoint": self.checkpoint,
        }


ProgressCallback = Callable[[Progress], None]


class PreWalk:
    """Counts the files the scan will visit, in a daemon thread; read ``files`` any time.

    It is cheap on purpose: it prunes the same folders as the scan but never calls ``stat`` (the file type comes
    from the directory entry), so it finishes well ahead of the scan and takes little from it. The byte total is
    estimated by the scanner from the files' mean size so far; both become exact when the walk ends.
    """

    def __init__(self, targets: Iterable[WalkRoot], opts: WalkOptions) -> None:
        self.files = 0
        self.done = False
        self._stop = False
        self._targets = list(targets)
        self._opts = opts
        self._thread = threading.Thread(target=self._run, name="fleetscan-prewalk", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop = True

    def _run(self) -> None:
        flt = PathFilter(self._opts.exclude)
        pruned = self._opts.pruned
        stack: list[tuple[str, str]] = []
        for t in self._targets:
            if os.path.isdir(t.real):
                stack.append((t.real, t.display.rstrip("/")))
            elif os.path.isfile(t.real):
                self.files += 1
        n = 0
        check = bool(self._opts.exclude)  # most scans exclude nothing: a file is then counted without its name
        while stack and not self._stop:
            real, display = stack.pop()
            try:
                with os.scandir(real) as it:
                    for e in it:
                        try:
                            if e.is_dir(follow_symlinks=False):
                                disp = f"{display}/{e.name}"
                                if disp not in pruned and not (check and flt.excluded(disp)):
                                    stack.append((e.path, disp))
                            elif e.is_file(follow_symlinks=False) and not (
                                check and flt.excluded(f"{display}/{e.name}")
                            ):
                                self.files += 1
                        except OSError:
                            continue
            except OSError:
                continue
            n += 1
            if n % 64 == 0:
                time.sleep(0)  # let the scanning thread have the GIL
        self.done = not self._stop


class TotalsEstimate:
    """The totals a progress line shows: estimated while the walk runs, exact once it has ended.

    While walking, the file total is the pre-walk's count and the byte total extrapolates the mean size of the files
    walked so far to the files still ahead. On a rescan, the previous scan of the same scope gives both until the
    pre-walk's count is in, or has passed them: a tree that grew since must not read 99% for the rest of the walk
    (issue 10, "a long scan sat at 99% for a minute"), and a pre-walk is only listing the tree. Neither total is ever
    less than what was walked. A resumed scan's counts include what its report had done. The scanner writes
    ``walked_files`` and ``walked_bytes`` as it walks.
    """

    def __init__(self, files_before: int, bytes_before: int, prewalk: PreWalk | None,
                 prior: tuple[int, int] | None) -> None:
        self.files_before = files_before
        self.bytes_before = bytes_before
        self.prewalk = prewalk
        self.prior = prior
        self.walked_files = 0
        self.walked_bytes = 0

    def so_far(self) -> tuple[int, int]:
        """Files and bytes walked, with those of the resumed report: the exact totals once the walk has ended."""
        return self.files_before + self.walked_files, self.bytes_before + self.walked_bytes

    def estimate(self, walk_done: bool) -> tuple[int, int]:
        files, nbytes = self.so_far()
        if walk_done:
            return files, nbytes
        counted = self.prewalk.files if self.prewalk is not None else 0
        counting = self.prewalk is not None and not self.prewalk.done
        if self.prior is not None and (counting or self.prewalk is None) and counted <= self.prior[0]:
            est_files, est_bytes = self.prior  # the count is not in yet and has not passed the previous scan's
        elif self.prior is not None and self.prior[0] > 0:
            est_files = counted  # the tree changed size since the previous scan: its bytes scale with its files
            est_bytes = self.prior[1] * counted // self.prior[0]
        elif self.prewalk is not None:
            mean = self.walked_bytes / self.walked_files if self.walked_files else 0.0
            est_files = counted
            est_bytes = nbytes + int(max(0, est_files - files) * mean)
        else:
            est_files, est_bytes = self.prior or (0, 0)
        return max(est_files, files), max(est_bytes, nbytes)
