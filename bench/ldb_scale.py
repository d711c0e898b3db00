"""How the number of ClamAV logical signatures (.ldb) changes scan time: `fleetscan scan` against `clamscan`.

fleetscan turns each logical signature into one YARA rule, and yara-x's cost per file grows with the number of
rules, while ClamAV matches every subsignature in one Aho-Corasick pass and evaluates the expressions after it. This
scans one seeded folder (small text and binary files, as a server holds them) with N random two-part signatures,
none of which match, for each N given, with both scanners, end to end and without a verdict cache. Times are
printed, never asserted.

Run from the repository root:  .venv/bin/python -m bench.ldb_scale [--files 3000] [--counts 0 1000 5000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def make_folder(root: Path, files: int, rng: random.Random) -> int:
    """Text and binary files of 1 to 64 KiB; returns the bytes written."""
    words = b"server config request response error value index table user token cache queue worker".split()
    total = 0
    for i in range(files):
        folder = root / f"d{i % 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1024, 64 * 1024)
        if i % 3:
            data = b" ".join(rng.choice(words) for _ in range(size // 6))[:size]
        else:
            data = rng.randbytes(size)
        (folder / f"f{i:05d}.{'txt' if i % 3 else 'bin'}").write_bytes(data)
        total += len(data)
    return total


def make_signatures(path: Path, count: int, rng: random.Random) -> None:
    lines = [
        f"Bench.Ldb.{n:05d};Engine:51-255,Target:0;0&1;{rng.randbytes(8).hex()};{rng.randbytes(8).hex()}"
        for n in range(count)
    ]
    path.write_text("".join(line + "\n" for line in lines) or "Bench.Ldb.None;Target:0;0;" + "ab" * 12 + "\n")


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    return time.monotonic() - t0, done


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--counts", type=int, nargs="+", default=[0, 1000, 5000])
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args(argv)
    if shutil.which("clamscan") is None:
        print("clamscan not found: apt-get install clamav", file=sys.stderr)
        return 2
    exe = Path(sys.executable).with_name("fleetscan")
    fleetscan = [str(exe)] if exe.exists() else [sys.executable, "-m", "fleetscan.cli"]
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="fleetscan-ldb-") as tmp:
        folder = Path(tmp) / "folder"
        nbytes = make_folder(folder, args.files, rng)
        print(f"folder: {args.files} files, {nbytes / 1e6:.0f} MB; every run end to end, no verdict cache")
        print(f"{'signatures':>10} {'fleetscan s':>12} {'clamscan s':>11} {'fleetscan ms/file':>18}")
        for count in args.counts:
            db = Path(tmp) / f"n{count}" / "bench.ldb"
            db.parent.mkdir()
            make_signatures(db, count, rng)
            ours, done = timed([*fleetscan, "scan", str(folder), "-d", str(db), "--no-cache", "--json"])
            if done.returncode != 0:
                print(f"fleetscan exited {done.returncode}: {done.stderr[-500:]}", file=sys.stderr)
                return 2
            theirs, clam = timed(["clamscan", "-r", "--no-summary", "--bytecode=no", "-d", str(db), str(folder)])
            if clam.returncode != 0:
                print(f"clamscan exited {clam.returncode}: {clam.stderr[-500:]}", file=sys.stderr)
                return 2
            print(f"{count:>10} {ours:>12.2f} {theirs:>11.2f} {ours * 1000 / args.files:>18.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
