"""Whole scans against ground truth, with real worker processes, the verdict cache, cancel and resume."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from fleetscan.engine import (
    EICAR,
    EICAR_NAME,
    Progress,
    Scanner,
    ScanOptions,
    ScanReport,
    SignatureSet,
    load_signatures,
)

from .conftest import found, write

YARA = 'rule Planted_Yara { meta: severity = "critical" strings: $a = "planted-yara-marker" condition: $a }\n'


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, SignatureSet, set[tuple[str, str]]]:
    """A tree with known plants; returns (root, signatures, expected (path[!member], signature))."""
    root = tmp_path / "corpus"
    hashed = b"a file known by its sha256 " * 10
    expected: set[tuple[str, str]] = set()
    for i in range(300):
        write(root / f"dir{i % 7}" / f"clean{i:03}.txt", f"clean file {i}\n" * (i % 50 + 1))
    expected.add((str(write(root / "dir1" / "eicar.com", EICAR)), EICAR_NAME))
    expected.add((str(write(root / "dir2" / "known.bin", hashed)), "Planted.Hash"))
    expected.add((str(write(root / "dir3" / "body.bin", b"\0" * 100 + b"\xde\xad\xbe\xef\x01\x02\x03\x04")),
                  "Planted.Ndb"))
    expected.add((str(write(root / "dir4" / "rule.txt", "x planted-yara-marker y")), "Planted_Yara"))
    z = write(root / "dir5" / "pack.zip", _zip({"in/eicar.txt": EICAR, "in/known.bin": hashed, "ok.txt": b"ok"}))
    expected.add((f"{z}!in/eicar.txt", EICAR_NAME))  # one result per file: its first match (--all-matches: both)
    sigdir = tmp_path / "sigs"
    write(sigdir / "a.hsb", f"{hashlib.sha256(hashed).hexdigest()}:{len(hashed)}:Planted.Hash\n")
    write(sigdir / "b.ndb", "Planted.Ndb:0:100:deadbeef01020304\n")
    write(sigdir / "c.yar", YARA)
    return root, load_signatures([sigdir]), expected


def test_worker_processes_find_exactly_the_plants(corpus: tuple[Path, SignatureSet, set[tuple[str, str]]]) -> None:
    root, sigset, expected = corpus
    seen: list[str] = []
    report = Scanner(sigset, ScanOptions(workers=2, batch_files=16)).run(
        [str(root)], on_detection=lambda d: seen.append(d.signature))
    assert found(report) == expected
    assert sorted(seen) == sorted(s for _, s in expected)
    assert report.files_detected == 5
    assert report.files_clean == 300
    assert report.skipped == {}
    assert report.signature_version == sigset.version
    assert {d.severity for d in report.detections if d.signature == "Planted_Yara"} == {"critical"}


def test_inline_and_workers_agree(corpus: tuple[Path, SignatureSet, set[tuple[str, str]]]) -> None:
    root, sigset, expected = corpus
    inline = Scanner(sigset, ScanOptions(workers=0)).run([str(root)])
    assert found(inline) == expected


def test_rescan_uses_the_cache_and_notices_changes(
    corpus: tuple[Path, SignatureSet, set[tuple[str, str]]], tmp_path: Path
) -> None:
    root, sigset, expected = corpus
    opts = ScanOptions(workers=0, cache_path=str(tmp_path / "cache.sqlite"))
    first = Scanner(sigset, opts).run([str(root)])
    assert first.files_cached == 0
    second = Scanner(sigset, opts).run([str(root)])
    assert second.files_cached == 305
    assert found(second) == expected  # detections come back from the cache too
    clean = root / "dir0" / "clean000.txt"
    clean.write_bytes(EICAR)  # same inode, new content
    third = Scanner(sigset, opts).run([str(root)])
    assert third.files_cached == 304
    assert found(third) == expected | {(str(clean), EICAR_NAME)}
    other = load_signatures([])  # another signature version: nothing is reused
    assert Scanner(other, opts).run([str(root)]).files_cached == 0


def test_a_verdict_is_cached_only_for_the_file_the_walk_saw(tmp_path: Path) -> None:
    from fleetscan.engine.cache import VerdictCache
    from fleetscan.engine.results import CLEAN
    from fleetscan.engine.scanner import _Unit, _VerdictLedger
    from fleetscan.engine.walk import FileEntry
    from fleetscan.engine.workers import Matcher, WorkerConfig

    f = write(tmp_path / "f.txt", "clean")
    st = f.stat()
    entry = FileEntry(str(f), str(f), st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    as_opened = Matcher(WorkerConfig.from_sigset(load_signatures([]))).scan_path(str(f))
    assert as_opened[0] == CLEAN and as_opened[5] == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                                      st.st_ctime_ns)
    swapped = (*as_opened[:5], (st.st_dev, st.st_ino + 1, st.st_size, st.st_mtime_ns, st.st_ctime_ns), [])
    for result, kept in ((swapped, False), (as_opened, True)):
        cache = VerdictCache(tmp_path / f"c{kept}.sqlite", "k")
        report = ScanReport()
        _VerdictLedger(report, "v", cache, None).apply(_Unit([(entry, None)], 1, results=[result]))
        assert report.files_clean == 1  # the verdict counts either way; only caching it depends on the match
        found_again = cache.get(entry.dev, entry.ino, entry.size, entry.mtime_ns, entry.ctime_ns)
        assert (found_again is not None) is kept


def test_cancel_then_resume_equals_a_full_scan(corpus: tuple[Path, SignatureSet, set[tuple[str, str]]]) -> None:
    root, sigset, expected = corpus
    full = Scanner(sigset, ScanOptions(workers=0)).run([str(root)])
    calls = {"n": 0}

    def stop_soon() -> bool:
        calls["n"] += 1
        return calls["n"] >= 3

    opts = ScanOptions(workers=2, batch_files=16)
    part = Scanner(sigset, opts).run([str(root)], should_stop=stop_soon)
    assert part.stopped
    assert 0 < part.files_scanned < full.files_scanned
    assert part.checkpoint is not None
    saved = ScanReport.from_dict(part.to_dict())  # as an agent would persist it
    rest = Scanner(sigset, opts).run([str(root)], resume=saved)
    assert not rest.stopped
    assert rest.files_scanned == full.files_scanned
    assert rest.files_clean == full.files_clean
    assert found(rest) == expected
    assert len(rest.detections) == len(full.detections)


def test_progress_is_monotonic_and_ends_at_100(corpus: tuple[Path, SignatureSet, set[tuple[str, str]]]) -> None:
    root, sigset, _ = corpus
    events: list[Progress] = []
    report = Scanner(sigset, ScanOptions(workers=0, batch_files=8, progress_interval=0)).run(
        [str(root)], on_progress=events.append)
    assert len(events) > 5
    done = [e.files_done for e in events]
    assert done == sorted(done)
    last = events[-1]
    assert last.totals_final and last.percent == 100.0
    assert last.files_done == last.files_total == report.files_scanned
    assert last.bytes_done == last.bytes_total == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert last.checkpoint == report.checkpoint
    assert last.to_dict()["percent"] == 100.0


def test_cpu_and_io_caps(corpus: tuple[Path, SignatureSet, set[tuple[str, str]]]) -> None:
    from fleetscan.engine.throttle import split_cpu_share

    assert split_cpu_share(0.5, 2) == (1, None)
    assert split_cpu_share(0.25, 2) == (1, 0.5)
    assert split_cpu_share(None, 4, 2) == (2, None)
    root, sigset, expected = corpus
    capped = Scanner(sigset, ScanOptions(workers=1, cpu_share=0.4, bytes_per_second=50e6)).run([str(root)])
    assert found(capped) == expected


def test_root_shows_paths_as_inside(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    write(mnt / "tmp" / "x" / "eicar.com", EICAR)
    write(mnt / "usr" / "bin" / "tool", EICAR)
    write(mnt / "var" / "log" / "big.log", b"quiet")
    write(mnt / "proc" / "1" / "status", EICAR)
    os.symlink("usr/bin", mnt / "bin")
    sigset = load_signatures([])
    quick = Scanner(sigset, ScanOptions(scan_type="quick", root=str(mnt), workers=0)).run()
    assert {d.path for d in quick.detections} == {"/tmp/x/eicar.com", "/usr/bin/tool"}
    assert "/usr/bin" in quick.targets and "/bin" not in quick.targets
    full = Scanner(sigset, ScanOptions(scan_type="full", root=str(mnt), workers=0)).run()
    assert {d.path for d in full.detections} == {"/tmp/x/eicar.com", "/usr/bin/tool"}
    assert ("/proc", "pseudo filesystem (never scanned)") in {(s.path, s.detail) for s in
                                                              full.skip_examples["excluded"]}
    custom = Scanner(sigset, ScanOptions(root=str(mnt), workers=0)).run(["/tmp"])
    assert [d.path for d in custom.detections] == ["/tmp/x/eicar.com"]


def test_unknown_scan_type_and_empty_custom() -> None:
    with pytest.raises(ValueError):
        Scanner(load_signatures([]), ScanOptions(scan_type="deep")).run()
    with pytest.raises(ValueError):
        Scanner(load_signatures([]), ScanOptions()).run([])


def test_progress_totals_count_skips_like_files_done(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "a")
    os.mkfifo(tmp_path / "fifo")
    os.symlink("a.txt", tmp_path / "link")
    events: list[Progress] = []
    Scanner(load_signatures([]), ScanOptions(workers=0, progress_interval=0)).run([str(tmp_path)],
                                                                                  on_progress=events.append)
    assert (events[-1].files_done, events[-1].files_total, events[-1].percent) == (3, 3, 100.0)


def test_a_rescan_of_a_grown_tree_does_not_sit_near_100(tmp_path: Path) -> None:
    """Issue 10: "a long one sat at 99% for a minute". A rescan took its totals from the previous scan of the
    scope; once the walk passed them, the total was what had been walked, so the figure stayed at 99% until the
    end. Here the tree triples between two scans: the rescan must not claim 90% before half its files are done."""
    root = tmp_path / "tree"
    for i in range(1500):
        write(root / f"d{i // 100:02d}" / f"f{i}.txt", i.to_bytes(4, "big") * 256)
    opts = ScanOptions(workers=0, batch_files=16, progress_interval=0, cache_path=str(tmp_path / "verdicts.db"))
    Scanner(load_signatures([]), opts).run([str(root)])
    for i in range(1500, 4500):
        write(root / f"d{i // 100:02d}" / f"f{i}.txt", i.to_bytes(4, "big") * 256)
    events: list[Progress] = []
    report = Scanner(load_signatures([]), opts).run([str(root)], on_progress=events.append)
    assert report.files_scanned == 4500 and events[-1].percent == 100.0
    early = [round(e.percent) for e in events if e.files_done < 2250]
    assert early and max(early) < 90, early[-10:]
