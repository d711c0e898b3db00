"""Every skip reason, produced by real conditions. Tests run as root, so "permission denied" runs the scan in a
subprocess that has dropped to the ``nobody`` user."""

from __future__ import annotations

import os
from pathlib import Path

from fleetscan.engine import EICAR_NAME, Scanner, ScanOptions, SkipReason, load_signatures
from fleetscan.engine.workers import SKIPPED, Matcher, WorkerConfig

from .conftest import as_nobody, eicar_file, found, scan, skips, write


def test_too_large(tmp_path: Path) -> None:
    big = write(tmp_path / "big", b"x" * 2000)
    report = scan([tmp_path], max_file_size=1000)
    assert report.skipped == {"too_large": 1}
    assert report.skip_examples["too_large"][0].path == str(big)


def test_excluded_by_pattern_and_by_file_type(tmp_path: Path) -> None:
    eicar_file(tmp_path / "skip-me.log")
    eicar_file(tmp_path / "script.sh")
    write(tmp_path / "tool", b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    report = scan([tmp_path], exclude=["*.log"], file_classes=[1])
    assert skips(report, "excluded") == {str(tmp_path / "skip-me.log"), str(tmp_path / "script.sh")}
    details = {s.detail for s in report.skip_examples["excluded"]}
    assert details == {"matches an exclude pattern", "file type script"}
    assert report.files_clean == 1
    scripts = scan([tmp_path], exclude=["*.log"], file_classes=[3])
    assert found(scripts) == {(str(tmp_path / "script.sh"), EICAR_NAME)}


def test_special_files_are_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it would block the scan forever
    report = scan([tmp_path, "/dev/null"])
    assert skips(report, "special_file") == {str(tmp_path / "fifo"), "/dev/null"}


def test_symlinks(tmp_path: Path) -> None:
    eicar_file(tmp_path / "real" / "e.com")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    report = scan([tmp_path])
    assert skips(report, "symlink") == {str(tmp_path / "link"), str(tmp_path / "real" / "loop")}
    followed = scan([tmp_path], follow_symlinks=True)
    assert {(s.path, s.detail) for s in followed.skip_examples["symlink"]} == {
        (str(tmp_path / "link"), "points inside the scanned tree (scanned at its own path)"),
        (str(tmp_path / "real" / "loop"), "symlink loop (points to a parent folder)"),
    }
    assert found(followed) == {(str(tmp_path / "real" / "e.com"), EICAR_NAME)}


def test_read_errors(tmp_path: Path) -> None:
    matcher = Matcher(WorkerConfig.from_sigset(load_signatures([])))
    gone = write(tmp_path / "gone", "x")
    gone.unlink()  # listed by a walk, deleted before a worker opens it
    assert matcher.scan_path(str(gone))[0:4] == (SKIPPED, [], SkipReason.READ_ERROR, "vanished before it was read")
    # /proc/self/mem opens fine but reading offset 0 (unmapped) fails with EIO: a real read error.
    status, _, reason, detail, _, _, _ = matcher.scan_path("/proc/self/mem")
    assert (status, reason) == (SKIPPED, SkipReason.READ_ERROR)
    assert detail == "Input/output error"


def test_archive_limit_is_a_skip_reason(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.zip", "w") as z:
        for i in range(5):
            z.writestr(f"f{i}", b"x")
    from fleetscan.engine import ArchiveLimits

    report = scan([tmp_path / "m.zip"], archive_limits=ArchiveLimits(max_members=2))
    assert report.skipped == {"archive_limit": 1}


def test_permission_denied_as_an_unprivileged_user(shared_dir: Path) -> None:
    eicar_file(shared_dir / "readable.com").chmod(0o644)
    eicar_file(shared_dir / "secret.com").chmod(0o000)
    locked = shared_dir / "locked"
    eicar_file(locked / "inside.com")
    locked.chmod(0o000)
    report = as_nobody(lambda: Scanner(load_signatures([]), ScanOptions(workers=0)).run([str(shared_dir)]).to_dict())
    assert report["skipped"] == {"permission_denied": 2}
    assert {s["path"] for s in report["skip_examples"]["permission_denied"]} == {
        str(shared_dir / "secret.com"), str(locked)}
    assert [d["path"] for d in report["detections"]] == [str(shared_dir / "readable.com")]


def test_a_file_below_path_max_is_scanned(tmp_path: Path) -> None:
    """Files are opened relative to directory descriptors: depth cannot hide one (a read_error before)."""
    name = "d" * 200
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(24):
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    out = os.open("deep.com", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
    os.close(out)
    os.close(fd)
    deep = str(tmp_path) + f"/{name}" * 24 + "/deep.com"
    assert len(deep) > 4096
    report = scan([tmp_path])
    assert found(report) == {(deep, EICAR_NAME)}
    assert report.skipped == {}
