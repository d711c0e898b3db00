"""`ScanOptions(pattern_pass=False)`: hashes alone, no yara-x pass, as a fleet sweep scans (agent/sweep.py)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from fleetscan.engine import Scanner, ScanOptions, load_signatures
from tests.support.agent_process import EICAR


@pytest.mark.parametrize("workers", [0, 1])
def test_without_patterns_only_hashes_match(tmp_path: Path, workers: int) -> None:
    content = os.urandom(2048)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "wanted.sha256").write_text(f"{hashlib.sha256(content).hexdigest()}:2048:Wanted\n")
    (tmp_path / "rules" / "marker.yar").write_text('rule marker { strings: $a = "needle-7f3a" condition: $a }\n')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "wanted.bin").write_bytes(content)
    (tree / "eicar.com").write_bytes(EICAR)
    (tree / "marker.txt").write_text("a needle-7f3a here\n")
    with zipfile.ZipFile(tree / "z.zip", "w") as z:
        z.writestr("in/wanted", content)
    sigset = load_signatures([tmp_path / "rules"])

    def found(patterns: bool) -> set[tuple[str, str]]:
        report = Scanner(sigset, ScanOptions(workers=workers, pattern_pass=patterns)).run([str(tree)])
        return {(os.path.basename(d.path) + (f"!{d.member}" if d.member else ""), d.signature)
                for d in report.detections}

    hashes = {("wanted.bin", "Wanted"), ("z.zip!in/wanted", "Wanted")}
    assert found(patterns=False) == hashes
    everything = found(patterns=True)
    assert hashes < everything and ("marker.txt", "marker") in everything
