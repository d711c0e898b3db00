"""Files an ordinary local user can plant to blind a host (issue 8), scanned by a real agent against a real server.

Each case must end with the scan complete, every detection of the tree on the server, and an agent that starts
again cleanly. The paths are Linux bytes: the names below are not valid UTF-8, or longer than PATH_MAX.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    HandleAntiVirusResultRequest,
    ListAntiVirusResultRequest,
    ListAntiVirusTaskRequest,
    OperateAntiVirusResultRequestInfo,
    OperateResultRequestInfo,
)

from tests.support.agent_process import EICAR, AgentProcess, wait_until
from tests.support.server import ServerProcess, Tenant


def scan(hss: Any, host_id: str, folder: Path | str, action: str = "manual") -> str:
    name = "hostile-" + uuid.uuid4().hex[:8]
    body = CreateAntiVirusPaidTaskRequestInfo(
        task_name=name, scan_type="custom", action=action, host_ids=[host_id], scan_dir=os.fsdecode(folder)
    )
    hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=body))

    def done() -> Any:
        rows = hss.list_anti_virus_task(
            ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=True, task_name=name)
        ).data_list
        return rows[0] if rows and rows[0].task_status != "scanning" else None

    row = wait_until(done, timeout=90, what="scan end")
    assert row.host_info_list[0].host_task_status == "success", row.host_info_list[0].fail_reason
    return name


def results(hss: Any, name: str) -> dict[str, Any]:
    found = hss.list_anti_virus_result(ListAntiVirusResultRequest(offset=0, limit=200, task_name=name)).data_list
    return {d.file_info.file_path: d for d in found}


def current(hss: Any, result_id: str) -> Any:
    return hss.list_anti_virus_result(ListAntiVirusResultRequest(offset=0, limit=10, id_list=[result_id])).data_list[0]


def operate(hss: Any, op: str, result: Any) -> None:
    item = OperateResultRequestInfo(result_id=result.result_id, file_path=result.file_info.file_path)
    body = OperateAntiVirusResultRequestInfo(operate_type=op, operate_results=[item])
    hss.handle_anti_virus_result(HandleAntiVirusResultRequest(body=body))


def host_rows(server: ServerProcess, tenant: Tenant, name: str) -> list[dict[str, Any]]:
    """The raw HSS JSON of a task's hosts (the SDK drops fields its model does not name, as `not_scanned`)."""
    token = tenant.auth_token()
    reply = httpx.get(
        f"{server.url}/v5/{tenant.project_id}/antivirus/task",
        params={"offset": 0, "limit": 10, "whether_paid_task": "true", "task_name": name},
        headers={"X-Auth-Token": token},
    )
    reply.raise_for_status()
    rows: list[dict[str, Any]] = reply.json()["data_list"][0]["host_info_list"]
    return rows


def flushes(agent: AgentProcess) -> int:
    return sum(e.get("msg") == "outbox flushed" for e in agent.lines())


def start_and_flush(agent: AgentProcess) -> None:
    """Start the agent again on its state folder and wait until it went through its outbox."""
    before = flushes(agent)
    agent.start()
    wait_until(lambda: flushes(agent) > before, what="outbox flush")


def restarts_cleanly(agent: AgentProcess) -> None:
    """Stop the agent, start it again on the same state folder: it must flush its outbox and keep running."""
    assert agent.stop() == 0, agent.log.read_text()[-3000:]
    start_and_flush(agent)
    assert agent.proc is not None and agent.proc.poll() is None, agent.log.read_text()[-3000:]
    assert not list((agent.state_dir / "outbox").glob("*.json"))


