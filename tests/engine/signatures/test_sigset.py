from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fleetscan.engine import EICAR, EICAR_NAME, SignatureSourceError, load_signatures, sources_stamp
from fleetscan.engine.signatures import MatchTables
from fleetscan.engine.signatures import load as load_module
from fleetscan.engine.signatures.set_cache import KEEP_SETS

from ..conftest import eicar_file, found, scan, write


def test_eicar_is_always_loaded(tmp_path: Path) -> None:
    sigset = load_signatures([])
    assert sigset.counts == {"eicar": 1}
    report = scan([eicar_file(tmp_path / "e.com")], sigset)
    assert found(report) == {(str(tmp_path / "e.com"), EICAR_NAME)}
    assert report.detections[0].severity == "low"
    assert report.detections[0].signature_version == sigset.version


def test_version_is_a_digest_of_contents(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "x.hdb", "aa15bcf478d165efd2065190eb473bcb:544:A\n")
    b = write(tmp_path / "b" / "renamed.hdb", "aa15bcf478d165efd2065190eb473bcb:544:A\n")
    c = write(tmp_path / "c" / "x.hdb", "aa15bcf478d165efd2065190eb473bcb:544:B\n")
    va, vb, vc = (load_signatures([p]).version for p in (a, b, c))
    assert va == vb  # same contents, other name
    assert va != vc
    assert load_signatures([]).version != va


