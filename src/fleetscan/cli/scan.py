"""``fleetscan scan``: the engine as a local one-shot scanner, with clamscan's output shape and exit codes.

Exit status: 1 when something was detected; otherwise 2 on an error (bad arguments or signatures) or when a file
asked for was not scanned (completely) for a reason the user did not choose (a limit, a container that cannot be
opened, a read error; `--accept REASON` accepts named reasons; exclusions, symlinks not followed and special files
never count); 0 otherwise.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from fleetscan.engine import (
    ArchiveLimits,
    Hit,
    Progress,
    Scanner,
    ScanOptions,
    ScanReport,
    SignatureSet,
    SignatureSourceError,
    SkipReason,
    load_signatures,
)
from fleetscan.engine.results import CHOSEN_SKIPS
from fleetscan.engine.signatures import DamagedSignatures

__all__ = ["scan", "parse_size", "exit_status"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
}
_ACCEPTABLE = sorted(str(r) for r in SkipReason if r not in CHOSEN_SKIPS)


def parse_size(text: str) -> int | None:
    """``100M``, ``2G``, ``512k`` or bytes; ``0``/``none``/``unlimited`` mean no limit."""
    t = text.strip().lower()
    if t in ("0", "none", "unlimited", "inf"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", t)
    if not m or m.group(2) not in _UNITS:
        raise click.BadParameter(f"not a size: {text!r} (examples: 100M, 2G, 4096)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def _size_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    return None if value is None else parse_size(value)


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fleetscan"


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def _summary(report: ScanReport, sigset: SignatureSet, verbose: bool) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(sigset.counts.items()))
    lines = [
        "",
        "----------- SCAN SUMMARY -----------",
        f"Signatures loaded: {sigset.total} ({counts})",
        f"Signature version: {sigset.version}",
    ]
    if sigset.unsupported.total:
        unsup = "; ".join(f"{k}: {v}" for k, v in sorted(sigset.unsupported.counts.items()))
        lines.append(f"Signatures not usable: {sigset.unsupported.total} ({unsup})")
    lines += [
        f"Scanned files: {report.files_scanned}",
        f"Infected files: {report.files_detected}",
        f"Detections: {len(report.detections)}",
        f"Cached verdicts: {report.files_cached}",
    ]
    by_reason = dict(report.skipped)
    for k, v in report.partial.items():
        by_reason[k] = by_reason.get(k, 0) + v
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(by_reason.items()))
    if report.files_partial:
        skipped += f"; {report.files_partial} of them detected"
    lines.append(f"Not scanned: {report.files_not_scanned}" + (f" ({skipped})" if skipped else ""))
    if verbose:
        for reason in sorted(report.skip_examples.keys() | report.partial_examples.keys()):
            for s in report.skip_examples.get(reason, []) + report.partial_examples.get(reason, []):
                lines.append(f"  {reason}: {s.path}" + (f" ({s.detail})" if s.detail else ""))
    dur = report.duration
    rate = report.bytes_scanned / dur / 1e6 if dur > 0 else 0.0
    lines += [
        f"Data scanned: {_mb(report.bytes_scanned)}",
        f"Time: {dur:.3f} sec ({int(dur // 60)} m {int(dur % 60)} s)",
        f"Rate: {rate:.1f} MB/s, {report.files_scanned / dur if dur > 0 else 0.0:.0f} files/s",
    ]
    if report.stopped:
        lines.append(f"Stopped early; resume after: {report.checkpoint}")
    return "\n".join(lines)


def _missing_targets(paths: tuple[str, ...], root: str | None) -> list[str]:
    """``PATH: reason`` for each PATH that cannot be reached, as clamscan names them (the report counts them)."""
    out = []
    for p in paths:
        real = os.path.join(root, p.lstrip("/")) if root else p
        try:
            os.stat(real)
        except OSError as exc:
            out.append(f"{p}: {exc.strerror or exc}")
    return out


def _detection_line(d: Hit) -> str:
    where = f"{d.path}!{d.member}" if d.member else d.path
    return f"{where}: {d.signature} FOUND"


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--type",
    "scan_type",
    type=click.Choice(["custom", "quick", "full"]),
    default=None,
    help="custom (the PATHs, the default), quick (where malware lands) or full (all local filesystems).",
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Scan a mounted filesystem as if it were /; paths are shown as seen inside it.",
)
@click.option(
    "-d",
    "--signatures",
    "signatures",
    multiple=True,
    type=click.Path(),
    help="YARA rules, hash lists or ClamAV databases (.hdb .hsb .mdb .ndb .cvd .cld ...); files or folders. A source "
    "that cannot be used, whole or in part (a malformed line, a YARA file that does not compile, a container whose "
    "digital signature does not verify), is an error (exit 2).",
)
@click.option(
    "--ignore-bad-signatures",
    is_flag=True,
    help="Scan with what the signature sources hold that can be used; the rest is counted (Signatures not usable).",
)
@click.option(
    "--exclude",
    multiple=True,
    help="Glob of paths to skip (matched on the whole path, or the name when it has no '/'); repeatable.",
)
@click.option("--include", multiple=True, help="Only scan files matching one of these globs; repeatable.")
@click.option(
    "--file-types",
    "file_types",
    multiple=True,
    type=click.IntRange(0, 6),
    help="HSS classes: 0 all, 1 executable, 2 archive, 3 script, 4 document, 5 image, 6 audio/video.",
)
@click.option(
    "--max-file-size",
    callback=_size_option,
    default="256M",
    show_default=True,
    help="Larger files are reported as not scanned (too_large); 0 for no limit.",
)
@click.option("--no-archives", is_flag=True, help="Do not look inside archives.")
@click.option("--archive-max-depth", type=int, default=ArchiveLimits.max_depth, show_default=True)
@click.option("--archive-max-members", type=int, default=ArchiveLimits.max_members, show_default=True)
@click.option(
    "--archive-max-size",
    callback=_size_option,
    default="256M",
    show_default=True,
    help="Total bytes expanded from one file.",
)
@click.option("--archive-max-ratio", type=int, default=ArchiveLimits.max_ratio, show_default=True)
@click.option("--cross-filesystems", is_flag=True, help="Descend into other mounted filesystems.")
@click.option("--follow-symlinks", is_flag=True, help="Follow symlinks (loops are detected and reported).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core; 0: none).")
@click.option("--cpu-share", type=float, default=None, help="Share of all cores to use, e.g. 0.25.")
@click.option("--max-io-rate", callback=_size_option, default=None, help="Bytes read per second, e.g. 50M.")
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Skip files unchanged since a previous scan with the same signatures.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where verdicts and compiled rules are kept (default: ~/.cache/fleetscan); never scanned.",
)
@click.option(
    "--accept",
    "accepted",
    multiple=True,
    type=click.Choice(_ACCEPTABLE),
    help="A reason for not scanning a file that does not make the exit status 2 (e.g. --accept encrypted); "
    "repeatable.",
)
@click.option(
    "--all-matches",
    is_flag=True,
    help="Report every match in a file (the container's and each member's), not one result per file.",
)
@click.option(
    "--clamd",
    "clamd",
    default=None,
    metavar="SOCKET",
    help="clamd's unix socket or host:port: PE packers, installers (NSIS, InstallShield, MSI, AutoIt), CHM, SIS, "
    "SZDD and other formats only libclamav opens are streamed to it. Without it they are reported as not scanned "
    "(needs_clamd).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@click.option("--no-progress", is_flag=True, help="No progress bar even on a terminal.")
@click.option("-v", "--verbose", is_flag=True, help="List example paths for every skip reason.")
def scan(
    paths: tuple[str, ...],
    scan_type: str | None,
    root: str | None,
    signatures: tuple[str, ...],
    ignore_bad_signatures: bool,
    exclude: tuple[str, ...],
    include: tuple[str, ...],
    file_types: tuple[int, ...],
    max_file_size: int | None,
    no_archives: bool,
    archive_max_depth: int,
    archive_max_members: int,
    archive_max_size: int | None,
    archive_max_ratio: int,
    cross_filesystems: bool,
    follow_symlinks: bool,
    workers: int | None,
    cpu_share: float | None,
    max_io_rate: int | None,
    cache: bool,
    cache_dir: str | None,
    accepted: tuple[str, ...],
    all_matches: bool,
    clamd: str | None,
    as_json: bool,
    no_progress: bool,
    verbose: bool,
) -> None:
    """Scan PATHs (or the quick/full locations) for malware with YARA, hash and ClamAV signatures.

    \b
    Exit status:
      1  something was detected (a file is one result, naming the member: a.zip!x.com);
      2  an error (bad arguments or signatures), or nothing detected and some file asked for was not scanned
         (completely) for a reason not accepted with --accept: too_large, archive_limit, encrypted, corrupt,
         unsupported, needs_clamd, permission_denied, read_error; exclusions, symlinks not followed and special
         files (FIFOs, sockets, devices) never count;
      0  otherwise.
    """
    scan_type = scan_type or "custom"
    if scan_type == "custom" and not paths:
        raise click.UsageError("give at least one PATH, or --type quick / --type full")
    if scan_type != "custom" and paths:
        raise click.UsageError(f"a {scan_type} scan chooses its own locations: drop the PATHs or use --type custom")
    if clamd is not None:
        _check_clamd(clamd)
    cdir = Path(cache_dir).expanduser() if cache_dir else _default_cache_dir()
    try:
        sigset = load_signatures(
            list(signatures), cache_dir=cdir / "rules" if cache else None, ignore_bad=ignore_bad_signatures
        )
    except SignatureSourceError as exc:
        hint = " (--ignore-bad-signatures scans with what can be used)" if isinstance(exc, DamagedSignatures) else ""
        click.echo(f"ERROR: {exc}{hint}", err=True)
        sys.exit(2)
    for problem in _missing_targets(paths, root):
        click.echo(problem, err=True)
    limits = ArchiveLimits(
        max_depth=archive_max_depth,
        max_members=archive_max_members,
        max_expanded=archive_max_size or 2**62,
        max_ratio=archive_max_ratio,
    )
    options = ScanOptions(
        scan_type=scan_type,
        root=root,
        exclude=exclude,
        include=include,
        file_classes=file_types,
        max_file_size=max_file_size,
        one_filesystem=not cross_filesystems,
        follow_symlinks=follow_symlinks,
        scan_archives=not no_archives,
        archive_limits=limits,
        workers=workers,
        cpu_share=cpu_share,
        bytes_per_second=max_io_rate,
        cache_path=str(cdir / "verdicts.sqlite") if cache else None,
        own_folders=(str(cdir),),
        all_matches=all_matches,
        clamd=clamd,
    )
    scanner = Scanner(sigset, options)
    show_progress = not as_json and not no_progress and sys.stderr.isatty()
    try:
        if show_progress:
            report = _run_with_bar(scanner, list(paths))
        else:
            on_det = None if as_json else (lambda d: print(_detection_line(d), flush=True))
            report = scanner.run(list(paths), on_detection=on_det)
    except (ValueError, OSError) as exc:
        click.echo(f"ERROR: {exc}", err=True)
        sys.exit(2)
    if as_json:
        doc: dict[str, Any] = {"report": report.to_dict(), "signatures": sigset.summary()}
        print(json.dumps(doc, indent=2))
    else:
        print(_summary(report, sigset, verbose))
    sys.exit(exit_status(report, accepted))


def exit_status(report: ScanReport, accepted: tuple[str, ...] | frozenset[str] = ()) -> int:
    """1 on a detection; else 2 on an error or a file not scanned for a reason neither chosen nor accepted; 0."""
    if report.files_detected:
        return 1
    ignored = {str(r) for r in CHOSEN_SKIPS} | set(accepted)
    if report.errors or report.reasons() - ignored:
        return 2
    return 0


#: Cells the bar itself takes on the progress line, and the space after it.
_BAR_WIDTH = 16


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _fit(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells, cut on the left: a path's end says most."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ""
    while cell_len(text) > width - 1:
        text = text[1:]
    return "…" + text


def _progress_text(p: Progress, width: int) -> str:
    """The progress line after the bar, made to fit ``width`` cells: one line, whatever the terminal's width (rich
    would otherwise squeeze every column to an ellipsis, or wrap the line and garble the next refresh)."""
    approx = "" if p.totals_final else "~"
    head = (f"{p.percent:5.1f}% {p.files_done}/{approx}{p.files_total} files "
            f"{p.bytes_per_second / 1e6:.0f} MB/s {_clock(p.eta)}")
    room = width - len(head) - 1
    return _fit(head, width) if room < 8 else f"{head} {_fit(p.current or '', room)}"


def _check_clamd(address: str) -> None:
    """A clamd that is named but not answering is an error before the scan, not one per exotic file after it."""
    from fleetscan.engine.clamd import Clamd, ClamdError

    try:
        Clamd(address, timeout=30).ping()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clamd") from exc
    except ClamdError as exc:
        click.echo(f"ERROR: {exc}", err=True)
        sys.exit(2)


def _run_with_bar(scanner: Scanner, paths: list[str]) -> ScanReport:
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn
    from rich.progress import Progress as Bar
    from rich.table import Column

    console = Console(stderr=True)
    columns = (
        BarColumn(bar_width=_BAR_WIDTH),
        TextColumn("{task.fields[line]}", markup=False, table_column=Column(no_wrap=True, overflow="crop")),
    )
    live_lines = sys.stdout.isatty()
    found: list[Hit] = []
    with Bar(*columns, console=console, transient=True, redirect_stdout=False, redirect_stderr=False) as bar:
        task = bar.add_task("scan", total=None, line="")

        def on_progress(p: Progress) -> None:
            # Read the width at every update: the terminal may be resized during a long scan. One cell is kept
            # free, as some terminals wrap a line that fills the last column.
            line = _progress_text(p, console.width - _BAR_WIDTH - 2)
            bar.update(task, total=max(1, p.bytes_total), completed=p.bytes_done, line=line)

        def on_detection(d: Hit) -> None:
            if live_lines:
                bar.console.print(_detection_line(d), markup=False, highlight=False)
            else:
                found.append(d)

        report = scanner.run(paths, on_progress=on_progress, on_detection=on_detection)
    for d in found:  # stdout is a file or pipe: keep the detection lines there, not on the terminal
        print(_detection_line(d))
    return report
