"""Shared helpers for engine tests: real files, real yara-x, real libarchive, ClamAV's own test files and tools."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fleetscan.engine import EICAR, Scanner, ScanOptions, ScanReport, SignatureSet, load_signatures

TESTFILES = Path("/usr/share/clamav-testfiles")


@pytest.fixture
def clam_dir() -> Path:
    if not (TESTFILES / "clam.exe").exists():
        pytest.skip("Debian package clamav-testfiles is not installed")
    return TESTFILES


@pytest.fixture
def sigtool() -> str:
    path = shutil.which("sigtool")
    if path is None:
        pytest.skip("Debian package clamav (sigtool) is not installed")
    return path


def sigtool_hash(kind: str, target: Path) -> str:
    """A signature line as ClamAV's own sigtool writes it (``--md5``, ``--sha1``, ``--sha256``)."""
    out = subprocess.run(["sigtool", f"--{kind}", str(target)], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[0]


def sigtool_sections(target: Path) -> list[tuple[int, str]]:
    """PE section (size, md5) pairs as ClamAV computes them (``sigtool --mdb`` logs them in its debug output)."""
    out = subprocess.run(["sigtool", "--debug", "--mdb", str(target)], capture_output=True, text=True)
    return [(int(m.group(1)), m.group(2)) for m in re.finditer(r"Section\{\d+\}: (\d+):([0-9a-f]{32})", out.stderr)]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def eicar_file(path: Path) -> Path:
    return write(path, EICAR + b"\n")


def scan(
    targets: Sequence[Path | str], sigset: SignatureSet | None = None, **options: object
) -> ScanReport:
    options.setdefault("workers", 0)
    # Every match, as the signature tests compare with `clamscan --allmatch`; tests of one result per file say so.
    options.setdefault("all_matches", True)
    sigset = sigset if sigset is not None else load_signatures([])
    return Scanner(sigset, ScanOptions(**options)).run([str(t) for t in targets])  # type: ignore[arg-type]


def found(report: ScanReport) -> set[tuple[str, str]]:
    """(path or path!member, signature) of every detection."""
    return {(f"{d.path}!{d.member}" if d.member else d.path, d.signature) for d in report.detections}


def skips(report: ScanReport, reason: str) -> set[str]:
    return {s.path for s in report.skip_examples.get(reason, [])}


def sigs(tmp: Path, name: str, lines: Iterable[str]) -> SignatureSet:
    return load_signatures([write(tmp / "sigs" / name, "\n".join(lines) + "\n")])


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the ``nobody`` user can traverse (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="fleetscan-perm-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    for p in d.rglob("*"):
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(d)


def as_nobody(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child that dropped root for ``nobody``; return its JSON-able result.

    Tests run as root, which reads anything; permission checks need a real unprivileged process. The child does
    not exec (the interpreter lives under /root, which nobody cannot enter).
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_fd, json.dumps(fn()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the unprivileged child failed"
    return json.loads(data)
