"""A throwaway clamd, run as the unprivileged `clamav` user (or `nobody`) in the foreground, as PostgreSQL is.

Its database folder is the test's own: the signature files fleetscan is given with ``-d`` are the ones clamd
loads, as in the deployment docs/engine.md describes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from fleetscan.engine.clamd import Clamd, ClamdError
from tests.support.postgres import free_port


def _user() -> str | None:
    """Who clamd runs as when the tests run as root (clamd would otherwise keep root's rights)."""
    if os.geteuid() != 0:
        return None
    for name in ("clamav", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


class ClamdServer:
    """``start()`` waits for PONG; ``stop()`` ends it and removes its folder."""

    def __init__(self, signatures: Iterable[Path] = (), *, stream_max: str = "100M", tcp: bool = False) -> None:
        binary = shutil.which("clamd") or "/usr/sbin/clamd"
        if not os.path.exists(binary):
            raise RuntimeError("clamd is not installed (apt-get install clamav-daemon)")
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="fleetscan-clamd-"))
        self.database = self.root / "db"
        self.database.mkdir()
        for sig in signatures:
            shutil.copy(sig, self.database / sig.name)
        self.socket = self.root / "clamd.sock"
        self.log = self.root / "clamd.log"
        self.user = _user()
        self.stream_max = stream_max
        self.port = free_port() if tcp else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return str(self.socket)

    def client(self, timeout: float = 60.0) -> Clamd:
        return Clamd(self.address, timeout=timeout)

    def start(self, wait: float = 120.0) -> ClamdServer:
        config = self.root / "clamd.conf"
        lines = [
            f"LocalSocket {self.socket}",
            "LocalSocketMode 666",
            f"DatabaseDirectory {self.database}",
            f"TemporaryDirectory {self.root}",
            "Foreground yes",
            f"LogFile {self.log}",
            f"StreamMaxLength {self.stream_max}",
            "SelfCheck 0",
        ]
        if self.port is not None:
            lines += [f"TCPSocket {self.port}", "TCPAddr 127.0.0.1"]
        if self.user:
            lines.append(f"User {self.user}")
            for path in (self.root, self.database, *self.database.iterdir()):
                shutil.chown(path, self.user)
        config.write_text("\n".join(lines) + "\n")
        self.root.chmod(0o755)
        self.proc = subprocess.Popen([self.binary, "-c", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + wait
        while True:
            try:
                self.client(timeout=5).ping()
                return self
            except ClamdError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    self.stop()
                    raise RuntimeError(f"clamd did not start: {err[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)
