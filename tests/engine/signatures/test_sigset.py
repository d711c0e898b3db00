from __future__ import annotations

from pathlib import Path

import pytest

from fleetscan.engine import EICAR_NAME, SignatureError, load_signatures
from fleetscan.engine.signatures.sigset import MatchTables

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


def test_cached_tables_lost_after_loading_are_rebuilt(tmp_path: Path) -> None:
    db = write(tmp_path / "db" / "x.ndb", "N.One:0:*:41424344454647\n")
    load_signatures([db], cache_dir=tmp_path / "cache")
    second = load_signatures([db], cache_dir=tmp_path / "cache")
    for f in (tmp_path / "cache").glob("set-*.tables"):
        f.unlink()
    target = write(tmp_path / "t.bin", b"xxABCDEFGxx")
    assert {s for _, s in found(scan([target], second))} == {"N.One"}


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SignatureError):
        load_signatures([tmp_path / "nope"])


def test_unknown_file_given_explicitly_is_reported(tmp_path: Path) -> None:
    sigset = load_signatures([write(tmp_path / "rules.weird", "x")])
    assert sigset.unsupported.counts == {"unrecognised signature file (.weird)": 1}
