"""ClamAV's own test files in the content formats: clam.exe found inside each, as clamscan finds it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..conftest import sigtool_hash
from .conftest import LayerWalk, clamscan

FILES = ["clam.exe.html", "clam.exe.mbox.base64", "clam.exe.mbox.uu", "clam.mail", "clam.exe.binhex", "clam.tnef",
         "clam.pdf", "clam.ole.doc", "clam.ppt", "clam.exe.rtf"]


def test_clam_exe_inside_every_content_format(tmp_path: Path, clam_dir: Path, sigtool: str) -> None:
    sig_dir = tmp_path / "sigs"
    sig_dir.mkdir()
    line = sigtool_hash("md5", clam_dir / "clam.exe")
    name = line.rsplit(":", 1)[1]
    (sig_dir / "clam.hdb").write_text(line + "\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in FILES:
        if not (clam_dir / f).exists():
            pytest.skip(f"{f} is not in this clamav-testfiles")
        shutil.copy(clam_dir / f, corpus / f)
    theirs = clamscan(sig_dir, corpus)
    walk = LayerWalk(sig_dir)
    for f in FILES:
        walked = walk.scan((corpus / f).read_bytes(), f)
        assert name in walked.found, (f, walked.layers, walked.problems)
        assert not walked.problems, (f, walked.problems)
        assert theirs.get(f, set()) <= walked.found, f
