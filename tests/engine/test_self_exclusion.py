"""fleetscan never detects itself: its own folders are never entered, by (device, inode) whatever the path, and none
of its files (the package and its bytecode, the compiled rules it caches) holds a test pattern in the clear."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import fleetscan
from fleetscan.engine import EICAR, load_signatures
from fleetscan.engine.locations import PACKAGE_FOLDER
from fleetscan.engine.walk import OWN_FILES

from .conftest import eicar_file, found, scan, skips, write


def own_skips(report: object) -> set[str]:
    return {s.path for s in report.skip_examples.get("excluded", []) if s.detail == OWN_FILES}  # type: ignore[attr-defined]


def test_the_package_folder_is_the_installed_package() -> None:
    assert Path(PACKAGE_FOLDER) == Path(fleetscan.__file__).resolve().parent


def test_the_installed_package_is_never_scanned(tmp_path: Path) -> None:
    report = scan([PACKAGE_FOLDER])
    assert found(report) == set() and report.files_scanned == 0
    assert own_skips(report) == {PACKAGE_FOLDER}
    eicar_module = os.path.join(PACKAGE_FOLDER, "engine", "signatures", "eicar.py")
    report = scan([eicar_module])  # a file given inside it
    assert own_skips(report) == {eicar_module} and report.files_scanned == 0


def test_no_file_of_the_package_nor_its_bytecode_holds_a_test_pattern(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE_FOLDER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert compileall.compile_dir(str(copy), quiet=1, force=True)
    assert list(copy.glob("engine/signatures/__pycache__/eicar.*.pyc"))
    holding = [p for p in copy.rglob("*") if p.is_file() and EICAR in p.read_bytes()]
    assert holding == []
    report = scan([copy])  # a copy is not fleetscan's own: scanned, and clean
    assert found(report) == set() and report.files_scanned > 100


def test_the_signature_cache_is_never_scanned_and_holds_no_pattern(tmp_path: Path) -> None:
    db = write(tmp_path / "sigs" / "x.ndb", "Marker.Sig:0:*:" + b"fleetscan-own-marker".hex() + "\n")
    sigset = load_signatures([db], cache_dir=tmp_path / "data" / "rules")
    sigset.tables  # noqa: B018 - built, hence stored
    assert list((tmp_path / "data" / "rules").glob("set-*.yarx"))
    report = scan([tmp_path / "data"], sigset)
    assert found(report) == set() and own_skips(report) == {str(tmp_path / "data" / "rules")}
    shutil.copytree(tmp_path / "data" / "rules", tmp_path / "copy")
    report = scan([tmp_path / "copy"], sigset)
    assert found(report) == set() and report.files_scanned >= 3


def test_an_own_folder_is_excluded_whatever_path_leads_there(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inside = eicar_file(state / "quarantine" / "x.com")
    eicar_file(tmp_path / "tree" / "real.com")
    os.symlink(state, tmp_path / "tree" / "link-to-state")
    os.symlink(state, tmp_path / "state-link")
    sigset = load_signatures([])
    own = {"own_folders": [str(state)]}
    assert own_skips(scan([state], sigset, **own)) == {str(state)}
    assert own_skips(scan([tmp_path / "state-link"], sigset, **own)) == {str(tmp_path / "state-link")}
    via_link = tmp_path / "state-link" / "quarantine" / "x.com"
    assert own_skips(scan([via_link], sigset, **own)) == {str(via_link)}
    assert own_skips(scan([inside.parent], sigset, **own)) == {str(inside.parent)}
    followed = scan([tmp_path / "tree"], sigset, follow_symlinks=True, **own)
    assert found(followed) == {(str(tmp_path / "tree" / "real.com"), "Eicar-Test-Signature")}
    assert own_skips(followed) == {str(tmp_path / "tree" / "link-to-state")}
    plain = scan([tmp_path / "tree"], sigset)  # not declared as its own: an ordinary folder
    assert skips(plain, "symlink") == {str(tmp_path / "tree" / "link-to-state")}


def test_an_own_folder_is_excluded_through_a_bind_mount(tmp_path: Path) -> None:
    state = tmp_path / "state"
    eicar_file(state / "x.com")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "--bind", str(state), str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts need CAP_SYS_ADMIN")
    try:
        sigset = load_signatures([])
        report = scan([tmp_path], sigset, own_folders=[str(state)])
        assert found(report) == set()
        assert own_skips(report) == {str(state), str(mnt)}
        assert own_skips(scan([mnt / "x.com"], sigset, own_folders=[str(state)])) == {str(mnt / "x.com")}
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
