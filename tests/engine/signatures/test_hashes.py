from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fleetscan.engine import SignatureSourceError, load_signatures
from fleetscan.engine.signatures.hashes import HashIndex
from fleetscan.engine.signatures.model import HashSig

from ..conftest import found, scan, write


def test_plain_hash_lists_in_several_shapes(tmp_path: Path) -> None:
    files = {name: write(tmp_path / "t" / name, f"payload {name}".encode()) for name in ("a", "b", "c", "d")}
    h = {n: p.read_bytes() for n, p in files.items()}
    lines = [
        hashlib.sha256(h["a"]).hexdigest(),  # bare digest, any size
        f"{hashlib.sha1(h['b']).hexdigest()}:{len(h['b'])}:Named.B",
        f"{hashlib.md5(h['c']).hexdigest()}  c-from-md5sum",  # md5sum output
        f"{hashlib.sha256(h['d']).hexdigest()},{len(h['d']) + 1},Wrong.Size",
        "# a comment",
        "xyz not a hash",
    ]
    source = write(tmp_path / "s" / "list.hashes", "\n".join(lines))
    with pytest.raises(SignatureSourceError, match=r"list\.hashes: malformed hash line \(.*list\.hashes:6\)"):
        load_signatures([source])  # a line that is not a hash: the list is damaged
    sigset = load_signatures([source], ignore_bad=True)
    assert sigset.counts["hash"] == 4
    assert sigset.unsupported.counts == {"malformed hash line": 1}
    names = {s for _, s in found(scan([tmp_path / "t"], sigset))}
    assert names == {f"Hash.sha256.{hashlib.sha256(h['a']).hexdigest()[:16]}", "Named.B", "c-from-md5sum"}


def test_index_only_asks_for_hashes_of_signature_sizes() -> None:
    idx = HashIndex([HashSig("A", "sha256", "00" * 32, 10, "hash"), HashSig("B", "md5", "11" * 16, 20, "hash")])
    assert idx.algos_for(10) == {"sha256"}
    assert idx.algos_for(11) == set()
    assert idx.lookup(10, {"sha256": "00" * 32}) == [("A", "hash")]
    assert idx.lookup(20, {"sha256": "00" * 32}) == []
