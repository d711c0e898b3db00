"""Handling detections end to end: the Huawei SDK acts, a real agent process quarantines and restores real files."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkhss.v5 import (
    ChangeIsolatedFileRequest,
    ChangeIsolatedFileRequestInfo,
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    HandleAntiVirusResultRequest,
    IsolatedFileRequestInfo,
    ListAntivirusHandleHistoryRequest,
    ListAntiVirusResultRequest,
    ListAntiVirusTaskRequest,
    ListIsolatedFileRequest,
    OperateAntiVirusResultRequestInfo,
    OperateResultRequestInfo,
)

from tests.support.agent_process import EICAR, wait_until


def scan(hss: Any, host_id: str, folder: Path, action: str = "manual") -> str:
    name = "h-" + uuid.uuid4().hex[:8]
    body = CreateAntiVirusPaidTaskRequestInfo(
        task_name=name, scan_type="custom", action=action, host_ids=[host_id], scan_dir=str(folder)
    )
    hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=body))

    def done() -> bool:
        rows = hss.list_anti_virus_task(
            ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=True, task_name=name)
        ).data_list
        return bool(rows) and rows[0].task_status != "scanning"

    wait_until(done, what="scan end")
    return name


def results(hss: Any, name: str) -> dict[str, Any]:
    found = hss.list_anti_virus_result(ListAntiVirusResultRequest(offset=0, limit=200, task_name=name)).data_list
    return {d.file_info.file_path: d for d in found}


def operate(hss: Any, op: str, result: Any, memo: str = "") -> None:
    item = OperateResultRequestInfo(result_id=result.result_id, file_path=result.file_info.file_path)
    body = OperateAntiVirusResultRequestInfo(operate_type=op, memo=memo, operate_results=[item])
    hss.handle_anti_virus_result(HandleAntiVirusResultRequest(body=body))


def current(hss: Any, result_id: str) -> Any:
    found = hss.list_anti_virus_result(ListAntiVirusResultRequest(offset=0, limit=10, id_list=[result_id])).data_list
    assert len(found) == 1
    return found[0]


def plant(path: Path, data: bytes = EICAR, mode: int = 0o750) -> os.stat_result:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if os.geteuid() == 0:
        os.chown(path, 4321, 5432)
    os.chmod(path, mode)
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_500_000_000_000_000_000))
    return os.stat(path)


def test_isolate_then_restore_gives_back_the_identical_file(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    data = EICAR + b"\n" + os.urandom(5000)
    before = plant(corpus / "bin" / "tool", data, 0o4755)
    agent = agents("host-iso")
    name = scan(hss, agent.host_id, corpus)
    found = results(hss, name)
    result = found[str(corpus / "bin" / "tool")]
    assert result.isolate_tag == "none"

    operate(hss, "manual_isolate_and_kill", result, memo="isolate it")
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "manual", what="quarantine")
    assert not (corpus / "bin" / "tool").exists()
    after_isolation = current(hss, result.result_id)
    assert (after_isolation.handle_status, after_isolation.handle_method) == ("handled", "manual_isolate_and_kill")
    isolated = hss.list_isolated_file(ListIsolatedFileRequest(limit=10, isolation_status="isolated")).data_list
    assert [(f.file_path, f.host_id, f.file_hash) for f in isolated] == [
        (str(corpus / "bin" / "tool"), agent.host_id, result.file_info.file_hash)
    ]
    event, origin = isolated[0].agent_event_info, isolated[0].antivirus_result_info
    assert (event.event_id, event.event_name, event.host_id) == (result.result_id, result.malware_name, agent.host_id)
    handled = ("handled", "manual_isolate_and_kill", "isolate it")
    assert (event.handle_status, event.handle_method, event.memo) == handled
    assert event.operate_accept_list == ["do_not_isolate_or_kill"]
    assert (origin.result_id, origin.file_path, origin.file_hash, origin.file_size) == (
        result.result_id,
        str(corpus / "bin" / "tool"),
        result.file_info.file_hash,
        len(data),
    )

    operate(hss, "do_not_isolate_or_kill", result, memo="false positive")
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "none", what="restore")
    after = os.stat(corpus / "bin" / "tool")
    assert (corpus / "bin" / "tool").read_bytes() == data
    assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid)
    assert after.st_mtime_ns == before.st_mtime_ns
    assert current(hss, result.result_id).handle_status == "unhandled"

    history = hss.list_antivirus_handle_history(ListAntivirusHandleHistoryRequest(limit=10, sort_dir="asc")).data_list
    assert [(r.handle_method, r.notes) for r in history] == [
        ("manual_isolate_and_kill", "isolate it"),
        ("quarantine_done", ""),
        ("do_not_isolate_or_kill", "false positive"),
        ("restore_done", ""),
    ]
    assert {r.user_name for r in history} == {hss._credentials.ak, "agent"}
    assert all(r.handle_time > 0 and r.result_id == result.result_id for r in history)


def test_restore_over_a_newer_file_is_refused(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    plant(corpus / "app.bin")
    agent = agents("host-newer")
    result = results(hss, scan(hss, agent.host_id, corpus))[str(corpus / "app.bin")]
    operate(hss, "manual_isolate_and_kill", result)
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "manual", what="quarantine")
    (corpus / "app.bin").write_bytes(b"version 2, clean")

    item = IsolatedFileRequestInfo(
        host_id=agent.host_id, file_hash=result.file_info.file_hash, file_path=str(corpus / "app.bin")
    )
    hss.change_isolated_file(ChangeIsolatedFileRequest(body=ChangeIsolatedFileRequestInfo(data_list=[item])))

    def refused() -> Any:
        history = hss.list_antivirus_handle_history(ListAntivirusHandleHistoryRequest(limit=10)).data_list
        return [r for r in history if r.handle_method == "restore_failed"]

    failure = wait_until(refused, what="the refusal")[0]
    assert "exists" in failure.notes
    assert (corpus / "app.bin").read_bytes() == b"version 2, clean"
    assert current(hss, result.result_id).isolate_tag == "manual"  # still in quarantine
    isolated = hss.list_isolated_file(ListIsolatedFileRequest(limit=10, isolation_status="isolated")).data_list
    assert len(isolated) == 1


def test_marks_their_inverses_and_the_whitelist(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for n in ("a", "b", "c"):
        plant(corpus / f"{n}.com", EICAR + n.encode())
    agent = agents("host-marks")
    first = results(hss, scan(hss, agent.host_id, corpus))
    a, b, c = (first[str(corpus / f"{n}.com")] for n in ("a", "b", "c"))

    operate(hss, "ignore", a, memo="lab sample")
    operate(hss, "mark_as_handled", b)
    assert (current(hss, a.result_id).handle_status, current(hss, a.result_id).handle_method) == ("handled", "ignore")
    assert current(hss, a.result_id).memo == "lab sample"
    with pytest.raises(ClientRequestException) as wrong:
        operate(hss, "do_not_ignore", b)  # b was marked handled, not ignored
    assert (wrong.value.status_code, wrong.value.error_code) == (409, "HSS.0003")
    operate(hss, "do_not_ignore", a)
    operate(hss, "unhandle", b)
    assert current(hss, a.result_id).handle_status == current(hss, b.result_id).handle_status == "unhandled"

    operate(hss, "add_to_alarm_whitelist", c, memo="known good")
    again = results(hss, scan(hss, agent.host_id, corpus))
    assert set(again) == {str(corpus / "a.com"), str(corpus / "b.com")}  # c is whitelisted by its hash
    operate(hss, "remove_from_alarm_whitelist", c)
    assert str(corpus / "c.com") in results(hss, scan(hss, agent.host_id, corpus))

    history = hss.list_antivirus_handle_history(ListAntivirusHandleHistoryRequest(limit=20, sort_dir="asc")).data_list
    assert [r.handle_method for r in history] == [
        "ignore",
        "mark_as_handled",
        "do_not_ignore",
        "unhandle",
        "add_to_alarm_whitelist",
        "remove_from_alarm_whitelist",
    ]


def test_an_auto_task_quarantines_what_it_finds(hss: Any, agents: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    before = plant(corpus / "evil.com", EICAR, 0o700)
    (corpus / "clean.txt").write_text("hello")
    agent = agents("host-auto")
    found = results(hss, scan(hss, agent.host_id, corpus, action="auto"))
    result = found[str(corpus / "evil.com")]
    assert (result.isolate_tag, result.handle_status) == ("auto_isolate", "handled")
    assert not (corpus / "evil.com").exists() and (corpus / "clean.txt").exists()
    assert hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=10, manual_isolate=False)).total_num == 1

    operate(hss, "do_not_isolate_or_kill", result)
    wait_until(lambda: current(hss, result.result_id).isolate_tag == "none", what="restore")
    after = os.stat(corpus / "evil.com")
    assert (corpus / "evil.com").read_bytes() == EICAR
    assert (after.st_mode, after.st_uid, after.st_mtime_ns) == (before.st_mode, before.st_uid, before.st_mtime_ns)