@pytest.fixture
def shm() -> Iterator[Path]:
    """A folder on tmpfs, which takes any mtime (ext4 clamps it to 2446)."""
    folder = Path("/dev/shm") / f"fleetscan-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    yield folder
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def test_a_name_that_is_not_utf8_is_reported_quarantined_and_restored(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad = os.fsencode(corpus) + b"/bad-\xff\xfe-eicar.com"
    with open(bad, "wb") as f:
        f.write(EICAR)
    (corpus / "ok-eicar.com").write_bytes(EICAR)
    with open(os.fsencode(corpus) + b"/zz-\xff-clean.txt", "wb") as f:
        f.write(b"nothing here\n")
    agent = agents("host-utf8")
    name = scan(hss, agent.host_id, corpus)
    found = results(hss, name)
    shown = f"{corpus}/bad-\\xff\\xfe-eicar.com"  # docs/agent-protocol.md: bytes that are not UTF-8 shown as \xNN
    assert set(found) == {shown, str(corpus / "ok-eicar.com")}

    result = found[shown]
    operate(hss, "manual_isolate_and_kill", result)
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "manual", what="quarantine")
    assert not os.path.lexists(bad)
    operate(hss, "do_not_isolate_or_kill", result)
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "none", what="restore")
    with open(bad, "rb") as f:
        assert f.read() == EICAR
    restarts_cleanly(agent)


def test_an_auto_task_quarantines_a_name_that_is_not_utf8(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad = os.fsencode(corpus) + b"/\xc3(-auto.com"
    with open(bad, "wb") as f:
        f.write(EICAR)
    agent = agents("host-utf8-auto")
    found = results(hss, scan(hss, agent.host_id, corpus, action="auto"))
    result = found[f"{corpus}/\\xc3(-auto.com"]
    assert result.isolate_tag == "auto_isolate"
    assert not os.path.lexists(bad)
    operate(hss, "do_not_isolate_or_kill", result)
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "none", what="restore")
    with open(bad, "rb") as f:
        assert f.read() == EICAR


def test_an_mtime_beyond_int64_is_clamped_and_the_finding_lands(hss: Any, agents: Any, shm: Path) -> None:
    far = shm / "far-future.com"
    far.write_bytes(EICAR)
    os.utime(far, ns=(10**25, 10**25))
    (shm / "normal.com").write_bytes(EICAR)
    agent = agents("host-mtime")
    found = results(hss, scan(hss, agent.host_id, shm))
    assert set(found) == {str(far), str(shm / "normal.com")}
    assert found[str(far)].file_info.file_mtime == 2**63 - 1  # clamped by the agent
    restarts_cleanly(agent)


def test_an_auto_task_records_the_quarantine_of_a_far_future_file(hss: Any, agents: Any, shm: Path) -> None:
    far = shm / "far-future.com"
    far.write_bytes(EICAR)
    os.utime(far, ns=(10**25, 10**25))
    agent = agents("host-mtime-auto")
    found = results(hss, scan(hss, agent.host_id, shm, action="auto"))
    assert found[str(far)].isolate_tag == "auto_isolate"


