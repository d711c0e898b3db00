"""One subtask's scan with the engine: its options from the work item, its snapshots for reports and resume."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ..engine import Hit, Progress, Scanner, ScanOptions, ScanReport, SignatureSet, SignatureSourceError, Skip
from . import paths
from . import sweep as sweeping
from .findings import finding

#: Example paths a report carries per reason a file was not scanned (the counts are exact).
NOT_SCANNED_EXAMPLES = 5


@dataclass
class ScanSnapshot:
    """What the agent knows at a report: absolute counters, the resume point, every finding so far."""

    files_scanned: int = 0
    files_skipped: int = 0
    bytes_scanned: int = 0
    files_total: int = 0
    percent: int = 0
    checkpoint: str | None = None
    started_at: float = 0.0
    findings: list[dict[str, Any]] = field(default_factory=list)
    detections: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    """Files not scanned, by the engine's skip reason, up to the checkpoint."""
    skip_examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}

    def not_scanned(self) -> list[dict[str, Any]]:
        """The protocol's `not_scanned`: each reason with its count and a few example paths (display form)."""
        return [
            {"reason": reason, "count": n, "examples": [paths.display(p) for p in self.skip_examples.get(reason, [])]}
            for reason, n in sorted(self.skipped.items())
        ]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanSnapshot:
        return cls(**data)

    def as_report(self) -> ScanReport:
        """The engine's report to resume from: its totals must equal what this snapshot counted."""
        detected_files = len({d["path"] for d in self.detections})
        return ScanReport(
            started_at=self.started_at,
            files_clean=self.files_scanned - detected_files,
            files_detected=detected_files,
            bytes_scanned=self.bytes_scanned,
            detections=[Hit.from_dict(d) for d in self.detections],
            skipped=self._resumed_skips(),
            checkpoint=self.checkpoint,
        )

    def _resumed_skips(self) -> dict[str, int]:
        known = dict(self.skipped)
        rest = self.files_skipped - sum(known.values())  # a checkpoint written before reasons were kept
        if rest > 0:
            known["before_resume"] = known.get("before_resume", 0) + rest
        return known


def report_due(p: Progress, last: float | None, interval: float) -> bool:
    """Whether a progress report is due: the first batch at once, then at gaps that double up to `interval`.

    A short scan must not sit at 0% until it ends, nor a long one send a report a second.
    """
    if last is None:
        return p.files_done > 0 or p.elapsed >= interval
    return p.elapsed - last >= min(interval, max(1.0, last))


@dataclass
class Outcome:
    snapshot: ScanSnapshot
    error: str = ""


