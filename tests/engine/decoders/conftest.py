"""A layer walk for testing decoders end to end, before the engine's own walk consumes the registry.

`LayerWalk` matches a buffer with the worker's real `Matcher` (a compiled signature set, yara-x, hash tables), asks
the registered decoders for the layers inside, depth first, and matches those too: what the engine will do. Each
test builds its own corpus around one random marker, written as ClamAV signatures (`.ndb` body pattern, `.hdb`
whole-file md5) that both fleetscan and `clamscan` load, so every row compares the two on the same files.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import fleetscan.engine.decoders.content  # noqa: F401  (importing it registers the content decoders)
from fleetscan.engine import load_signatures
from fleetscan.engine.decoders import Undecodable, claiming
from fleetscan.engine.limits import ArchiveLimitExceeded, ArchiveLimits, Budget
from fleetscan.engine.workers import Matcher, WorkerConfig

MAX_DEPTH = 8


@dataclass
class Walked:
    found: set[str] = field(default_factory=set)
    """Signature names matched in any layer."""
    layers: list[str] = field(default_factory=list)
    """Every layer's member chain, in walk order."""
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    """(chain, skip reason, detail) of every layer a decoder could not open."""

    def where(self, signature: str) -> set[str]:
        return {c for c, s in self.hits if s == signature}

    hits: set[tuple[str, str]] = field(default_factory=set)
    clamscan: set[str] = field(default_factory=set)
    """What clamscan found in the same file, when compared."""


class LayerWalk:
    def __init__(self, sig_dir: Path, limits: ArchiveLimits | None = None) -> None:
        self.matcher = Matcher(WorkerConfig.from_sigset(load_signatures([sig_dir])))
        self.limits = limits or ArchiveLimits()

    def scan(self, data: bytes, name: str = "") -> Walked:
        walked = Walked()
        self._layer(data, name, "", Budget(self.limits, archive_size=len(data)), 0, walked)
        return walked

    def _layer(self, data: bytes, name: str, chain: str, budget: Budget, depth: int, walked: Walked) -> None:
        out: list = []
        seen = self.matcher.scan_bytes(data, chain or None, out)
        walked.layers.append(chain)
        for sig, *_ in out:
            walked.found.add(sig)
            walked.hits.add((chain, sig))
        if depth >= MAX_DEPTH:
            return
        for decoder in self.matcher.wanted(claiming(data[:4096], name), seen):  # as the engine asks them
            try:
                for layer in decoder.decode(data, name, budget):
                    sub = f"{chain}!{layer.name}" if chain else layer.name
                    self._layer(layer.data, layer.name, sub, budget, depth + 1, walked)
            except Undecodable as exc:
                walked.problems.append((chain, str(exc.reason), exc.detail))
            except ArchiveLimitExceeded as exc:
                walked.problems.append((chain, "archive_limit", str(exc)))


@dataclass
class Marker:
    """A random byte string and the signatures that find it: `Marker.Body` anywhere (.ndb), `Marker.Hash` on the
    exact payload (.hdb)."""

    text: bytes
    payload: bytes
    sig_dir: Path

    BODY = "Marker.Body"
    HASH = "Marker.Hash"
    EICAR = "Eicar.Ndb"


@pytest.fixture
def marker(tmp_path: Path) -> Marker:
    text = b"fleetscan-marker-" + secrets.token_hex(8).encode()
    payload = b"MZ\x90\x00" + secrets.token_bytes(300) + text + secrets.token_bytes(200)
    sig_dir = tmp_path / "sigs"
    sig_dir.mkdir()
    (sig_dir / "m.ndb").write_text(f"{Marker.BODY}:0:*:{text.hex()}\n")
    (sig_dir / "m.hdb").write_text(f"{hashlib.md5(payload).hexdigest()}:{len(payload)}:{Marker.HASH}\n")
    return Marker(text, payload, sig_dir)


@pytest.fixture
def walk(marker: Marker) -> LayerWalk:
    return LayerWalk(marker.sig_dir)


def clamscan(sig_dir: Path, target: Path) -> dict[str, set[str]]:
    """What clamscan finds in each file under `target`, with the same signatures: {file name: {signature}}."""
    if shutil.which("clamscan") is None:
        pytest.skip("Debian package clamav (clamscan) is not installed")
    out = subprocess.run(
        ["clamscan", "--no-summary", "--allmatch", "-r", "--bytecode=no", "-d", str(sig_dir), str(target)],
        capture_output=True, text=True,
    )
    assert out.returncode in (0, 1), out.stderr
    hits: dict[str, set[str]] = {}
    for line in out.stdout.splitlines():
        if line.endswith(" FOUND"):
            path, _, sig = line[: -len(" FOUND")].rpartition(": ")
            hits.setdefault(Path(path).name, set()).add(sig.removesuffix(".UNOFFICIAL"))
    return hits


def compare_with_clamscan(walk: LayerWalk, sig_dir: Path, corpus: dict[str, bytes], tmp: Path) -> dict[str, Walked]:
    """Write the corpus, scan each file with the layer walk and the folder with clamscan, and assert fleetscan finds
    at least what clamscan finds in every file. Returns the walks, for the test's own assertions."""
    folder = tmp / "corpus"
    folder.mkdir()
    for name, data in corpus.items():
        (folder / name).write_bytes(data)
    theirs = clamscan(sig_dir, folder)
    ours = {name: walk.scan(data, name) for name, data in corpus.items()}
    for name in corpus:
        missing = theirs.get(name, set()) - ours[name].found
        assert not missing, f"{name}: clamscan found {missing}, fleetscan did not (layers {ours[name].layers})"
        ours[name].clamscan = theirs.get(name, set())
    return ours
