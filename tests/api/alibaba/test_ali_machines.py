"""ListVirusScanMachine and ListVirusScanMachineEvent, on detections agents reported."""

from __future__ import annotations

import pytest
from alibabacloud_sas20181203 import models as sas
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.api.alibaba.helpers import Fleet
from tests.support.agent_protocol import finding


def _machines(fleet: Fleet, **fields: object) -> sas.ListVirusScanMachineResponseBody:
    fields.setdefault("current_page", 1)
    fields.setdefault("page_size", 20)
    body: sas.ListVirusScanMachineResponseBody = fleet.client.list_virus_scan_machine(
        sas.ListVirusScanMachineRequest(**fields)
    ).body
    return body


def _events(fleet: Fleet, **fields: object) -> sas.ListVirusScanMachineEventResponseBody:
    body: sas.ListVirusScanMachineEventResponseBody = fleet.client.list_virus_scan_machine_event(
        sas.ListVirusScanMachineEventRequest(**fields)
    ).body
    return body


def test_machines_and_their_events(fleet: Fleet) -> None:
    a = fleet.enroll("web-a", "10.3.0.1", "47.3.0.1")
    b = fleet.enroll("db-b", "10.3.0.2", "47.3.0.2")
    fleet.start(a, b)
    sa = fleet.take(a)
    a.progress(
        sa, progress=50, detections=[finding("/srv/evil.php", severity="High"), finding("/tmp/x", "Mirai", "Low")]
    )
    a.complete(sa, "success")
    first_root = fleet.tasks(root_task=True)[0].task_id
    fleet.start(a)
    s2 = fleet.take(a)
    a.complete(s2, "failure", detections=[finding("/opt/new.bin", severity="Medium")])

    body = _machines(fleet)
    assert body.page_info.total_count == 2
    rows = {m.uuid: m for m in body.data}
    # EventCount is open alerts (docs/alerts.md): the second scan failed, so it resolved none of the first's
    assert rows[a.host_id].event_count == 3 and rows[b.host_id].event_count == 0
    assert type(rows[a.host_id].event_count) is int
    assert (rows[a.host_id].instance_name, rows[a.host_id].intranet_ip, rows[a.host_id].internet_ip) == (
        "web-a",
        "10.3.0.1",
        "47.3.0.1",
    )
    assert [m.uuid for m in _machines(fleet, remark="db").data] == [b.host_id]
    assert [m.uuid for m in _machines(fleet, remark="47.3.0.1").data] == [a.host_id]
    assert [m.uuid for m in _machines(fleet, uuid=b.host_id).data] == [b.host_id]
    one = _machines(fleet, page_size=1, current_page=2)
    assert len(one.data) == 1 and one.page_info.total_count == 2 and one.page_info.current_page == 2

    events = _events(fleet, uuid=a.host_id, lang="en")
    assert events.page_info.total_count == 3
    assert all(type(e.event_id) is int and type(e.last_time_stamp) is int for e in events.data)
    by_name = {e.event_name: e for e in events.data}
    assert by_name["Mirai"].level == "remind" and by_name["Eicar-Test-Signature"].instance_name == "web-a"
    levels = sorted(e.level for e in events.data)
    assert levels == ["remind", "serious", "suspicious"]
    detail = {d.name_display: d.value_display for d in by_name["Mirai"].details}
    assert detail["File Path"] == "/tmp/x"
    assert all(d.info_type and d.type for d in by_name["Mirai"].details)

    zh = _events(fleet, uuid=a.host_id, operate_task_id=first_root)
    assert zh.page_info.total_count == 2
    paths = {d.value_display for e in zh.data for d in e.details if d.name_display == "文件路径"}
    assert paths == {"/srv/evil.php", "/tmp/x"}
    zh_explicit = _events(fleet, uuid=a.host_id, operate_task_id=first_root, lang="zh")
    assert {d.name_display for d in zh_explicit.data[0].details} >= {"文件路径", "病毒名称"}
    assert _events(fleet, uuid=b.host_id).data == []
    paged = _events(fleet, uuid=a.host_id, page_size=2, current_page=2)
    assert len(paged.data) == 1 and paged.page_info.total_count == 3


@pytest.mark.parametrize("missing", ["current_page", "page_size"])
def test_machine_paging_is_required(fleet: Fleet, missing: str) -> None:
    fields = {"current_page": 1, "page_size": 10}
    del fields[missing]
    with pytest.raises(ClientException) as caught:
        fleet.client.list_virus_scan_machine(sas.ListVirusScanMachineRequest(**fields))
    assert (caught.value.code, caught.value.status_code) == ("MissingParameter", 400)
    assert ("CurrentPage" if missing == "current_page" else "PageSize") in caught.value.message
