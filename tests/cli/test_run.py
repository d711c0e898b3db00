"""`fleetscan run` (what `make run` calls) prints a URL and a key that the Alibaba SDK can use, as the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alibabacloud_sas20181203 import models as sas
from alibabacloud_sas20181203.client import Client
from alibabacloud_tea_openapi import models as open_api_models

from tests.support.postgres import free_port


def _banner(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "project id:" in line:
            return "".join(lines)
    raise AssertionError("no banner: " + "".join(lines))


def test_run_prints_a_working_url_and_key(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "fleetscan", "run", "--data-dir", str(tmp_path / "data"), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        banner = _banner(proc)
        url = re.search(r"running at (http://\S+)", banner).group(1)  # type: ignore[union-attr]
        key_id = re.search(r"access key id:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        secret = re.search(r"access key secret:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        config = open_api_models.Config(
            access_key_id=key_id, access_key_secret=secret, endpoint=url.removeprefix("http://"), protocol="http"
        )
        body = Client(config).list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task=True)).body
        assert body.page_info.current_page == 1 and body.page_info.total_count == 0
        # the local agent enrolls this machine: it shows up as a host
        machines = Client(config).list_virus_scan_machine(sas.ListVirusScanMachineRequest(current_page=1, page_size=20))
        deadline = time.monotonic() + 30
        while not machines.body.data and time.monotonic() < deadline:
            time.sleep(0.3)
            machines = Client(config).list_virus_scan_machine(
                sas.ListVirusScanMachineRequest(current_page=1, page_size=20)
            )
        assert len(machines.body.data) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (tmp_path / "data" / "agent" / "credential.json").exists()


def test_stopping_run_stops_its_agent(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "fleetscan", "run", "--data-dir", str(tmp_path / "data"), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _banner(proc)
    credential = tmp_path / "data" / "agent" / "credential.json"
    deadline = time.monotonic() + 30
    while not credential.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    state = str(tmp_path / "data" / "agent")
    assert _agents_with(state), "the local agent is running"
    proc.terminate()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _agents_with(state) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _agents_with(state)


def _agents_with(state_dir: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"fleetscan agent .*{state_dir}"], capture_output=True, text=True)
    return found.stdout.split()