def test_compiled_rules_cache_gives_the_same_set(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\nN.Bad:0:*:41(B)42\n")
    first = load_signatures([db], cache_dir=tmp_path / "cache")
    for suffix in ("yarx", "tables", "meta"):
        assert list((tmp_path / "cache").glob(f"set-*.{suffix}"))
    second = load_signatures([db], cache_dir=tmp_path / "cache")
    assert not isinstance(second.tables_or_loader, MatchTables)  # read back only when a file must be matched
    assert second.counts == first.counts
    assert second.unsupported.counts == first.unsupported.counts
    target = write(tmp_path / "t.bin", b"xxABCDEFGxx")
    assert {s for _, s in found(scan([target], second))} == {"N.One"}


def test_cached_tables_deleted_after_loading_are_still_read(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\n")
    load_signatures([db], cache_dir=tmp_path / "cache")
    second = load_signatures([db], cache_dir=tmp_path / "cache")
    shutil.rmtree(tmp_path / "cache")  # pruned by another process, or cleaned up by hand
    target = write(tmp_path / "t.bin", b"xxABCDEFGxx")
    assert {s for _, s in found(scan([target], second))} == {"N.One"}


def test_cached_tables_that_no_longer_load_are_rebuilt_once(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\n")
    load_signatures([db], cache_dir=tmp_path / "cache")
    (yarx,) = (tmp_path / "cache").glob("set-*.yarx")
    yarx.write_bytes(b"written by another yara-x")
    damaged = load_signatures([db], cache_dir=tmp_path / "cache")
    target = write(tmp_path / "t.bin", b"xxABCDEFGxx")
    assert {s for _, s in found(scan([target], damaged))} == {"N.One"}
    repaired = load_signatures([db], cache_dir=tmp_path / "cache")
    assert repaired.rules is not None and yarx.read_bytes() != b"written by another yara-x"


def test_a_stamp_whose_set_is_gone_reads_the_sources(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\n")
    first = load_signatures([db], cache_dir=tmp_path / "cache")
    for f in (tmp_path / "cache").glob("set-*"):
        f.unlink()
    assert list((tmp_path / "cache").glob("stamp-*"))
    again = load_signatures([db], cache_dir=tmp_path / "cache")
    assert again.version == first.version and list((tmp_path / "cache").glob("set-*.meta"))


def test_renaming_a_source_to_another_format_changes_the_version(tmp_path: Path) -> None:
    line = "aa15bcf478d165efd2065190eb473bcb:544:A\n"
    write(tmp_path / "a" / "x.txt", line)
    as_text = load_signatures([tmp_path / "a"], cache_dir=tmp_path / "cache")
    as_hdb = load_signatures([write(tmp_path / "b" / "x.hdb", line)], cache_dir=tmp_path / "cache")
    assert as_text.version != as_hdb.version and as_hdb.counts.get("hash") == 1


def test_an_unchanged_set_is_found_again_without_reading_its_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\n")
    first = load_signatures([db], cache_dir=tmp_path / "cache")
    assert first.stamp == sources_stamp([db])

    def no_reading(paths: object) -> object:
        raise AssertionError("sources read although their stamp is known")

    with monkeypatch.context() as m:
        m.setattr(load_module, "read_sources", no_reading)
        again = load_signatures([db], cache_dir=tmp_path / "cache")
    assert (again.version, again.counts, again.stamp) == (first.version, first.counts, first.stamp)
    db.write_text("N.One:0:*:41424344454647\n")  # same contents, rewritten: a new stamp, the same version
    assert sources_stamp([db]) != first.stamp
    rewritten = load_signatures([db], cache_dir=tmp_path / "cache")
    assert rewritten.version == first.version and rewritten.stamp == sources_stamp([db])
    db.write_text("N.Two:0:*:5858585858585858\n")
    changed = load_signatures([db], cache_dir=tmp_path / "cache")
    assert changed.version != first.version
    target = write(tmp_path / "t.bin", b"..XXXXXXXX..")
    assert {s for _, s in found(scan([target], changed))} == {"N.Two"}


def test_only_the_most_recent_sets_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "db" / "x.hdb"
    versions = []
    for n in range(KEEP_SETS + 3):
        write(db, f"{n:032x}:10:Sig.{n}\n")
        versions.append(load_signatures([db], cache_dir=tmp_path / "cache").version)
    kept = {f.name.split(".")[0].removeprefix("set-") for f in (tmp_path / "cache").glob("set-*")}
    assert versions[-1] in kept and len(kept) <= KEEP_SETS + 1
    assert versions[0] not in kept
    stamps = {f.read_text() for f in (tmp_path / "cache").glob("stamp-*")}
    assert stamps <= kept


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SignatureSourceError):
        load_signatures([tmp_path / "nope"])


def test_unknown_file_given_explicitly_is_an_error(tmp_path: Path) -> None:
    source = write(tmp_path / "rules.weird", "x")
    with pytest.raises(SignatureSourceError, match=r"rules\.weird: unrecognised signature file \(\.weird\)"):
        load_signatures([source])
    sigset = load_signatures([source], ignore_bad=True)
    assert sigset.unsupported.counts == {"unrecognised signature file (.weird)": 1}


def test_compiled_rules_cache_holds_no_pattern_in_the_clear(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:" + b"fleetscan-marker-pattern".hex() + "\n")
    load_signatures([db], cache_dir=tmp_path / "cache")
    cached = b"".join(f.read_bytes() for f in (tmp_path / "cache").iterdir())
    assert EICAR not in cached and b"fleetscan-marker-pattern" not in cached
    again = load_signatures([db], cache_dir=tmp_path / "cache")  # read back through the mask
    target = write(tmp_path / "t" / "t.bin", b"..fleetscan-marker-pattern..")
    assert {s for _, s in found(scan([target, eicar_file(tmp_path / "t" / "e.com")], again))} == {
        "N.One", EICAR_NAME}


def test_home_in_signature_and_cache_paths_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "home" / "sigs" / "x.ndb", "N.One:0:*:41424344454647\n")
    sigset = load_signatures(["~/sigs"], cache_dir="~/.cache/fleetscan/rules")
    assert sigset.counts["body-pattern"] == 1
    assert sigset.stamp == sources_stamp([tmp_path / "home" / "sigs"])
    assert sigset.cache_dir == str(tmp_path / "home" / ".cache" / "fleetscan" / "rules")
    assert list((tmp_path / "home" / ".cache" / "fleetscan" / "rules").glob("set-*.yarx"))
    assert not (tmp_path / "~").exists()
