"""A real agent never detects (let alone quarantines) its own files, and signatures it cannot use fail the subtask
with their reason instead of a scan that runs without them."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    ListAntiVirusTaskRequest,
)

from fleetscan.engine import Scanner, ScanOptions, load_signatures
from tests.agent.test_handling_e2e import plant, results, scan
from tests.support.agent_process import EICAR, wait_until


def test_an_auto_scan_of_the_agent_folder_finds_nothing_and_quarantines_nothing(
    hss: Any, agents: Any, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    plant(corpus / "evil.com", EICAR, 0o644)
    agent = agents("host-self")
    first = results(hss, scan(hss, agent.host_id, corpus, action="auto"))
    assert first[str(corpus / "evil.com")].isolate_tag == "auto_isolate"
    rules = sorted((agent.state_dir / "signatures").glob("set-*"))
    quarantined = sorted((agent.state_dir / "quarantine").glob("*.bin"))
    assert [p for p in rules if p.suffix == ".yarx"] and quarantined
    before = {p: p.read_bytes() for p in rules + quarantined}

    # The folder holding the agent's state: its compiled rules, verdict cache, quarantine, checkpoints and outbox.
    again = results(hss, scan(hss, agent.host_id, agent.state_dir.parent, action="auto"))
    assert again == {}
    assert all(p.exists() and p.read_bytes() == data for p, data in before.items())

    # Not only excluded: a copy, which is nobody's own folder, holds nothing a scan finds.
    shutil.copytree(agent.state_dir, tmp_path / "copy")
    report = Scanner(load_signatures([]), ScanOptions(workers=0)).run([str(tmp_path / "copy")])
    assert report.detections == [] and report.files_scanned > len(before)


def run_task(hss: Any, host_id: str, folder: Path) -> Any:
    """Start a manual custom scan of ``folder`` and wait for its end; its task row."""
    name = "h-" + uuid.uuid4().hex[:8]
    body = CreateAntiVirusPaidTaskRequestInfo(
        task_name=name, scan_type="custom", action="manual", host_ids=[host_id], scan_dir=str(folder)
    )
    hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=body))

    def ended() -> Any:
        rows = hss.list_anti_virus_task(
            ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=True, task_name=name)
        ).data_list
        return rows[0] if rows and rows[0].task_status != "scanning" else None

    return wait_until(ended, what="the subtask to end")


def test_signatures_that_cannot_be_used_fail_the_subtask_with_their_reason(
    hss: Any, agents: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "sigs" / "local.ndb"
    bad.parent.mkdir()
    bad.write_text("Good.Sig:0:*:4142434445464748\nnot a signature\n")
    corpus = tmp_path / "corpus"
    plant(corpus / "evil.com", EICAR, 0o644)
    (corpus / "marked.bin").write_bytes(b"..ABCDEFGH..")
    agent = agents("host-bad-sigs", "--signatures", str(bad))

    row = run_task(hss, agent.host_id, corpus)
    [host] = row.host_info_list
    assert host.host_task_status == "fail"
    assert host.fail_reason.startswith(f"signatures: signature source not usable: {bad}: ")
    assert "malformed .ndb line" in host.fail_reason
    assert results(hss, row.task_name) == {}  # it did not scan without them

    bad.write_text("Good.Sig:0:*:4142434445464748\n")  # repaired: the next subtask loads them
    row = run_task(hss, agent.host_id, corpus)
    assert row.host_info_list[0].host_task_status == "success"
    assert set(results(hss, row.task_name)) == {str(corpus / "evil.com"), str(corpus / "marked.bin")}

    bad.write_text("Good.Sig:0:*:4142434445464748\nbroken again\n")  # damaged by an update: keep the good set
    row = run_task(hss, agent.host_id, corpus)
    assert row.host_info_list[0].host_task_status == "success"
    assert set(results(hss, row.task_name)) == {str(corpus / "evil.com"), str(corpus / "marked.bin")}
    assert any(e.get("msg") == "signatures not reloaded" for e in agent.lines()), agent.log.read_text()