def test_a_zip_member_name_longer_than_4096_lands(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    member = "m" * 5000 + ".com"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:  # stored, the zip itself matches
        z.writestr(member, EICAR)
    (corpus / "long.zip").write_bytes(buffer.getvalue())
    (corpus / "plain.com").write_bytes(EICAR)
    agent = agents("host-zip")
    found = results(hss, scan(hss, agent.host_id, corpus))
    assert set(found) == {f"{corpus}/long.zip!{member}", str(corpus / "plain.com")}
    restarts_cleanly(agent)


def _deep_file(top: Path, depth: int = 24) -> bytes:
    """A file below a path longer than PATH_MAX (4096), built one directory at a time relative to its parent."""
    name = "d" * 200
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        out = os.open("deep-eicar.com", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, EICAR)
        os.close(out)
    finally:
        os.close(fd)
    return os.fsencode(top) + (b"/" + name.encode()) * depth + b"/deep-eicar.com"


def test_a_file_below_path_max_is_scanned(
    hss: Any, agents: Any, tmp_path: Path, server: ServerProcess, tenant: Tenant
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    deep = _deep_file(corpus)
    assert len(deep) > 4096
    (corpus / "shallow.com").write_bytes(EICAR)
    agent = agents("host-deep")
    name = scan(hss, agent.host_id, corpus)
    found = results(hss, name)
    assert set(found) == {os.fsdecode(deep), str(corpus / "shallow.com")}
    assert host_rows(server, tenant, name)[0]["scan_file_num"] == 2
    restarts_cleanly(agent)


def test_what_was_not_scanned_reaches_the_server(
    hss: Any, agents: Any, tmp_path: Path, server: ServerProcess, tenant: Tenant
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.com").write_bytes(EICAR)
    os.mkfifo(corpus / "pipe")
    os.symlink("/etc/hostname", corpus / "link")
    agent = agents("host-skips")
    name = scan(hss, agent.host_id, corpus)
    row = host_rows(server, tenant, name)[0]
    counts = {entry["reason"]: entry for entry in row["not_scanned"]}
    assert counts["special_file"]["count"] == 1
    assert counts["special_file"]["examples"] == [str(corpus / "pipe")]
    assert counts["symlink"]["count"] == 1
    assert row["not_scanned_num"] == 2
    json.dumps(row)


def test_refused_and_unreadable_outbox_entries_are_parked(
    hss: Any, agents: Any, tmp_path: Path, server: ServerProcess
) -> None:
    """A report the server refuses is parked with its error and its subtask ended failed; the agent starts anyway."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    agent = agents("host-outbox")
    host_id = agent.host_id
    assert agent.stop() == 0
    name = "hostile-" + uuid.uuid4().hex[:8]
    body = CreateAntiVirusPaidTaskRequestInfo(
        task_name=name, scan_type="custom", action="manual", host_ids=[host_id], scan_dir=str(corpus)
    )
    hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=body))
    cred = json.loads((agent.state_dir / "credential.json").read_text())
    bearer = {"Authorization": f"Bearer {cred['agent_id']}:{cred['agent_secret']}"}
    [item] = httpx.get(f"{server.url}/agent/v1/work", headers=bearer).json()["subtasks"]
    outbox = agent.state_dir / "outbox"
    (outbox / "000000000001.json").write_text("{not json")
    poisoned = {"kind": "progress", "subtask_id": item["subtask_id"], "report_id": "r" * 16, "files_scanned": 2**64}
    (outbox / "000000000002.json").write_text(json.dumps(poisoned))

    start_and_flush(agent)
    parked = {p.name for p in (agent.state_dir / "parked").iterdir()}
    assert {"000000000001.json", "000000000001.error.json", "000000000002.json"} <= parked
    assert json.loads((agent.state_dir / "parked" / "000000000002.json").read_text())["status"] == 400

    def ended() -> Any:
        rows = hss.list_anti_virus_task(
            ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=True, task_name=name)
        ).data_list
        return rows[0].host_info_list[0] if rows and rows[0].task_status != "scanning" else None

    host = wait_until(ended, what="the subtask's end")
    assert host.host_task_status == "fail"
    assert host.fail_reason.startswith("the server refused a report: 400"), host.fail_reason
    assert agent.proc is not None and agent.proc.poll() is None
    (corpus / "later.com").write_bytes(EICAR)
    assert set(results(hss, scan(hss, host_id, corpus))) == {str(corpus / "later.com")}


def test_more_findings_than_one_report_holds(hss: Any, agents: Any, tmp_path: Path) -> None:
    """1,200 planted files: the agent splits its findings into reports of at most 1,000, and all of them land."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(1200):
        (corpus / f"e{i:04d}.com").write_bytes(EICAR + str(i).encode())
    agent = agents("host-many", "--report-interval", "60")  # one report at the end holds every finding
    name = scan(hss, agent.host_id, corpus)
    found = hss.list_anti_virus_result(ListAntiVirusResultRequest(offset=0, limit=10, task_name=name))
    assert found.total_num == 1200
