"""A server killed mid-scan loses no report; silent or slow hosts end failed or timed out, keeping their counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkhss.v5 import HssClient

from tests.agent.test_agent_e2e import detections, finished, start_scan, task_row
from tests.support.agent_process import AgentProcess, plant_corpus, wait_until
from tests.support.server import ServerProcess, Tenant


@pytest.fixture
def own_server(database_url: str) -> Iterator[Any]:
    made: list[ServerProcess] = []

    def start(*extra: str) -> ServerProcess:
        made.append(ServerProcess(database_url, *extra).start())
        return made[-1]

    yield start
    for proc in made:
        proc.stop()


def _hss(server: ServerProcess, tenant: Tenant) -> Any:
    creds = BasicCredentials(tenant.access_key_id, tenant.secret, tenant.project_id)
    return HssClient.new_builder().with_credentials(creds).with_endpoints([server.url]).build()


def test_server_killed_mid_scan_loses_no_report(own_server: Any, tmp_path: Path) -> None:
    server = own_server()
    tenant = Tenant(server)
    hss = _hss(server, tenant)
    planted = plant_corpus(tmp_path / "corpus", clean=40, infected=4, big_files=20, big_size=1 << 20)
    agent = AgentProcess(
        server.url,
        tenant.enroll_token(),
        tmp_path / "a" / "h",
        "h",
        "--max-bytes-per-second",
        str(4 << 20),
        "--workers",
        "1",
    ).start()
    try:
        name = start_scan(hss, [agent.host_id], tmp_path / "corpus")
        wait_until(lambda: task_row(hss, name).host_info_list[0].scan_file_num > 0, what="progress")
        server.stop(kill=True)
        wait_until(lambda: any(e.get("msg") == "server unreachable, retrying" for e in agent.lines()), what="retry")
        server.start()  # same database, same port
        row = wait_until(lambda: finished(hss, name), timeout=90, what="scan end after restart")
        host = row.host_info_list[0]
        assert (host.host_task_status, host.scan_file_num, host.virus_num) == ("success", 64, 4)
        assert {p for p, _ in detections(hss, name)} == planted
        assert not any((agent.state_dir / "outbox").iterdir())
    finally:
        agent.stop()


def test_offline_agent_fails_and_slow_scan_times_out(own_server: Any, tmp_path: Path) -> None:
    server = own_server("--offline-after", "2", "--scan-timeout", "3", "--sweep-interval", "0.3")
    tenant = Tenant(server)
    hss = _hss(server, tenant)
    plant_corpus(tmp_path / "corpus", clean=5, infected=1, big_files=30, big_size=1 << 20)
    silent = AgentProcess(server.url, tenant.enroll_token(), tmp_path / "a" / "silent", "silent").start()
    slow = AgentProcess(
        server.url,
        tenant.enroll_token(),
        tmp_path / "a" / "slow",
        "slow",
        "--max-bytes-per-second",
        str(2 << 20),
        "--workers",
        "1",
    ).start()
    try:
        silent_id = silent.host_id
        silent.kill()
        name = start_scan(hss, [silent_id, slow.host_id], tmp_path / "corpus")
        row = wait_until(lambda: finished(hss, name), timeout=60, what="both hosts to end")
        hosts = {h.host_name: h for h in row.host_info_list}
        assert (hosts["silent"].host_task_status, hosts["silent"].fail_reason) == ("fail", "agent offline")
        assert hosts["silent"].agent_status == "offline"
        assert (hosts["slow"].host_task_status, hosts["slow"].fail_reason) == ("fail", "scan timed out")
        assert 0 < hosts["slow"].scan_file_num < 36  # the partial count is kept
        assert row.task_status == "fail" and row.fail_host_num == 2
    finally:
        slow.stop()
