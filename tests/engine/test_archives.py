"""Archives are scanned inside through libarchive, with limits that bound a zip bomb's cost."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from fleetscan.engine import EICAR, EICAR_NAME, ArchiveLimits, load_signatures

from .conftest import found, scan, sigtool_hash, skips, write

READABLE = ["clam.zip", "clam.7z", "clam.cab", "clam.tar.gz", "clam.exe.bz2", "clam.bz2.zip", "clam.bin-be.cpio",
            "clam.bin-le.cpio", "clam.newc.cpio", "clam.odc.cpio"]


@pytest.mark.parametrize("name", READABLE)
def test_clamav_testfile_archives(name: str, tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    hdb = sigtool_hash("md5", clam_dir / "clam.exe").replace("clam.exe", "Clam.Exe.Hash")
    sigset = load_signatures([write(tmp_path / "s.hdb", hdb + "\n")])
    report = scan([clam_dir / name], sigset)
    assert [(d.signature, d.member is not None) for d in report.detections] == [("Clam.Exe.Hash", True)]
    assert report.detections[0].member in ("clam.exe", "data")


def test_compression_no_decoder_reads_is_reported(clam_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no 7-Zip to fall back on
    report = scan([clam_dir / "clam.impl.zip"])
    assert report.skipped == {"unsupported": 1}
    assert "implode" in report.skip_examples["unsupported"][0].detail


def _zip(members: dict[str, bytes], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _nested(levels: int) -> bytes:
    data = EICAR
    name = "eicar.com"
    for i in range(levels):
        data = _zip({name: data}) if i % 2 == 0 else _tgz({name: data})
        name = f"level{levels - i}.{'zip' if i % 2 == 0 else 'tgz'}"
    return data


def test_nested_archives_report_the_member_chain(tmp_path: Path) -> None:
    f = write(tmp_path / "n.zip", _nested(3))
    report = scan([f])
    assert found(report) == {(f"{f}!level2.tgz!level3.zip!eicar.com", EICAR_NAME)}


def test_deeply_nested_archive_stops_at_max_depth(tmp_path: Path) -> None:
    f = write(tmp_path / "deep.zip", _nested(19))
    report = scan([f])
    assert report.detections == []
    assert skips(report, "archive_limit") == {str(f)}
    assert "nesting deeper than 17" in report.skip_examples["archive_limit"][0].detail
    deeper = scan([f], archive_limits=ArchiveLimits(max_depth=20))
    assert [d.signature for d in deeper.detections] == [EICAR_NAME]


def test_zip_bomb_is_cut_by_ratio(tmp_path: Path) -> None:
    bomb = write(tmp_path / "bomb.zip", _zip({"zeros": b"\0" * (60 * 1024 * 1024)}, level=9))
    assert bomb.stat().st_size < 1024 * 1024
    report = scan([bomb])
    assert skips(report, "archive_limit") == {str(bomb)}
    assert "compression ratio over 250:1" in report.skip_examples["archive_limit"][0].detail


def test_nested_bomb_is_cut_by_expanded_size(tmp_path: Path) -> None:
    layer = _zip({"z": b"\0" * (4 * 1024 * 1024)}, level=9)
    for _ in range(3):
        layer = _zip({f"copy{i}.zip": layer for i in range(16)}, level=0)
    bomb = write(tmp_path / "nested-bomb.zip", layer)
    report = scan([bomb], archive_limits=ArchiveLimits(max_expanded=32 * 1024 * 1024, max_ratio=10**6))
    assert skips(report, "archive_limit") == {str(bomb)}
    assert "expanded size over 33554432 bytes" in report.skip_examples["archive_limit"][0].detail


def test_member_count_and_member_size_limits(tmp_path: Path) -> None:
    many = write(tmp_path / "many.zip", _zip({f"m{i}": b"x" for i in range(50)}))
    r1 = scan([many], archive_limits=ArchiveLimits(max_members=10))
    assert "more than 10 members" in r1.skip_examples["archive_limit"][0].detail
    big = write(tmp_path / "big.zip", _zip({"big": b"y" * 100_000}))
    r2 = scan([big], archive_limits=ArchiveLimits(max_member_size=50_000))
    assert "over the 50000 bytes member limit" in r2.skip_examples["archive_limit"][0].detail


def test_detection_before_a_limit_still_counts(tmp_path: Path) -> None:
    f = write(tmp_path / "mixed.zip", _zip({"a-eicar.com": EICAR, **{f"m{i}": b"x" for i in range(20)}}))
    report = scan([f], archive_limits=ArchiveLimits(max_members=5))
    assert found(report) == {(f"{f}!a-eicar.com", EICAR_NAME)}
    assert report.files_detected == 1 and report.skipped == {}


def test_archives_can_be_turned_off(tmp_path: Path) -> None:
    f = write(tmp_path / "n.zip", _nested(1))
    assert scan([f], scan_archives=False).detections == []
    assert len(scan([f]).detections) == 1
