"""Real `fleetscan agent` processes and real folders to scan, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def plant_corpus(
    root: Path, *, clean: int = 40, infected: int = 3, big_files: int = 0, big_size: int = 1 << 20
) -> set[str]:
    """A folder with clean files, EICAR plants and optional large files (to make a throttled scan last)."""
    planted = set()
    for i in range(clean):
        folder = root / f"d{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"clean{i}.txt").write_text(f"nothing to see {i}\n" * (i + 1))
    for i in range(big_files):
        (root / f"big{i:03d}.bin").write_bytes(os.urandom(big_size))
    for i in range(infected):
        path = root / f"d{i % 5}" / f"zz_eicar{i}.com"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(EICAR)
        planted.add(str(path))
    return planted


class AgentProcess:
    def __init__(self, server_url: str, token: str, state_dir: Path, name: str, *extra: str) -> None:
        self.state_dir = state_dir
        self.log = state_dir.parent / f"{state_dir.name}.log"
        self.args = [
            sys.executable,
            "-m",
            "fleetscan",
            "agent",
            "--server",
            server_url,
            "--token",
            token,
            "--state-dir",
            str(state_dir),
            "--name",
            name,
            "--poll-interval",
            "0.3",
            "--report-interval",
            "0.5",
            "--heartbeat-interval",
            "1",
            *extra,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.args, stderr=self.log.open("ab"))
        return self

    @property
    def host_id(self) -> str:
        deadline = time.monotonic() + 30
        cred = self.state_dir / "credential.json"
        while not cred.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"agent did not enroll: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return str(json.loads(cred.read_text())["host_id"])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def lines(self) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


def wait_until(predicate, timeout: float = 60, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
