"""fleetscan server processes, started the way a person starts them: `python -m fleetscan server ...`."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from .postgres import free_port


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetscan", *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def tls_init(folder: Path, *extra: str) -> dict[str, Any]:
    """`fleetscan admin tls-init --dir folder`: a CA and a server certificate, as an operator makes them."""
    done = subprocess.run(
        [sys.executable, "-m", "fleetscan", "admin", "tls-init", "--dir", str(folder), "--json", *extra],
        capture_output=True, text=True, check=True, timeout=60,
    )
    made: dict[str, Any] = json.loads(done.stdout)
    return made


class ServerProcess:
    """`workers`: the server's worker processes; one unless a test asks for more, or for the CLI's default (None)."""

    def __init__(
        self,
        database_url: str,
        *extra: str,
        env: dict[str, str] | None = None,
        tls: Path | None = None,
        port: int | None = None,
        workers: int | None = 1,
    ) -> None:
        """`tls`: a `tls-init` folder; the server then serves HTTPS with its server.crt and server.key."""
        self.database_url = database_url
        self.workers = workers
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.url = f"{'https' if tls else 'http'}://{self.host}:{self.port}"
        self.endpoint = f"{self.host}:{self.port}"
        self.tls = tls
        self.verify: ssl.SSLContext | bool = True
        if tls is not None:
            extra = (*extra, "--tls-cert", str(tls / "server.crt"), "--tls-key", str(tls / "server.key"))
            self.verify = ssl.create_default_context(cafile=str(tls / "ca.crt"))
        self.extra = extra
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "fleetscan", "server", "--database-url", self.database_url]
        cmd += ["--host", self.host, "--port", str(self.port), "--log-level", "warning", *self.extra]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def worker_pids(self) -> list[int]:
        """The worker processes of a server started with several (none when it serves alone)."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def admin(self, command: str, *args: str) -> dict[str, Any]:
        done = cli(self.database_url, "admin", command, *args, "--json")
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        result: dict[str, Any] = json.loads(done.stdout)
        return result


class Tenant:
    """One project of its own on a shared server, so tests never see each other's rows."""

    def __init__(self, server: ServerProcess, enterprise_project_ids: tuple[str, ...] = ()) -> None:
        self.server = server
        self.project_id = uuid.uuid4().hex
        self.account = "acct-" + uuid.uuid4().hex[:12]
        flags = ["--account", self.account, "--project-id", self.project_id]
        for eps in enterprise_project_ids:
            flags += ["--enterprise-project-id", eps]
        key = server.admin("create-key", *flags)
        self.access_key_id: str = key["access_key_id"]
        self.secret: str = key["access_key_secret"]
        self._flags = ["--account", self.account, "--project-id", self.project_id]

    def enroll_token(self, *extra: str) -> str:
        token: str = self.server.admin("enroll-token", *self._flags, *extra)["enroll_token"]
        return token

    def auth_token(self, *extra: str) -> str:
        token: str = self.server.admin("create-token", *self._flags, *extra)["token"]
        return token

    def key(self, *enterprise_project_ids: str) -> tuple[str, str]:
        """Another access key on this tenant's project, limited to some enterprise projects."""
        flags = list(self._flags)
        for eps in enterprise_project_ids:
            flags += ["--enterprise-project-id", eps]
        key = self.server.admin("create-key", *flags)
        return key["access_key_id"], key["access_key_secret"]
