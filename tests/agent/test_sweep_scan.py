"""A sweep's scan on one host (agent/sweep.py, agent/scanning.py): the work item's hashes alone, size-keyed."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from fleetscan.agent import sweep
from fleetscan.agent.scanning import ScanJob, ScanSnapshot
from fleetscan.engine import SignatureSet
from tests.support.agent_process import EICAR


def _item(sweep_items: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    return {"subtask_id": "s1", "scan_type": "custom", "scan_paths": [str(folder)], "sweep": sweep_items}


def _no_local_signatures() -> SignatureSet:
    raise AssertionError("a sweep must not load the host's own signatures")


def test_a_hash_only_set_is_size_keyed_and_leaves_nothing_behind(tmp_path: Path) -> None:
    digest = "ab" * 32
    sigset = sweep.load([{"sha256": digest, "size": 4096, "name": "Sweep.SHA256.abababababab"}], tmp_path / "s")
    assert len(sigset.hash_index) == 1
    assert sigset.hash_index.algos_for(4096) == {"sha256"} and sigset.hash_index.algos_for(4095) == set()
    assert not (tmp_path / "s").exists()
    anywhere = sweep.load([{"sha256": digest, "size": None, "name": "Sweep.SHA256.abababababab"}], tmp_path / "s")
    assert anywhere.hash_index.algos_for(1) == {"sha256"}


@pytest.mark.parametrize("size", [None, 3000])
def test_a_sweep_reports_the_wanted_file_wherever_it_is_and_nothing_else(tmp_path: Path, size: int | None) -> None:
    content = os.urandom(3000)
    digest = hashlib.sha256(content).hexdigest()
    tree = tmp_path / "tree"
    (tree / "deep" / "er").mkdir(parents=True)
    (tree / "deep" / "er" / "copy.bin").write_bytes(content)
    (tree / "other.bin").write_bytes(os.urandom(3000))
    (tree / "eicar.com").write_bytes(EICAR)
    with zipfile.ZipFile(tree / "bundle.zip", "w") as z:
        z.writestr("inner/payload", content)
    name = f"Sweep.SHA256.{digest[:12]}"
    job = ScanJob(_item([{"sha256": digest, "size": size, "name": name}], tree), None,
                  signatures=_no_local_signatures, root=None, state_dir=str(tmp_path / "state"), workers=1)
    outcome = job.run(lambda _: None, lambda: False, 60.0)
    assert outcome.error == ""
    found = {(f["file_path"], f["malware_name"]) for f in outcome.snapshot.findings}
    assert found == {(str(tree / "deep" / "er" / "copy.bin"), name), (f"{tree / 'bundle.zip'}!inner/payload", name)}
    assert isinstance(outcome.snapshot, ScanSnapshot) and job.options.cache_path is None


@pytest.mark.parametrize("bad", [{"sha256": "zz" * 32, "name": "n"}, {"sha256": "ab" * 32, "name": "a:b"}, {}])
def test_a_bad_sweep_item_fails_the_subtask_with_its_reason(tmp_path: Path, bad: dict[str, Any]) -> None:
    job = ScanJob(_item([bad], tmp_path), None, signatures=_no_local_signatures, root=None,
                  state_dir=str(tmp_path / "state"), workers=1)
    outcome = job.run(lambda _: None, lambda: False, 60.0)
    assert outcome.error.startswith("signatures: sweep:")
