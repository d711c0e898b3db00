"""The agent's quarantine store on a real filesystem: neutralised copies, exact restores, refusals."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from fleetscan.agent.quarantine import QuarantineError, QuarantineStore
from tests.support.agent_process import EICAR


def _plant(path: Path, data: bytes, mode: int = 0o4750, owner: tuple[int, int] = (1234, 2345)) -> os.stat_result:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if os.geteuid() == 0:
        os.chown(path, *owner)
    os.chmod(path, mode)
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    return os.stat(path)


@pytest.fixture
def store(tmp_path: Path) -> QuarantineStore:
    return QuarantineStore(tmp_path / "state" / "quarantine")


def test_quarantine_then_restore_gives_back_the_identical_file(store: QuarantineStore, tmp_path: Path) -> None:
    data = EICAR + os.urandom(3 << 20)  # more than one chunk, incompressible tail
    path = tmp_path / "srv" / "evil.bin"
    before = _plant(path, data)
    record = store.quarantine("q1", str(path), hashlib.sha256(data).hexdigest())
    assert not path.exists()
    stored = (store.root / "q1.bin").read_bytes()
    assert EICAR not in stored and stored[:2048] != data[:2048]
    assert stat.S_IMODE((store.root / "q1.bin").stat().st_mode) == 0o600
    assert (record.size, record.mode, record.uid) == (len(data), 0o4750, before.st_uid)

    store.restore("q1")
    after = os.stat(path)
    assert path.read_bytes() == data
    assert stat.S_IMODE(after.st_mode) == 0o4750
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert (after.st_mtime_ns, after.st_atime_ns) == (before.st_mtime_ns, before.st_atime_ns)
    assert not (store.root / "q1.bin").exists()
    assert [p.name for p in path.parent.iterdir()] == ["evil.bin"]  # no temporary file left behind


def test_empty_file_round_trips(store: QuarantineStore, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    _plant(path, b"", mode=0o644)
    store.quarantine("q0", str(path))
    store.restore("q0")
    assert path.read_bytes() == b"" and stat.S_IMODE(path.stat().st_mode) == 0o644


def test_restore_refuses_to_overwrite_a_newer_file(store: QuarantineStore, tmp_path: Path) -> None:
    path = tmp_path / "app" / "tool"
    _plant(path, EICAR)
    store.quarantine("q2", str(path))
    path.write_bytes(b"the new, clean version")
    with pytest.raises(QuarantineError) as refused:
        store.restore("q2")
    assert refused.value.code == "exists"
    assert path.read_bytes() == b"the new, clean version"
    assert (store.root / "q2.bin").exists()  # still quarantined: nothing lost
    path.unlink()
    store.restore("q2")
    assert path.read_bytes() == EICAR


def test_restore_refuses_a_symlink_in_the_way(store: QuarantineStore, tmp_path: Path) -> None:
    path = tmp_path / "x"
    _plant(path, EICAR)
    store.quarantine("q3", str(path))
    os.symlink(tmp_path / "elsewhere", path)
    with pytest.raises(QuarantineError, match="exists"):
        store.restore("q3")
    assert not (tmp_path / "elsewhere").exists()


def test_restore_checks_the_hash_of_the_stored_copy(store: QuarantineStore, tmp_path: Path) -> None:
    path = tmp_path / "y"
    _plant(path, EICAR * 50)
    store.quarantine("q4", str(path))
    blob = store.root / "q4.bin"
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    blob.write_bytes(bytes(damaged))
    with pytest.raises(QuarantineError) as refused:
        store.restore("q4")
    assert refused.value.code == "corrupt"
    assert not path.exists() and list(path.parent.glob(".y.*")) == []


def test_quarantine_refuses_a_file_changed_since_detection(store: QuarantineStore, tmp_path: Path) -> None:
    path = tmp_path / "z"
    _plant(path, b"changed content")
    with pytest.raises(QuarantineError) as refused:
        store.quarantine("q5", str(path), hashlib.sha256(EICAR).hexdigest())
    assert refused.value.code == "changed"
    assert path.read_bytes() == b"changed content"
    assert list(store.root.iterdir()) == []


def test_quarantine_refuses_missing_files_and_symlinks(store: QuarantineStore, tmp_path: Path) -> None:
    with pytest.raises(QuarantineError, match="not_found"):
        store.quarantine("q6", str(tmp_path / "missing"))
    target = tmp_path / "real"
    _plant(target, EICAR)
    os.symlink(target, tmp_path / "link")
    with pytest.raises(QuarantineError, match="not_regular"):
        store.quarantine("q7", str(tmp_path / "link"))
    assert target.exists()


def test_operations_are_idempotent(store: QuarantineStore, tmp_path: Path) -> None:
    path = tmp_path / "w"
    _plant(path, EICAR)
    first = store.quarantine("q8", str(path))
    assert store.quarantine("q8", str(path)).sha256 == first.sha256
    store.restore("q8")
    assert store.restore("q8").state == "restored"
    assert path.read_bytes() == EICAR


def test_a_quarantine_interrupted_before_the_unlink_is_finished_when_repeated(
    store: QuarantineStore, tmp_path: Path
) -> None:
    path = tmp_path / "v"
    _plant(path, EICAR)
    data = path.read_bytes()
    store.quarantine("q9", str(path))
    path.write_bytes(data)  # as if the agent died after writing the copy, before unlinking the original
    os.chmod(path, 0o4750)
    store.quarantine("q9", str(path))
    assert not path.exists()
    store.restore("q9")
    assert path.read_bytes() == data


def test_bad_ids_are_refused(store: QuarantineStore, tmp_path: Path) -> None:
    with pytest.raises(QuarantineError, match="invalid"):
        store.quarantine("../../etc", str(tmp_path / "a"))
    with pytest.raises(QuarantineError, match="not_found"):
        store.restore("nosuch")
