"""The agent's state folder: its credential, scan checkpoints and the reports not yet acknowledged.

Every write is atomic (write a temporary file, fsync, rename), so a SIGKILL at any instant leaves either the
old or the new content, never half of one: that is what lets a restarted agent resume instead of starting over.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: dict[str, Any] | bytes) -> None:
    """JSON (a dict) or bytes, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data if isinstance(data, bytes) else json.dumps(data).encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open() as f:
            data: dict[str, Any] = json.load(f)
            return data
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Credential:
    server: str
    agent_id: str
    agent_secret: str
    host_id: str


class StateDir:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        (self.root / "outbox").mkdir(exist_ok=True)
        (self.root / "checkpoints").mkdir(exist_ok=True)

    # credential
    def credential(self) -> Credential | None:
        data = read_json(self.root / "credential.json")
        return Credential(**data) if data else None

    def save_credential(self, credential: Credential) -> None:
        write_atomic(self.root / "credential.json", credential.__dict__)
        os.chmod(self.root / "credential.json", 0o600)

    # the server certificate pinned at enrollment (agent/tls.py): the only identity the agent trusts from then on
    def pinned(self) -> bytes | None:
        try:
            return (self.root / "server-cert.pem").read_bytes()
        except FileNotFoundError:
            return None

    def save_pinned(self, pem: bytes) -> None:
        write_atomic(self.root / "server-cert.pem", pem)

    # checkpoints, one per subtask
    def checkpoint(self, subtask_id: str) -> dict[str, Any] | None:
        return read_json(self.root / "checkpoints" / f"{subtask_id}.json")

    def save_checkpoint(self, subtask_id: str, data: dict[str, Any]) -> None:
        write_atomic(self.root / "checkpoints" / f"{subtask_id}.json", data)

    def drop_checkpoint(self, subtask_id: str) -> None:
        (self.root / "checkpoints" / f"{subtask_id}.json").unlink(missing_ok=True)

    # outbox: reports written before they are sent, removed once the server acknowledged them
    def queue(self, seq: int, report: dict[str, Any]) -> Path:
        path = self.root / "outbox" / f"{seq:012d}.json"
        write_atomic(path, report)
        return path

    def pending(self) -> list[tuple[Path, dict[str, Any]]]:
        """The reports still to deliver, oldest first. One that cannot be read is parked, never in the way."""
        out = []
        for path in sorted((self.root / "outbox").glob("*.json")):
            try:
                data = read_json(path)
            except (OSError, ValueError) as exc:
                self.park(path, None, 0, f"unreadable outbox entry: {exc}")
                continue
            if isinstance(data, dict) and {"kind", "subtask_id", "report_id"} <= data.keys():
                out.append((path, data))
            elif data is not None:
                self.park(path, None, 0, "not a report")
        return out

    def park(self, path: Path, report: dict[str, Any] | None, status: int, error: str) -> Path:
        """Move a report the server refused for good (or that cannot be read) out of the outbox, with the reason.

        `state/parked/` keeps it for a person to look at; the agent never sends it again.
        """
        parked = self.root / "parked" / path.name
        if report is None:
            parked.parent.mkdir(exist_ok=True)
            os.replace(path, parked)
            write_atomic(parked.with_suffix(".error.json"), {"status": status, "error": error})
            return parked
        write_atomic(parked, {"status": status, "error": error, "report": report})
        path.unlink(missing_ok=True)
        return parked

    def next_seq(self) -> int:
        names = sorted(p for p in (self.root / "outbox").glob("*.json") if p.stem.isdigit())
        counter = read_json(self.root / "seq.json") or {"seq": 0}
        last = int(names[-1].stem) if names else 0
        seq = max(int(counter["seq"]), last) + 1
        write_atomic(self.root / "seq.json", {"seq": seq})
        return seq
