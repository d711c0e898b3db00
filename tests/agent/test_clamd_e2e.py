"""A real agent with `--clamd`: a packed executable only libclamav opens is found through the agent's clamd and
reported to the server under clamd's name; an agent without clamd does not call it clean."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.test_agent_e2e import detections, finished, start_scan
from tests.support.agent_process import wait_until
from tests.support.clamd import ClamdServer

TESTFILES = Path("/usr/share/clamav-testfiles")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (TESTFILES / "clam.exe").exists() or shutil.which("sigtool") is None:
        pytest.skip("Debian packages clamav and clamav-testfiles are needed")
    folder = tmp_path_factory.mktemp("clamdb")
    line = subprocess.run(["sigtool", "--md5", str(TESTFILES / "clam.exe")], capture_output=True, text=True,
                          check=True).stdout.strip()
    (folder / "clam.hdb").write_text(line + "\n")
    return folder


@pytest.fixture(scope="module")
def clamd(database: Path) -> Iterator[ClamdServer]:
    server = ClamdServer(database.iterdir()).start()
    yield server
    server.stop()


def test_agent_with_clamd_reports_what_clamd_found(
    hss: Any, agents: Any, tmp_path: Path, database: Path, clamd: ClamdServer
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("clam.exe", "clam-upx.exe", "clam.sis"):
        shutil.copy(TESTFILES / name, corpus / name)
    with_clamd = agents("host-clamd", "--signatures", str(database), "--clamd", clamd.address)
    name = start_scan(hss, [with_clamd.host_id], corpus)
    row = wait_until(lambda: finished(hss, name), what="scan with clamd")
    assert row.host_info_list[0].virus_num == 3
    assert detections(hss, name) == [
        (str(corpus / "clam-upx.exe"), "clam.exe.UNOFFICIAL"),
        (str(corpus / "clam.exe"), "clam.exe"),
        (str(corpus / "clam.sis"), "clam.exe.UNOFFICIAL"),
    ]
    alone = agents("host-alone", "--signatures", str(database))
    name = start_scan(hss, [alone.host_id], corpus)
    row = wait_until(lambda: finished(hss, name), what="scan without clamd")
    host = row.host_info_list[0]
    assert detections(hss, name) == [(str(corpus / "clam.exe"), "clam.exe")]
    assert host.scan_file_num == 1  # the two files only clamd opens are not scanned, not counted clean
