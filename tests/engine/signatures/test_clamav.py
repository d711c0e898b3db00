"""ClamAV database formats, each checked with ClamAV's own test files and signatures written by ClamAV's sigtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleetscan.engine import SignatureSourceError, load_signatures

from ..conftest import found, scan, sigs, sigtool_hash, sigtool_sections, write


def test_hdb_md5_from_sigtool_detects_clam_exe(tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    line = sigtool_hash("md5", clam_dir / "clam.exe")
    sigset = sigs(tmp_path, "t.hdb", [line.replace("clam.exe", "Test.Hdb")])
    assert sigset.counts["hash"] == 1
    report = scan([clam_dir / "clam.exe", clam_dir / "clam-upx.exe"], sigset)
    assert found(report) == {(str(clam_dir / "clam.exe"), "Test.Hdb")}
    # The UPX-packed copy hides clam.exe from a whole-file hash: without clamd it is not scanned, never clean.
    assert report.files_clean == 0 and report.skipped == {"needs_clamd": 1}


def test_hsb_sha1_and_sha256(tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    lines = [
        sigtool_hash("sha1", clam_dir / "clam.exe").replace("clam.exe", "Test.Sha1"),
        sigtool_hash("sha256", clam_dir / "clam.exe").replace("clam.exe", "Test.Sha256"),
    ]
    report = scan([clam_dir / "clam.exe"], sigs(tmp_path, "t.hsb", lines))
    assert {s for _, s in found(report)} == {"Test.Sha1", "Test.Sha256"}


def test_hash_size_must_match_and_star_means_any_size(tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    digest = sigtool_hash("sha256", clam_dir / "clam.exe").split(":")[0]
    wrong = scan([clam_dir / "clam.exe"], sigs(tmp_path, "a.hsb", [f"{digest}:545:Wrong.Size"]))
    assert wrong.detections == []
    anysize = scan([clam_dir / "clam.exe"], sigs(tmp_path, "b.hsb", [f"{digest}:*:Any.Size"]))
    assert found(anysize) == {(str(clam_dir / "clam.exe"), "Any.Size")}


def test_mdb_section_hash_as_clamav_computes_it(tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    sections = sigtool_sections(clam_dir / "clam.exe")
    assert sections, "sigtool reported no PE section for clam.exe"
    lines = [f"{size}:{md5}:Test.Mdb.{i}" for i, (size, md5) in enumerate(sections)]
    sigset = sigs(tmp_path, "t.mdb", lines)
    assert sigset.counts["pe-section-hash"] == len(lines)
    report = scan([clam_dir / "clam.exe", clam_dir / "clam-aspack.exe"], sigset)
    assert {p for p, _ in found(report)} == {str(clam_dir / "clam.exe")}
    assert {d.sig_type for d in report.detections} == {"pe-section-hash"}


def _clamscan_names(db: Path, target: Path) -> set[str]:
    out = subprocess.run(["clamscan", "--allmatch", "--no-summary", "-d", str(db), str(target)],
                         capture_output=True, text=True)
    return {line.rsplit(": ", 1)[1].removesuffix(" FOUND").removesuffix(".UNOFFICIAL")
            for line in out.stdout.splitlines() if line.endswith(" FOUND")}


def test_ndb_wildcards_offsets_and_targets_agree_with_clamscan(tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    exe = clam_dir / "clam.exe"
    lines = [
        "Ndb.Any:0:*:4b45524e454c33322e444c4c",  # "KERNEL32.DLL" anywhere
        "Ndb.Wild:0:*:4b45??4e454c{2}2e44*434c414d",  # ?? jump {n} and *
        "Ndb.Nibble:0:*:4b4?524e(45|46)4c",  # nibble and alternative
        "Ndb.AtZero.PE:1:0:4d5a5000",  # MZ at offset 0, PE target
        "Ndb.Range:0:100,10:b409cd21",  # starts within 100..110 (at 105)
        "Ndb.Eof:0:EOF-544:4d5a5000",  # the file is 544 bytes
        "Ndb.EntryPoint:1:EP+0:bb711040",  # entry point is file offset 0x40
        "Ndb.WrongOffset:0:1:4d5a5000",  # MZ is at 0, not 1
        "Ndb.WrongTarget:6:*:4b45524e454c",  # ELF only
        "Ndb.Absent:0:*:deadbeefcafe",
    ]
    db = write(tmp_path / "sigs" / "t.ndb", "\n".join(lines) + "\n")
    sigset = load_signatures([db])
    assert sigset.counts["body-pattern"] == len(lines)
    report = scan([exe], sigset)
    expected = {"Ndb.Any", "Ndb.Wild", "Ndb.Nibble", "Ndb.AtZero.PE", "Ndb.Range", "Ndb.Eof", "Ndb.EntryPoint"}
    assert {s for _, s in found(report)} == expected
    assert _clamscan_names(db, exe) == expected  # ClamAV itself agrees on the same database
    offsets = {d.signature: d.offset for d in report.detections}
    assert offsets["Ndb.AtZero.PE"] == 0
    assert offsets["Ndb.Any"] == 0xC0
    assert offsets["Ndb.EntryPoint"] == 0x40
    assert offsets["Ndb.Range"] == 105


def test_unusable_lines_are_counted_by_kind(tmp_path: Path) -> None:
    db = tmp_path / "db"
    write(db / "a.ldb", "Logical.One;Target:0;0;/regex/\nLogical.Two;Target:0;0;$12$\nLogical.Ok;Target:0;0;414141\n")
    write(db / "b.cbc", "ClamBCaa`|`````|`...\n")
    write(db / "c.ndb", "\n".join([
        "Html.Sig:3:*:3c736372697074",  # needs HTML normalisation
        "Section.Sig:1:SL+10:4142434445",  # section-relative offset
        "Anchor.Sig:0:*:41424344(B)45",  # word boundary
        "Good.Sig:0:*:4142434445",
    ]) + "\n")
    write(db / "e.pdb", "R:example.com\n")
    sigset = load_signatures([db])  # what this engine does not evaluate is counted, not an error
    assert sigset.unsupported.damaged == {}
    write(db / "d.hdb", "not-a-hash:12:Bad\n")  # a damaged file is an error ...
    with pytest.raises(SignatureSourceError, match=r"d\.hdb: malformed hash line \(.*d\.hdb:1\)"):
        load_signatures([db])
    sigset = load_signatures([db], ignore_bad=True)  # ... unless accepted: then it is counted with the rest
    assert list(sigset.unsupported.damaged) == [str(db / "d.hdb")]
    u = sigset.unsupported.counts
    assert u["logical signature: PCRE subsignature"] == 1
    assert u["logical signature: macro subsignature"] == 1
    assert sigset.counts["logical"] == 1
    assert u["bytecode signature (.cbc)"] == 1
    assert u["body pattern: target 3 (HTML) needs ClamAV normalisation"] == 1
    assert u["body pattern: section-relative offset"] == 1
    assert u["body pattern: word/line boundary anchor"] == 1
    assert u["malformed hash line"] == 1
    assert u["phishing domain signature (.pdb)"] == 1
    assert sigset.unsupported.total == 8
    assert sigset.counts["body-pattern"] == 1
    assert any("a.ldb:1" in e for e in sigset.unsupported.examples["logical signature: PCRE subsignature"])


def test_yara_file_inside_clamav_database_folder(tmp_path: Path, clam_dir: Path) -> None:
    rule = 'rule ClamTest { strings: $a = "CLAMessageBox" condition: $a }'
    sigset = load_signatures([write(tmp_path / "db" / "x.yara", rule)])
    assert found(scan([clam_dir / "clam.exe"], sigset)) == {(str(clam_dir / "clam.exe"), "ClamTest")}
