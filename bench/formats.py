"""Format benchmark: per format, what fleetscan and clamscan detect on the same signatures, and how fast.

Builds the format corpus of issue 9 (``tests/support/formats.py``, the one ``tests/engine/test_format_table.py``
checks): one file per format around one payload (a random marker, found by an ``.ndb`` body pattern and an
``.hdb`` hash written beside it), the same packagings around clean bytes, damaged, truncated and encrypted
variants, and ClamAV's own test files (``/usr/share/clamav-testfiles``, found by the md5 of ``clam.exe``). Then:

1. the verdict of each file scanned alone by fleetscan (every match, in process), by ``clamscan --allmatch``, and
   by fleetscan with ``--clamd`` (a clamd started here on the same signature folder, as the tests start one);
2. speed: each payload row is built again around a larger payload (``--pad-kb``, text-like filler), copied until
   the copies reach ``--scale-mb``, and scanned by fleetscan on one core in process (no verdict cache) and by
   ``clamscan``; MB/s is the copies' size over the scan's time, files/s for the small clamav-testfiles.

Two baselines show what a file costs with no decoder: random bytes (binary) and plain text (which the text
normalisation and the data-URI and uuencode searches read, as ClamAV's text path does).

Run from the repository root:  .venv/bin/python -m bench.formats [--scale-mb 24] [--pad-kb 1024]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fleetscan.engine import Scanner, ScanOptions, SignatureSet
from tests.support import formats
from tests.support.formats import CLEAN, DAMAGED, PAYLOAD, TESTFILE, Corpus, Row, Verdict

MB = 1_000_000


def copies(src: Path, folder: Path, scale: int, cap: int) -> tuple[int, int]:
    """Hard-to-cache copies of ``src`` (distinct files) until they reach ``scale`` bytes: (files, bytes)."""
    folder.mkdir(parents=True)
    size = max(1, src.stat().st_size)
    n = max(1, min(cap, -(-scale // size)))
    for i in range(n):
        shutil.copyfile(src, folder / f"{i:05}-{src.name}")
    return n, n * size


def fleetscan_speed(sigset: SignatureSet, folder: Path) -> float:
    t0 = time.perf_counter()
    report = Scanner(sigset, ScanOptions(workers=0, prewalk=False)).run([str(folder)])
    elapsed = time.perf_counter() - t0
    assert report.files_scanned + report.files_skipped > 0
    return elapsed


def clamscan_speed(sigs: Path, folder: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(["clamscan", "-r", "--no-summary", "--bytecode=no", "-d", str(sigs), str(folder)],
                   capture_output=True, check=False)
    return time.perf_counter() - t0


def baselines(corpus: Corpus, pad: int) -> list[Row]:
    rng = random.Random(7)
    rows = [Row("baseline/random.bin", "baseline: random bytes (no decoder)", "baseline"),
            Row("baseline/words.txt", "baseline: plain text (text path only)", "baseline")]
    (corpus.files / "baseline").mkdir(exist_ok=True)
    corpus.path(rows[0]).write_bytes(rng.randbytes(max(pad, 4096)))
    words = " ".join(rng.choices(formats.WORDS, k=max(pad, 4096) // 5)).encode()
    corpus.path(rows[1]).write_bytes(b"\n".join(words[i : i + 72] for i in range(0, len(words), 72)))
    return rows


def start_clamd(sigs: Path) -> tuple[object | None, str]:
    try:
        from tests.support.clamd import ClamdServer

        return ClamdServer(sorted(sigs.iterdir()), stream_max="256M").start(), ""
    except (RuntimeError, OSError) as exc:
        return None, f"clamd column skipped: {exc}"


def summary(rows: Sequence[Row], column: dict[str, Verdict], group: str) -> str:
    mine = [r for r in rows if r.group == group and r.name in column]
    detected = sum(1 for r in mine if column[r.name].state == "detected")
    clean = sum(1 for r in mine if column[r.name].state == "clean")
    return f"{detected}/{len(mine)} detected, {clean} clean"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/fleetscan-formats"))
    ap.add_argument("--scale-mb", type=int, default=24, help="bytes of copies scanned per row for MB/s (24)")
    ap.add_argument("--pad-kb", type=int, default=1024, help="payload size in the speed corpus (1024 KiB)")
    ap.add_argument("--max-copies", type=int, default=500, help="copies per row at most (small test files)")
    ap.add_argument("--no-clamd", action="store_true", help="leave out the --clamd column")
    ap.add_argument("--no-speed", action="store_true", help="verdicts only")
    args = ap.parse_args(argv)
    if shutil.which("clamscan") is None:
        print("clamscan not found: apt-get install clamav", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    table = formats.build(args.workdir / "table")
    sigset = formats.signatures(table)
    print(f"format corpus: {len(table.rows)} files ({args.workdir / 'table'}), built in {time.monotonic() - t0:.1f}s")
    columns: dict[str, dict[str, Verdict] | dict[str, str]] = {
        "fleetscan": formats.fleetscan_verdicts(table, sigset, table.rows),
        "clamscan": formats.clamscan_verdicts(table),
    }
    notes = [f"not built: {n}" for n in table.notes]
    if not args.no_clamd:
        server, why = start_clamd(table.sigs)
        if server is None:
            notes.append(why)
        else:
            try:
                columns["fleetscan --clamd"] = formats.fleetscan_verdicts(
                    table, sigset, table.rows, clamd=server.address)  # type: ignore[attr-defined]
            finally:
                server.stop()  # type: ignore[attr-defined]
    if not args.no_speed:
        speed = formats.build(args.workdir / "speed", pad=args.pad_kb * 1024)
        speed_sigs = formats.signatures(speed)
        rows = [*baselines(speed, args.pad_kb * 1024), *(r for r in speed.rows if r.group in (PAYLOAD, TESTFILE))]
        ours: dict[str, str] = {}
        theirs: dict[str, str] = {}
        sizes: dict[str, str] = {}
        for row in rows:
            folder = args.workdir / "copies" / row.name.replace("/", "_")
            shutil.rmtree(folder, ignore_errors=True)
            n, total = copies(speed.path(row), folder, args.scale_mb * MB, args.max_copies)
            sizes[row.name] = f"{n} x {speed.path(row).stat().st_size / 1024:.0f} KiB"
            for out, elapsed in ((ours, fleetscan_speed(speed_sigs, folder)),
                                 (theirs, clamscan_speed(speed.sigs, folder))):
                out[row.name] = f"{total / MB / elapsed:.0f} MB/s" if total >= MB else f"{n / elapsed:.0f} files/s"
            shutil.rmtree(folder)
        columns["speed set"] = sizes
        columns["fleetscan (1 core)"] = ours
        columns["clamscan (speed)"] = theirs
        rows_by_name = {r.name: r for r in rows}
        # the speed corpus's rows are named as the table's: one line per format with both
        table_rows = [*(rows_by_name[r.name] for r in rows if r.group == "baseline"), *table.rows]
    else:
        table_rows = table.rows
    print()
    print(formats.table(table_rows, columns))
    print()
    for name in ("fleetscan", "clamscan", "fleetscan --clamd"):
        column = columns.get(name)
        if isinstance(column, dict):
            verdicts = {k: v for k, v in column.items() if isinstance(v, Verdict)}
            print(f"{name:<18} " + "; ".join(f"{g}: {summary(table.rows, verdicts, g)}"
                                              for g in (PAYLOAD, CLEAN, DAMAGED, TESTFILE)))
    ours_v = {k: v for k, v in columns["fleetscan"].items() if isinstance(v, Verdict)}
    theirs_v = {k: v for k, v in columns["clamscan"].items() if isinstance(v, Verdict)}
    behind = [r.format for r in table.rows if r.group != TESTFILE
              and theirs_v.get(r.name, Verdict("-")).found - ours_v[r.name].found]
    ahead = [r.format for r in table.rows if r.group == PAYLOAD
             and ours_v[r.name].state == "detected" and theirs_v.get(r.name, Verdict("-")).state != "detected"]
    silent = [r.format for r in table.rows if r.group == DAMAGED and ours_v[r.name].state == "clean"]
    print(f"rows where clamscan finds what fleetscan does not (clamav-testfiles aside): {behind or 'none'}")
    print(f"payloads fleetscan finds and clamscan does not: {ahead or 'none'}")
    print(f"damaged, truncated or encrypted files fleetscan calls clean: {silent or 'none'}")
    for note in notes:
        print(note)
    return 1 if behind or silent else 0


if __name__ == "__main__":
    raise SystemExit(main())
