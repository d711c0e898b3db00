"""The host's quarantine: a detected file's content kept neutralised in the state folder, restorable byte for byte.

A quarantined file is compressed (zlib) then XOR-ed with a random per-file key, so the stored copy is neither
executable nor recognisable by another scanner, and written as `quarantine/<id>.bin` (mode 0600) beside
`quarantine/<id>.json`, which keeps what a restore needs: the original path, sha256, size, owner, mode and times.

Crash safety, in this order: the neutralised copy is written to a temporary file, fsynced and renamed; the
metadata is written atomically; only then is the original unlinked. A crash anywhere leaves either the original
or a complete quarantined copy (and, between the last two steps, both: repeating the quarantine finishes it).
A restore writes a temporary file in the target folder, sets owner, mode and times, and links it into place
with `link(2)`, which fails rather than overwrite: a file that appeared at that path since is never clobbered.

Operations are idempotent by quarantine id, so the server may send the same action again after a lost answer.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .state import read_json, write_atomic

CHUNK = 1 << 20
QUARANTINED = "quarantined"
RESTORED = "restored"


class QuarantineError(Exception):
    """A quarantine or restore that cannot be done; `code` is what the server records."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class QuarantineRecord:
    quarantine_id: str
    original_path: str
    sha256: str
    size: int
    uid: int
    gid: int
    mode: int  # permission bits, setuid/setgid/sticky included
    atime_ns: int
    mtime_ns: int
    key: str  # hex XOR key of the stored copy
    quarantined_at: int  # ms
    state: str = QUARANTINED
    restored_at: int | None = None
    md5: str = ""  # what Alibaba's quarantine list shows (Md5); empty in records written before it was kept

    def public(self) -> dict[str, Any]:
        """What the agent tells the server: everything but the key."""
        data = asdict(self)
        data.pop("key")
        data["mtime"] = self.mtime_ns // 1_000_000
        data["atime"] = self.atime_ns // 1_000_000
        return data


