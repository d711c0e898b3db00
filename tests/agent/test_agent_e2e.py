"""Real agent processes scanning real folders against a real server, driven with the Huawei SDK."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import Any

from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    ListAntiVirusResultRequest,
    ListAntiVirusTaskRequest,
    SwitchAntivirusTaskRequest,
    SwitchAntivirusTaskRequestInfo,
)

from tests.support.agent_process import plant_corpus, wait_until


def start_scan(hss: Any, host_ids: list[str], folder: Path) -> str:
    name = "e2e-" + uuid.uuid4().hex[:8]
    body = CreateAntiVirusPaidTaskRequestInfo(
        task_name=name, scan_type="custom", action="manual", host_ids=host_ids, scan_dir=str(folder)
    )
    reply = hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=body))
    assert reply.result is True
    return name


def task_row(hss: Any, name: str) -> Any:
    rows = hss.list_anti_virus_task(
        ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=True, task_name=name)
    ).data_list
    assert len(rows) == 1
    return rows[0]


def finished(hss: Any, name: str) -> Any:
    row = task_row(hss, name)
    return row if row.task_status != "scanning" else None


def detections(hss: Any, name: str) -> list[tuple[str, str]]:
    found = hss.list_anti_virus_result(ListAntiVirusResultRequest(offset=0, limit=200, task_name=name)).data_list
    return sorted((d.file_info.file_path, d.malware_name) for d in found)


def test_scan_completes_with_true_counts(hss: Any, agents: Any, tmp_path: Path) -> None:
    planted = plant_corpus(tmp_path / "corpus", clean=30, infected=3)
    agent = agents("host-a")
    name = start_scan(hss, [agent.host_id], tmp_path / "corpus")
    row = wait_until(lambda: finished(hss, name), what="scan end")
    assert row.task_status == "finish" and row.success_host_num == 1
    host = row.host_info_list[0]
    assert (host.host_task_status, host.scan_progress, host.scan_file_num, host.virus_num) == ("success", "100%", 33, 3)
    assert host.agent_status == "online" and host.host_name == "host-a"
    assert {path for path, _ in detections(hss, name)} == planted


def test_cancel_stops_the_agent_within_seconds(hss: Any, agents: Any, tmp_path: Path) -> None:
    plant_corpus(tmp_path / "corpus", clean=5, infected=1, big_files=40, big_size=1 << 20)
    agent = agents("host-c", "--max-bytes-per-second", str(2 << 20), "--workers", "1")
    name = start_scan(hss, [agent.host_id], tmp_path / "corpus")
    wait_until(
        lambda: (
            task_row(hss, name).host_info_list[0].host_task_status == "scanning"
            and task_row(hss, name).host_info_list[0].scan_file_num > 0
        ),
        what="scan start",
    )
    task_id = task_row(hss, name).task_id
    hss.switch_antivirus_task(SwitchAntivirusTaskRequest(body=SwitchAntivirusTaskRequestInfo(task_id=task_id)))
    row = task_row(hss, name)
    assert row.task_status == "cancel" and row.cancel_host_num == 1
    wait_until(
        lambda: any(e.get("msg") == "scan ended" and e.get("cancelled") for e in agent.lines()),
        timeout=15,
        what="the agent to stop scanning",
    )
    assert task_row(hss, name).host_info_list[0].scan_file_num < 45


def test_killed_agent_resumes_with_the_same_counts(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    plant_corpus(corpus, clean=60, infected=4, big_files=24, big_size=1 << 20)
    baseline = agents("host-base")
    base_name = start_scan(hss, [baseline.host_id], corpus)
    base = wait_until(lambda: finished(hss, base_name), what="baseline").host_info_list[0]

    victim = agents("host-kill", "--max-bytes-per-second", str(4 << 20), "--workers", "1")
    name = start_scan(hss, [victim.host_id], corpus)
    wait_until(lambda: task_row(hss, name).host_info_list[0].scan_file_num >= 10, what="some progress")
    before = task_row(hss, name).host_info_list[0]
    victim.kill()
    assert any(victim.state_dir.joinpath("checkpoints").iterdir()), victim.log.read_text()
    victim.start()
    row = wait_until(lambda: finished(hss, name), timeout=90, what="resumed scan end")
    host = row.host_info_list[0]
    assert host.host_task_status == "success"
    assert (host.scan_file_num, host.virus_num) == (base.scan_file_num, base.virus_num) == (88, 4)
    assert host.scan_file_num >= before.scan_file_num
    assert detections(hss, name) == detections(hss, base_name)
    assert any(e.get("msg") == "scan starting" and e.get("resume") for e in victim.lines()), victim.log.read_text()


def test_signatures_updated_on_disk_are_used_by_the_next_scan(hss: Any, agents: Any, tmp_path: Path) -> None:
    sample = tmp_path / "corpus" / "sample.bin"
    sample.parent.mkdir(parents=True)
    data = b"a file only the updated signatures know\n" * 20
    sample.write_bytes(data)
    sigs = tmp_path / "sigs"
    sigs.mkdir()
    (sigs / "local.hdb").write_text(f"{'0' * 32}:{len(data)}:Local.Other\n")
    agent = agents("host-sigs", "--signatures", str(sigs))
    before = start_scan(hss, [agent.host_id], sample.parent)
    wait_until(lambda: finished(hss, before), what="scan with the old signatures")
    assert detections(hss, before) == []
    (sigs / "local.hdb").write_text(f"{hashlib.md5(data).hexdigest()}:{len(data)}:Local.Updated\n")  # as freshclam
    after = start_scan(hss, [agent.host_id], sample.parent)
    wait_until(lambda: finished(hss, after), what="scan with the updated signatures")
    assert detections(hss, after) == [(str(sample), "Local.Updated")]
    assert any(e.get("msg") == "signatures reloaded" for e in agent.lines()), agent.log.read_text()
    shutil.rmtree(sigs)  # caught between an update's delete and write: scan with the set in hand
    during = start_scan(hss, [agent.host_id], sample.parent)
    wait_until(lambda: finished(hss, during), what="scan while the signatures are missing")
    assert detections(hss, during) == [(str(sample), "Local.Updated")]
    assert any(e.get("msg") == "signatures not reloaded" for e in agent.lines()), agent.log.read_text()
