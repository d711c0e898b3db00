"""CreateVirusScanOnceTask: scan types, paths, targets, idempotency and DryRun."""

from __future__ import annotations

import json

import pytest
from alibabacloud_sas20181203 import models as sas
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.api.alibaba.helpers import Fleet
from tests.support.agent_protocol import ProtocolAgent


def _once(fleet: Fleet, **fields: object) -> str:
    resp = fleet.client.create_virus_scan_once_task(sas.CreateVirusScanOnceTaskRequest(**fields))
    request_id: str = resp.body.request_id
    assert request_id and resp.status_code == 200
    return request_id


def _refused(fleet: Fleet, **fields: object) -> ClientException:
    with pytest.raises(ClientException) as caught:
        fleet.client.create_virus_scan_once_task(sas.CreateVirusScanOnceTaskRequest(**fields))
    return caught.value


def test_system_scan_targets_every_host_and_is_a_system_task(fleet: Fleet) -> None:
    a, b = fleet.enroll("h-a"), fleet.enroll("h-b")
    _once(fleet, scan_type="system")
    rows = fleet.tasks(scan_type="system")
    assert {r.uuid for r in rows} == {a.host_id, b.host_id}
    assert fleet.tasks(scan_type="user") == []
    roots = fleet.tasks(root_task=True)
    assert len(roots) == 1 and roots[0].scan_type == "system" and roots[0].scan_path == []
    assert fleet.take(a) == next(r.task_id for r in rows if r.uuid == a.host_id)


def test_user_scan_paths(fleet: Fleet) -> None:
    a = fleet.enroll("h-a")
    _once(fleet, scan_type="user", scan_path=["/tmp", "/var/www"])
    root = fleet.tasks(root_task=True)[0]
    assert root.scan_type == "user" and root.scan_path == ["/tmp", "/var/www"]
    assert a.work()[0]["scan_paths"] == ["/tmp", "/var/www"]
    data = fleet.client.get_virus_scan_latest_task_statistic().body.data
    assert data.scan_path == ["/tmp", "/var/www"] and data.scan_type == "user"

    assert _refused(fleet, scan_type="user").code == "InvalidParameter"  # no path
    err = _refused(fleet, scan_type="system", scan_path=["/tmp"])
    assert (err.code, err.status_code) == ("InvalidParameter", 400) and "ScanPath" in err.message
    _once(fleet, scan_type="user", scan_path=[f"/p{i}" for i in range(20)])  # 20 paths: the bound
    err = _refused(fleet, scan_type="user", scan_path=[f"/p{i}" for i in range(21)])
    assert "ScanPath.21" in err.message
    _once(fleet, scan_type="user", scan_path=["/" + "a" * 1023])
    assert "ScanPath.1" in _refused(fleet, scan_type="user", scan_path=["/" + "a" * 1024]).message
    assert _refused(fleet, scan_type="manual").code == "InvalidParameter"
    assert len(fleet.tasks(root_task=True)) == 3  # the refused ones created nothing


def test_client_token_is_idempotent_and_dry_run_creates_nothing(fleet: Fleet) -> None:
    fleet.enroll("h-a")
    _once(fleet, scan_type="system", client_token="tok-1")
    _once(fleet, scan_type="system", client_token="tok-1")
    assert len(fleet.tasks(root_task=True)) == 1
    _once(fleet, scan_type="system", client_token="tok-2")
    assert len(fleet.tasks(root_task=True)) == 2
    _once(fleet, scan_type="system", client_token="t" * 64)
    assert "ClientToken" in _refused(fleet, scan_type="system", client_token="t" * 65).message

    err = _refused(fleet, scan_type="system", dry_run=True)
    assert (err.code, err.status_code) == ("DryRunOperation", 400) and err.request_id
    assert len(fleet.tasks(root_task=True)) == 3
    err = _refused(fleet, scan_type="user", dry_run=True)  # DryRun still validates
    assert err.code == "InvalidParameter"
    _once(fleet, scan_type="system", dry_run=False)
    assert len(fleet.tasks(root_task=True)) == 4


def test_selection_key_group_and_param_target_info(fleet: Fleet) -> None:
    flags = ["--account", fleet.tenant.account, "--project-id", fleet.tenant.project_id, "--group", "web"]
    info = fleet.server.admin("enroll-token", *flags)
    grouped = ProtocolAgent(fleet.server.url, info["enroll_token"], "grouped")
    loose = fleet.enroll("loose")

    _once(fleet, scan_type="system", selection_key=info["group_id"])
    assert [r.uuid for r in fleet.tasks()] == [grouped.host_id]
    err = _refused(fleet, scan_type="system", selection_key="no-such-group")
    assert err.code == "InvalidParameter" and "SelectionKey" in err.message

    param = json.dumps({"targetInfo": [{"type": "uuid", "target": loose.host_id, "name": "x"}]})
    _once(fleet, scan_type="system", param=param)
    assert [r.uuid for r in fleet.tasks(root_task_id=fleet.tasks(root_task=True)[0].task_id)] == [loose.host_id]
    for bad in ("[1]", "{not json", json.dumps({"targetInfo": [{"type": "ip", "target": "x"}]})):
        err = _refused(fleet, scan_type="system", param=bad)
        assert (err.code, err.status_code) == ("InvalidParameter", 400) and "Param" in err.message
    _once(fleet, scan_type="system", param=json.dumps({"additionType": ["HASH"]}))  # other keys: all hosts
    assert {r.uuid for r in fleet.tasks(root_task_id=fleet.tasks(root_task=True)[0].task_id)} == {
        grouped.host_id,
        loose.host_id,
    }


def test_no_host_to_scan(fleet: Fleet) -> None:
    err = _refused(fleet, scan_type="system")
    assert (err.code, err.status_code) == ("InvalidParameter", 400)