class ScanJob:
    def __init__(
        self,
        item: dict[str, Any],
        saved: dict[str, Any] | None,
        *,
        signatures: Callable[[], SignatureSet],
        root: str | None,
        state_dir: str,
        workers: int | None = None,
        bytes_per_second: float | None = None,
        cpu_share: float | None = None,
        clamd: str | None = None,
    ) -> None:
        self.item = item
        self.root = root
        self.snapshot = ScanSnapshot.from_dict(saved) if saved else None
        sweep = item.get("sweep") or []
        # A sweep scans with its hashes alone; its set would only evict the usual set's verdicts from the cache.
        self.wanted = sweeping.names(sweep) if sweep else None
        folder = Path(state_dir, "sweeps", str(item.get("subtask_id", "")))
        self.signatures: Callable[[], SignatureSet] = partial(sweeping.load, sweep, folder) if sweep else signatures
        self.options = ScanOptions(
            scan_type=item["scan_type"],
            root=root,
            exclude=tuple(item.get("ignore_paths") or ()),
            file_classes=tuple(item.get("file_types") or ()),
            workers=workers,
            bytes_per_second=bytes_per_second,
            cpu_share=cpu_share,
            clamd=None if sweep else clamd,
            pattern_pass=not sweep,  # a sweep matches its hashes alone: no YARA, ClamAV or clamd pass
            cache_path=None if sweep else os.path.join(state_dir, "verdicts.db"),
            own_folders=(state_dir,),  # its rules, checkpoints and quarantine: never scanned, never quarantined
            # Smaller batches than a one-shot scan: live progress and a close checkpoint matter more here.
            batch_files=16,
            batch_bytes=4 << 20,
        )

    def _finding(self, det: Hit) -> dict[str, Any]:
        real = os.path.join(self.root, det.path.lstrip("/")) if self.root else det.path
        shown = f"{det.path}!{det.member}" if det.member else det.path
        return finding(real, shown, det.signature, det.sig_type, det.severity, det.offset)

    def run(
        self,
        tick: Callable[[ScanSnapshot], None],
        should_stop: Callable[[], bool],
        interval: float,
    ) -> Outcome:
        resume = self.snapshot.as_report() if self.snapshot else None
        snap = self.snapshot or ScanSnapshot()
        found_findings = list(snap.findings)
        found_detections = list(snap.detections)
        skipped = dict(snap.skipped)
        examples = {k: list(v) for k, v in snap.skip_examples.items()}
        last_tick: list[float | None] = [None]  # elapsed seconds at the last report

        def on_detection(det: Hit) -> None:
            if self.wanted is not None and det.signature not in self.wanted:
                return  # a sweep reports the files it asked for, not the built-in EICAR rule's
            found_detections.append(det.to_dict())
            found_findings.append(self._finding(det))

        def on_skip(skip: Skip) -> None:
            reason = str(skip.reason)
            skipped[reason] = skipped.get(reason, 0) + 1
            kept = examples.setdefault(reason, [])
            if len(kept) < NOT_SCANNED_EXAMPLES:
                kept.append(skip.path)

        def on_progress(p: Progress) -> None:
            current = self._snapshot(p, found_findings, found_detections)
            current.skipped, current.skip_examples = dict(skipped), {k: list(v) for k, v in examples.items()}
            if report_due(p, last_tick[0], interval):
                last_tick[0] = p.elapsed
                tick(current)

        try:
            # In the job, so that signatures that cannot be used fail this subtask with their reason, rather
            # than the scan running without them (or not at all, unreported).
            sigset = self.signatures()
        except SignatureSourceError as exc:
            return Outcome(self.snapshot or ScanSnapshot(), f"signatures: {exc}"[:512])
        scanner = Scanner(sigset, self.options)
        targets = list(self.item.get("scan_paths") or ()) if self.options.scan_type == "custom" else []
        try:
            report = scanner.run(
                targets,
                on_progress=on_progress,
                on_detection=on_detection,
                should_stop=should_stop,
                resume=resume,
                on_skip=on_skip,
            )
        except Exception as exc:  # a scan that cannot run ends failed, with its reason
            last = self.snapshot or ScanSnapshot()
            return Outcome(last, f"scan error: {exc!r}"[:512])
        final = ScanSnapshot(
            files_scanned=report.files_scanned,
            files_skipped=report.files_skipped,
            bytes_scanned=report.bytes_scanned,
            files_total=report.files_scanned + report.files_skipped,
            percent=100,
            checkpoint=report.checkpoint,
            started_at=report.started_at,
            findings=found_findings,
            detections=found_detections,
            skipped=skipped,
            skip_examples=examples,
        )
        error = "; ".join(report.errors)[:512] if report.errors and not report.files_scanned else ""
        return Outcome(final, error)

    def _snapshot(self, p: Progress, findings: list[dict[str, Any]], detections: list[dict[str, Any]]) -> ScanSnapshot:
        started = self.snapshot.started_at if self.snapshot else 0.0
        return ScanSnapshot(
            files_scanned=p.files_done - p.skipped,
            files_skipped=p.skipped,
            bytes_scanned=p.bytes_done,
            files_total=p.files_total,
            percent=min(99, int(p.percent)),
            checkpoint=p.checkpoint,
            started_at=started,
            findings=list(findings),
            detections=list(detections),
        )
