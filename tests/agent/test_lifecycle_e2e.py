"""A real agent's scan as the dialects show it over time: run time from the start, progress that moves,
an agent stopped cleanly shown offline at once."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from huaweicloudsdkhss.v5 import ListAntiVirusHostRequest

from tests.agent.test_agent_e2e import start_scan, task_row
from tests.support.agent_process import plant_corpus, wait_until


def _watch(hss: Any, name: str) -> tuple[Any, list[tuple[str, str]]]:
    """Poll the task's host row until it ends: the row, and every (status, progress) seen on the way."""
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        host = task_row(hss, name).host_info_list[0]
        seen.append((host.host_task_status, host.scan_progress))
        if host.host_task_status != "scanning":
            return host, seen
        time.sleep(0.1)
    raise AssertionError(f"the scan did not end: {seen[-5:]}")


def test_a_scan_that_ends_before_its_first_report_ran_from_its_start(hss: Any, agents: Any, tmp_path: Path) -> None:
    """One batch of about 2 MiB read at 1 MiB/s, reports every 60 s: the scan ends before any periodic report.
    Its run time still starts when the agent started it (its first report says so), not when it ended."""
    plant_corpus(tmp_path / "corpus", clean=1, infected=0, big_files=1, big_size=2 << 20)
    agent = agents("host-r", "--report-interval", "60", "--max-bytes-per-second", str(1 << 20), "--workers", "1")
    name = start_scan(hss, [agent.host_id], tmp_path / "corpus")
    host, seen = _watch(hss, name)
    assert host.host_task_status == "success", seen
    assert host.run_duration >= 1  # the throttle makes it at least 2 s: a lower bound, not a timing


def test_a_short_scans_progress_moves_before_it_ends(hss: Any, agents: Any, tmp_path: Path) -> None:
    """About 2.5 s of scanning in batches of 16 files, reports every 60 s: the first batch is reported at once."""
    plant_corpus(tmp_path / "corpus", clean=1, infected=1, big_files=40, big_size=64 << 10)
    agent = agents("host-s", "--report-interval", "60", "--max-bytes-per-second", str(1 << 20), "--workers", "1")
    name = start_scan(hss, [agent.host_id], tmp_path / "corpus")
    host, seen = _watch(hss, name)
    assert host.host_task_status == "success", seen
    assert any(status == "scanning" and progress not in ("0%", "100%") for status, progress in seen), seen


def test_an_agent_stopped_cleanly_is_offline_at_once(hss: Any, agents: Any) -> None:
    agent = agents("host-bye")

    def status() -> str:
        rows = hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=10, host_name="host-bye")).data_list
        return str(rows[0].agent_status) if rows else ""

    wait_until(lambda: status() == "online", what="agent online")
    assert agent.stop() == 0
    assert status() == "offline"  # said goodbye on SIGTERM: not online for the 5 minutes a silent agent has


def _files(root: Path, start: int, stop: int) -> None:
    """8 KiB files of random bytes behind a plain-text head: a random head is a gzip, .Z or cpio magic about once in
    16,000 files (this test writes 8,000), and such a file is rightly "not scanned: corrupt", not what it counts."""
    for i in range(start, stop):
        folder = root / f"g{i // 200:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.txt").write_bytes(b"random file\n" + os.urandom(8180))


def test_a_rescan_of_a_grown_tree_does_not_sit_near_100(hss: Any, agents: Any, tmp_path: Path) -> None:
    """Issue 10: "a long one sat at 99% for a minute". The tree triples between two scans; the rescan took its
    totals from the first scan and read 98-99% from a third of its files to the end. Rows seen while scanning,
    as HSS lists them (files scanned, progress): none claims 90% before half the files are done."""
    corpus = tmp_path / "corpus"
    _files(corpus, 0, 2000)
    agent = agents("host-g", "--report-interval", "1", "--max-bytes-per-second", str(4 << 20), "--workers", "1")
    host, _ = _watch(hss, start_scan(hss, [agent.host_id], corpus))
    assert host.host_task_status == "success"
    _files(corpus, 2000, 6000)
    rows: list[tuple[int, str]] = []
    name = start_scan(hss, [agent.host_id], corpus)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = task_row(hss, name).host_info_list[0]
        if row.host_task_status != "scanning":
            break
        rows.append((row.scan_file_num, row.scan_progress))
        time.sleep(0.1)
    assert row.host_task_status == "success" and row.scan_file_num == 6000, rows[-5:]
    early = [(n, p) for n, p in rows if n < 3000]
    assert early and all(int(p.rstrip("%")) < 90 for _, p in early), early
