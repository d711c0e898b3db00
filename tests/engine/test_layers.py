"""Every file ends in one state: the layer walk, per-member limits, what cannot be opened, one result per file.

Each corpus is built here, with Python's compressors and the archivers a server has (`zip`, `7z`, `ar`,
`genisoimage`, `compress`); where the issue compares with clamscan, clamscan runs on the same files with the
same signature file.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fleetscan.engine import EICAR, EICAR_NAME, ArchiveLimits, ScanReport, SignatureSet, load_signatures
from fleetscan.engine.workers import Matcher, WorkerConfig
from tests.support.formats import tar_of, zip_of

from .conftest import found, scan, skips, write

MiB = 1024 * 1024


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/install-system-deps.sh installs it)")
    return path


_zip = zip_of


def _tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    return tar_of(members, mode)


def _problems(report: ScanReport) -> set[tuple[str, str]]:
    """(path or path!member, reason) of every layer not opened, in files not scanned and in detected ones."""
    out = {(s.path, str(s.reason)) for ex in report.skip_examples.values() for s in ex}
    return out | {(s.path, str(s.reason)) for ex in report.partial_examples.values() for s in ex}


# -- compressed single streams: never "not an archive", never mtree --------------------------------------------------

ZERO_PREFIX = b"\0" * 1024 + EICAR


@pytest.mark.parametrize("suffix,compress", [("gz", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress)])
def test_single_stream_starting_with_zero_blocks_is_opened(tmp_path: Path, suffix: str, compress: object) -> None:
    f = write(tmp_path / f"payload.{suffix}", compress(ZERO_PREFIX))  # type: ignore[operator]
    report = scan([f])
    assert found(report) == {(f"{f}!payload", EICAR_NAME)}


def test_zero_filled_gzip_bomb_is_not_clean(tmp_path: Path) -> None:
    f = write(tmp_path / "zeros.gz", gzip.compress(b"\0" * (40 * MiB), compresslevel=9))
    report = scan([f])
    assert report.files_clean == 0
    assert skips(report, "archive_limit") == {str(f)}


def test_gzipped_text_is_a_stream_not_an_mtree_archive(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"{i},name{i},/var/lib/x{i} type=file\n" for i in range(30_000)).encode()
    clean = write(tmp_path / "rows.csv.gz", gzip.compress(rows))
    dirty = write(tmp_path / "dirty.csv.gz", gzip.compress(rows + EICAR))
    report = scan([clean, dirty])
    assert found(report) == {(f"{dirty}!dirty.csv", EICAR_NAME)}
    assert report.files_clean == 1 and report.skipped == {}
    assert capfd.readouterr().err == ""


# -- recognised but not opened: never clean --------------------------------------------------------------------------


def test_seven_zip_with_encrypted_headers_is_encrypted(tmp_path: Path) -> None:
    seven = _tool("7z")
    write(tmp_path / "src" / "e.com", EICAR)
    out = tmp_path / "locked.7z"
    subprocess.run([seven, "a", "-pSecret1", "-mhe=on", str(out), str(tmp_path / "src" / "e.com")],
                   check=True, capture_output=True)
    report = scan([out])
    assert report.skipped == {"encrypted": 1}


def test_truncated_and_garbage_containers_are_corrupt(tmp_path: Path) -> None:
    seven = _tool("7z")
    body = bytes(range(256)) * 4000
    tgz = _tar({"a.bin": body, "b.bin": body[::-1]})
    write(tmp_path / "src" / "a.bin", body)
    subprocess.run([seven, "a", str(tmp_path / "full.7z"), str(tmp_path / "src" / "a.bin")], check=True,
                   capture_output=True)
    cut7z = (tmp_path / "full.7z").read_bytes()
    files = [
        write(tmp_path / "cut.tar.gz", tgz[: len(tgz) // 2]),
        write(tmp_path / "cut.7z", cut7z[: len(cut7z) // 2]),
        write(tmp_path / "garbage.zip", b"PK\x03\x04" + bytes(range(7, 250)) * 20),
    ]
    report = scan(files)
    assert report.files_clean == 0
    assert skips(report, "corrupt") == {str(f) for f in files}


def test_encrypted_zip_member_is_reported_beside_a_detection(tmp_path: Path) -> None:
    zip_ = _tool("zip")
    write(tmp_path / "src" / "secret.txt", "nothing to see" * 100)
    write(tmp_path / "src" / "eicar.com", EICAR)
    out = tmp_path / "mixed.zip"
    subprocess.run([zip_, "-q", "-j", "-P", "pw", str(tmp_path / "locked.zip"), str(tmp_path / "src" / "secret.txt")],
                   check=True)
    subprocess.run([zip_, "-q", "-j", str(out), str(tmp_path / "src" / "eicar.com")], check=True)
    with zipfile.ZipFile(out, "a") as z, zipfile.ZipFile(tmp_path / "locked.zip") as locked:
        z.writestr("inner-locked.zip", (tmp_path / "locked.zip").read_bytes())
        assert locked.infolist()[0].flag_bits & 1
    report = scan([out], all_matches=False)
    assert found(report) == {(f"{out}!eicar.com", EICAR_NAME)}
    assert report.files_detected == 1 and report.files_partial == 1
    assert _problems(report) == {(f"{out}!inner-locked.zip!secret.txt", "encrypted")}


# -- limits per member and per layer ---------------------------------------------------------------------------------


def test_what_was_expanded_before_a_limit_is_matched(tmp_path: Path) -> None:
    """clamscan detects gzip(EICAR + 10 MiB of zeros): the ratio limit cuts the stream after EICAR."""
    f = write(tmp_path / "eicar-then-zeros.gz", gzip.compress(EICAR + b"\0" * (10 * MiB), compresslevel=9))
    report = scan([f])
    assert found(report) == {(f"{f}!eicar-then-zeros", EICAR_NAME)}
    assert _problems(report) == {(f"{f}!eicar-then-zeros", "archive_limit")}


def test_one_member_over_the_limit_is_skipped_alone(tmp_path: Path) -> None:
    members = {"a.txt": b"first", "big.bin": bytes(range(256)) * 1024, "z-eicar.com": EICAR}
    f = write(tmp_path / "backup.tar.gz", _tar(members))
    report = scan([f], archive_limits=ArchiveLimits(max_member_size=100_000))
    assert found(report) == {(f"{f}!z-eicar.com", EICAR_NAME)}
    assert _problems(report) == {(f"{f}!big.bin", "archive_limit")}
    clean = write(tmp_path / "clean.tar.gz", _tar({**members, "z-eicar.com": b"fine"}))
    report = scan([clean], archive_limits=ArchiveLimits(max_member_size=100_000))
    assert report.skipped == {"archive_limit": 1}
    assert "big.bin" in report.skip_examples["archive_limit"][0].detail


def test_skipping_a_member_of_a_compressed_stream_is_charged(tmp_path: Path) -> None:
    """Skipping a member of a .tar.gz decompresses it: that work counts, so a bomb member stops at the expanded
    size limit instead of costing its whole size, and a large member within it is skipped alone."""
    limits = ArchiveLimits(max_member_size=MiB, max_expanded=8 * MiB, max_ratio=10**6)
    ok = write(tmp_path / "ok.tar.gz", _tar({"zeros": b"\0" * (3 * MiB), "z.com": EICAR}))
    report = scan([ok], archive_limits=limits)
    assert found(report) == {(f"{ok}!z.com", EICAR_NAME)}
    assert _problems(report) == {(f"{ok}!zeros", "archive_limit")}
    bomb = write(tmp_path / "bomb.tar.gz", _tar({"zeros": b"\0" * (20 * MiB), "z.com": EICAR}))
    report = scan([bomb], archive_limits=limits)
    assert report.skipped == {"archive_limit": 1} and report.detections == []
    matcher = Matcher(WorkerConfig.from_sigset(load_signatures([]), limits=limits))
    problems = matcher.scan_path(str(bomb))[6]
    assert [(where, detail.split(" at ")[0]) for where, _, detail in problems] == [
        ("zeros", "member of 20971520 bytes over the 1048576 bytes member limit"),
        ("zeros", "expanded size over 8388608 bytes")]


def test_a_member_over_the_limit_in_a_zip_does_not_stop_the_zip(tmp_path: Path) -> None:
    f = write(tmp_path / "z.zip", _zip({"big": b"y" * 200_000, "tail.com": EICAR}))
    report = scan([f], archive_limits=ArchiveLimits(max_member_size=100_000))
    assert found(report) == {(f"{f}!tail.com", EICAR_NAME)}
    assert _problems(report) == {(f"{f}!big", "archive_limit")}


# -- one result per file ---------------------------------------------------------------------------------------------


def test_stored_zip_is_one_result_naming_the_member(tmp_path: Path) -> None:
    f = write(tmp_path / "stored.zip", _zip({"x.com": EICAR}, zipfile.ZIP_STORED))
    report = scan([f], all_matches=False)
    assert found(report) == {(f"{f}!x.com", EICAR_NAME)}
    assert report.files_detected == 1 and len(report.detections) == 1
    every = scan([f], all_matches=True)
    assert found(every) == {(f"{f}!x.com", EICAR_NAME), (str(f), EICAR_NAME)}


# -- archives found anywhere in a file, and formats libarchive opens only when asked right -------------------------


def _hdb(tmp_path: Path) -> Path:
    return write(tmp_path / "sigs" / "eicar.hdb", f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar.Hash\n")


def _corpus(tmp_path: Path) -> dict[str, Path]:
    """One payload per packaging; members hold EICAR, whole files never do (only the hash signature fires)."""
    d = tmp_path / "corpus"
    src = write(tmp_path / "src" / "eicar.com", EICAR)
    deflated = _zip({"eicar.com": EICAR})
    elf = Path("/bin/true").read_bytes()[:8192]
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    files = {
        "sfx-elf.bin": write(d / "sfx-elf.bin", elf + deflated),
        "photo.jpg": write(d / "photo.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 16 + deflated),
        "split.zip": write(d / "split.zip", b"PK\x07\x08" + deflated),
    }
    seven = shutil.which("7z")
    if seven:
        subprocess.run([seven, "a", str(tmp_path / "e.7z"), str(src)], check=True, capture_output=True)
        files["image.png"] = write(d / "image.png", png + (tmp_path / "e.7z").read_bytes())
    ar = shutil.which("ar")
    if ar:
        subprocess.run([ar, "rc", str(d / "plain.a"), str(src)], check=True, capture_output=True, cwd=src.parent)
        files["plain.a"] = d / "plain.a"
    iso = shutil.which("genisoimage")
    if iso:
        subprocess.run([iso, "-quiet", "-o", str(d / "disc.iso"), str(src.parent)], check=True, capture_output=True)
        files["disc.iso"] = d / "disc.iso"
    compress = shutil.which("compress")
    if compress:
        z = subprocess.run([compress, "-c", str(src)], check=True, capture_output=True).stdout
        files["eicar.com.Z"] = write(d / "eicar.com.Z", z)
        tz = subprocess.run([compress, "-c"], input=_tar({"eicar.com": EICAR}, "w"), check=True,
                            capture_output=True).stdout
        files["bundle.tar.Z"] = write(d / "bundle.tar.Z", tz)
    return files


def test_archives_anywhere_and_exotic_packagings(tmp_path: Path) -> None:
    files = _corpus(tmp_path)
    sigset: SignatureSet = load_signatures([_hdb(tmp_path)])
    report = scan(list(files.values()), sigset)
    by_hash = [d for d in report.detections if d.signature == "Eicar.Hash"]  # a member's hash: never the container
    assert {name for name, f in files.items() if str(f) not in {d.path for d in by_hash}} == set()
    assert all(d.member for d in by_hash)


def test_at_least_what_clamscan_finds(tmp_path: Path) -> None:
    clamscan = _tool("clamscan")
    files = _corpus(tmp_path)
    hdb = _hdb(tmp_path)
    out = subprocess.run([clamscan, "--no-summary", "-d", str(hdb), *map(str, files.values())],
                         capture_output=True, text=True)
    theirs = {line.split(": ")[0] for line in out.stdout.splitlines() if line.endswith(" FOUND")}
    ours = {d.path for d in scan(list(files.values()), load_signatures([hdb])).detections}
    assert theirs - ours == set()


def test_deflate64_implode_and_arj(tmp_path: Path, clam_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deflate64 through inflate64 in process; implode and ARJ, which no library reads in process, through 7-Zip,
    and `unsupported` (never clean) where it is not installed."""
    _tool("7z")
    hdb = write(tmp_path / "clam.hdb",
                f"{hashlib.md5((clam_dir / 'clam.exe').read_bytes()).hexdigest()}:544:Clam.Exe.Hash\n")
    files = [clam_dir / "clam.d64.zip", clam_dir / "clam.impl.zip", clam_dir / "clam.arj"]
    report = scan(files, load_signatures([hdb]))
    assert found(report) == {(f"{clam_dir / 'clam.d64.zip'}!clam.exe", "Clam.Exe.Hash"),
                             (f"{clam_dir / 'clam.impl.zip'}!CLAM.EXE", "Clam.Exe.Hash"),
                             (f"{clam_dir / 'clam.arj'}!clam.exe", "Clam.Exe.Hash")}
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # scanned in this process (workers=0)
    without = scan(files, load_signatures([hdb]))
    assert found(without) == {(f"{clam_dir / 'clam.d64.zip'}!clam.exe", "Clam.Exe.Hash")}
    assert without.skipped == {"unsupported": 2}


def test_a_cached_verdict_keeps_what_was_not_opened(tmp_path: Path) -> None:
    f = write(tmp_path / "t" / "z.zip", _zip({"big": b"y" * 200_000, "tail.com": EICAR}))
    bad = write(tmp_path / "t" / "bad.zip", b"PK\x03\x04" + bytes(range(9, 200)) * 10)
    opts = {"archive_limits": ArchiveLimits(max_member_size=100_000), "cache_path": str(tmp_path / "v.sqlite")}
    first, again = scan([tmp_path / "t"], **opts), scan([tmp_path / "t"], **opts)
    assert again.files_cached == 1  # z.zip; bad.zip's cached verdict is "not scanned", not a scanned file's
    for report in (first, again):
        assert found(report) == {(f"{f}!tail.com", EICAR_NAME)}
        assert _problems(report) == {(f"{f}!big", "archive_limit"), (str(bad), "corrupt")}
        assert (report.files_partial, report.skipped, report.files_not_scanned) == (1, {"corrupt": 1}, 2)
