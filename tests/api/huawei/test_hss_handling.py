"""HandleAntiVirusResult and the handling listings: bounds, refusals that change nothing, tenant isolation."""

from __future__ import annotations

import json
from typing import Any

from huaweicloudsdkhss.v5 import (
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HandleAntiVirusResultRequest,
    ListAntivirusHandleHistoryRequest,
    ListAntiVirusResultRequest,
    ListIsolatedFileRequest,
    OperateAntiVirusResultRequestInfo,
    OperateResultRequestInfo,
)

from tests.support.agent_protocol import finding
from tests.support.server import Tenant

from .hss_support import Fleet, refused, signed, tenant_client


def _world(tenant: Tenant) -> tuple[Any, list[str]]:
    hss = tenant_client(tenant)
    fleet = Fleet(tenant)
    fleet.enroll("h1")
    body = CreateAntiVirusTaskRequestInfo(
        task_name="t", scan_type="quick", action="manual", host_ids=[fleet.host_id("h1")]
    )
    task_id = hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body)).task_id
    sub = fleet.subtask("h1", task_id)
    found = [finding("/a.com"), finding("/b.com", name="Other")]
    assert fleet.agents["h1"].complete(sub, "success", detections=found).status_code == 200
    rows = hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=10)).data_list
    return hss, sorted(r.result_id for r in rows)


def _operate(hss: Any, op: str, ids: list[str], memo: str = "") -> Any:
    items = [OperateResultRequestInfo(result_id=i) for i in ids]
    body = OperateAntiVirusResultRequestInfo(operate_type=op, memo=memo, operate_results=items)
    return lambda: hss.handle_anti_virus_result(HandleAntiVirusResultRequest(body=body))


def _statuses(hss: Any) -> list[str]:
    return sorted(r.handle_status for r in hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=10)).data_list)


def test_bounds_and_refusals_change_nothing(tenant: Tenant) -> None:
    hss, ids = _world(tenant)
    refused(_operate(hss, "explode", ids), 400, "HSS.0001")
    refused(_operate(hss, "ignore", []), 400, "HSS.0001")
    refused(_operate(hss, "ignore", ids, memo="m" * 513), 400, "HSS.0001")
    refused(_operate(hss, "ignore", ["x" * 65]), 400, "HSS.0001")
    refused(_operate(hss, "ignore", [*ids, "f" * 32]), 404, "HSS.0002")
    assert _statuses(hss) == ["unhandled", "unhandled"]

    _operate(hss, "ignore", ids[:1], memo="m" * 512)()
    refused(_operate(hss, "ignore", ids), 409, "HSS.0003")  # ids[0] is handled already: nothing changes
    assert _statuses(hss) == ["handled", "unhandled"]
    refused(_operate(hss, "do_not_isolate_or_kill", ids[1:]), 409, "HSS.0003")  # not isolated
    history = hss.list_antivirus_handle_history(ListAntivirusHandleHistoryRequest(limit=10)).data_list
    assert [(r.result_id, r.handle_method, r.notes) for r in history] == [(ids[0], "ignore", "m" * 512)]
    assert hss.list_isolated_file(ListIsolatedFileRequest(limit=10)).total_num == 0


def test_raw_bodies_of_the_wrong_shape(tenant: Tenant) -> None:
    _, ids = _world(tenant)
    bad = [
        b"[]",
        json.dumps({"operate_type": "ignore", "operate_results": "nope"}).encode(),
        json.dumps({"operate_type": "ignore", "operate_results": [{"result_id": 5}]}).encode(),
        json.dumps({"operate_type": "ignore", "operate_results": [{"result_id": ids[0], "event_type": "x"}]}).encode(),
        json.dumps(
            {
                "operate_type": "add_to_alarm_whitelist",
                "operate_results": [{"result_id": ids[0]}],
                "event_white_rules": [{"field_key": "process_name"}],
            }
        ).encode(),
    ]
    for body in bad:
        reply = signed(tenant, "POST", "/antivirus/result/operate", body=body)
        assert (reply.status_code, reply.json()["error_code"]) == (400, "HSS.0001"), body


def test_another_tenants_results_are_not_found(tenant: Tenant) -> None:
    _, ids = _world(tenant)
    other = tenant_client(Tenant(tenant.server))
    refused(_operate(other, "mark_as_handled", ids[:1]), 404, "HSS.0002")
    assert other.list_antivirus_handle_history(ListAntivirusHandleHistoryRequest(limit=10)).total_num == 0


def test_operate_accept_list_offers_exactly_what_is_accepted(tenant: Tenant) -> None:
    """Each offered operation succeeds; after `ignore`, the offer is its inverse `do_not_ignore`, not `unhandle`."""
    hss, ids = _world(tenant)

    def offered(result_id: str) -> list[str]:
        rows = hss.list_anti_virus_result(ListAntiVirusResultRequest(limit=10)).data_list
        return list(next(r.operate_accept_list for r in rows if r.result_id == result_id))

    assert offered(ids[0]) == ["mark_as_handled", "ignore", "add_to_alarm_whitelist", "manual_isolate_and_kill"]
    for op, then in (
        ("ignore", ["do_not_ignore"]),
        ("do_not_ignore", None),
        ("mark_as_handled", ["unhandle"]),
        ("unhandle", None),
        ("add_to_alarm_whitelist", ["remove_from_alarm_whitelist"]),
    ):
        assert op in offered(ids[0])
        _operate(hss, op, ids[:1])()
        assert offered(ids[0]) == (then or offered(ids[1]))
