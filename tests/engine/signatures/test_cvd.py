"""Signed containers: built here by ClamAV's own sigtool, then read back (header, MD5, tar)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleetscan.engine import load_signatures
from fleetscan.engine.signatures.cvd import CvdError, read_cvd

from ..conftest import found, scan, sigtool_hash, write


def build_cvd(tmp: Path, files: dict[str, str], name: str = "test") -> Path:
    src = tmp / "cvdsrc"
    for fn, text in files.items():
        write(src / fn, text)
    write(src / "COPYING", "test database\n")
    empty = tmp / "empty"
    empty.mkdir(exist_ok=True)
    subprocess.run(
        ["sigtool", f"--build={name}.cvd", "--unsigned", "--cvd-version=7", f"--datadir={empty}", "--no-cdiff"],
        cwd=src, input="fleetscan-tests\n", capture_output=True, text=True, check=True,
    )
    return src / f"{name}.cvd"


@pytest.fixture
def cvd(tmp_path: Path, clam_dir: Path, sigtool: str) -> Path:
    hdb = sigtool_hash("md5", clam_dir / "clam.exe").replace("clam.exe", "Cvd.Hdb")
    return build_cvd(tmp_path, {"test.hdb": hdb + "\n", "test.ndb": "Cvd.Ndb:0:*:434c414d657373616765426f78\n",
                                "test.ldb": "Cvd.Ldb;Target:1;0&1;434c414d;4d657373616765426f78\n"})


def test_cvd_is_unpacked_and_used(cvd: Path, clam_dir: Path) -> None:
    sigset = load_signatures([cvd])
    assert sigset.counts["hash"] == 1 and sigset.counts["body-pattern"] == 1 and sigset.counts["logical"] == 1
    assert sigset.unsupported.counts == {}
    assert any("container version 7" in n for n in sigset.notes)
    report = scan([clam_dir / "clam.exe"], sigset)
    assert {s for _, s in found(report)} == {"Cvd.Hdb", "Cvd.Ndb", "Cvd.Ldb"}


def test_cld_is_the_same_container(cvd: Path, tmp_path: Path, clam_dir: Path) -> None:
    cld = tmp_path / "test.cld"
    cld.write_bytes(cvd.read_bytes())
    sigset = load_signatures([cld])
    assert sigset.counts["hash"] == 1


def test_damaged_cvd_is_refused_and_reported(cvd: Path, tmp_path: Path) -> None:
    data = bytearray(cvd.read_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(CvdError, match="MD5"):
        read_cvd(bytes(data))
    bad = write(tmp_path / "bad.cvd", bytes(data))
    sigset = load_signatures([bad])
    assert sigset.unsupported.counts == {"unreadable container: MD5 of the body does not match the header": 1}
    assert "hash" not in sigset.counts