def _xor(data: bytes, key: bytes, offset: int) -> bytes:
    """XOR `data` with `key` repeated, starting at stream position `offset`."""
    if not data:
        return data
    start = offset % len(key)
    stream = (key[start:] + key * (len(data) // len(key) + 2))[: len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(len(data), "little")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class QuarantineStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def _meta(self, quarantine_id: str) -> Path:
        if not quarantine_id.isalnum() or len(quarantine_id) > 64:
            raise QuarantineError("invalid", f"bad quarantine id {quarantine_id!r}")
        return self.root / f"{quarantine_id}.json"

    def _blob(self, quarantine_id: str) -> Path:
        return self.root / f"{quarantine_id}.bin"

    def record(self, quarantine_id: str) -> QuarantineRecord | None:
        data = read_json(self._meta(quarantine_id))
        return QuarantineRecord(**data) if data else None

    def records(self) -> Iterator[QuarantineRecord]:
        for meta in sorted(self.root.glob("*.json")):
            found = self.record(meta.stem)
            if found is not None:
                yield found

    # ------------------------------------------------------------------ quarantine
    def quarantine(self, quarantine_id: str, path: str, expected_sha256: str | None = None) -> QuarantineRecord:
        """Move the file at `path` into the store; `expected_sha256` refuses a file changed since detection."""
        earlier = self.record(quarantine_id)
        if earlier is not None:
            return self._finish_earlier(earlier)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise QuarantineError("not_found", f"no file at {path}") from None
        if not stat.S_ISREG(st.st_mode):
            raise QuarantineError("not_regular", f"{path} is not a regular file")
        key = secrets.token_bytes(32)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{quarantine_id}.")
        try:
            digest, md5, size = self._write_neutralised(path, fd, key)
            if expected_sha256 is not None and digest != expected_sha256.lower():
                raise QuarantineError("changed", f"{path} changed since it was detected (sha256 {digest})")
            os.replace(tmp, self._blob(quarantine_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        record = QuarantineRecord(
            quarantine_id=quarantine_id,
            original_path=path,
            sha256=digest,
            md5=md5,
            size=size,
            uid=st.st_uid,
            gid=st.st_gid,
            mode=stat.S_IMODE(st.st_mode),
            atime_ns=st.st_atime_ns,
            mtime_ns=st.st_mtime_ns,
            key=key.hex(),
            quarantined_at=int(time.time() * 1000),
        )
        write_atomic(self._meta(quarantine_id), asdict(record))
        _fsync_dir(self.root)
        self._unlink_original(record)
        return record

    @staticmethod
    def _write_neutralised(path: str, out_fd: int, key: bytes) -> tuple[str, str, int]:
        """Copy the file into the store, compressed and XORed; its sha256, md5 and size, read in the same pass."""
        digest = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        squeeze = zlib.compressobj(6)
        size = written = 0
        try:
            src = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            os.close(out_fd)
            raise QuarantineError("unreadable", f"{path}: {exc.strerror}") from None
        with os.fdopen(src, "rb") as f, os.fdopen(out_fd, "wb") as out:
            for block in iter(lambda: f.read(CHUNK), b""):
                digest.update(block)
                md5.update(block)
                size += len(block)
                packed = squeeze.compress(block)
                out.write(_xor(packed, key, written))
                written += len(packed)
            out.write(_xor(squeeze.flush(), key, written))
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), md5.hexdigest(), size

    def _unlink_original(self, record: QuarantineRecord) -> None:
        try:
            os.unlink(record.original_path)
        except FileNotFoundError:
            pass
        _fsync_dir(Path(record.original_path).parent)

    def _finish_earlier(self, earlier: QuarantineRecord) -> QuarantineRecord:
        """The same quarantine again: finish an interrupted one (the original still there, unchanged)."""
        if earlier.state == QUARANTINED and _sha256_file(earlier.original_path) == earlier.sha256:
            self._unlink_original(earlier)
        return earlier

    # ------------------------------------------------------------------ restore
    def restore(self, quarantine_id: str) -> QuarantineRecord:
        """Put the file back as it was; refuse if anything exists at its path now, or if the copy is damaged."""
        record = self.record(quarantine_id)
        if record is None:
            raise QuarantineError("not_found", f"no quarantined file {quarantine_id}")
        if record.state == RESTORED:
            return record
        target = Path(record.original_path)
        if os.path.lexists(target):
            raise QuarantineError("exists", f"a file now exists at {target}: not overwritten")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.fleetscan-restore.")
        try:
            with os.fdopen(fd, "wb") as out:
                digest = self._write_plain(record, out)
                if digest != record.sha256:
                    raise QuarantineError("corrupt", f"stored copy of {target} does not match its sha256")
                if os.geteuid() == 0 or record.uid == os.geteuid():
                    os.fchown(out.fileno(), record.uid, record.gid)
                os.fchmod(out.fileno(), record.mode)  # after chown, which clears setuid bits
                out.flush()
                os.fsync(out.fileno())
            os.utime(tmp, ns=(record.atime_ns, record.mtime_ns))
            try:
                os.link(tmp, target)  # never replaces: a file that appeared meanwhile wins
            except FileExistsError:
                raise QuarantineError("exists", f"a file now exists at {target}: not overwritten") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        _fsync_dir(target.parent)
        record.state, record.restored_at = RESTORED, int(time.time() * 1000)
        write_atomic(self._meta(quarantine_id), asdict(record))
        self._blob(quarantine_id).unlink(missing_ok=True)
        return record

    def _write_plain(self, record: QuarantineRecord, out: Any) -> str:
        key = bytes.fromhex(record.key)
        digest = hashlib.sha256()
        unsqueeze = zlib.decompressobj()
        offset = 0
        try:
            with self._blob(record.quarantine_id).open("rb") as f:
                for block in iter(lambda: f.read(CHUNK), b""):
                    plain = unsqueeze.decompress(_xor(block, key, offset))
                    offset += len(block)
                    digest.update(plain)
                    out.write(plain)
                tail = unsqueeze.flush()
        except (OSError, zlib.error) as exc:
            raise QuarantineError("corrupt", f"stored copy unreadable: {exc}") from None
        digest.update(tail)
        out.write(tail)
        return digest.hexdigest()
