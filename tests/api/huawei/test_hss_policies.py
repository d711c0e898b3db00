"""HSS antivirus policies through the SDK: create (now / later / period), list, change, delete, every bound."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from huaweicloudsdkhss.v5 import (
    ChangeAntivirusPolicyRequest,
    ChangeAntivirusPolicyRequestInfo,
    CreateAntiVirusPolicyRequest,
    CreateAntiVirusPolicyRequestBody,
    DeleteAntivirusPolicyRequest,
    DeleteAntivirusPolicyRequestInfo,
    HssClient,
    ListAntiVirusHostRequest,
    ListAntiVirusPolicyRequest,
    ListAntiVirusTaskRequest,
)

from tests.support.server import ServerProcess, Tenant

from .hss_support import Fleet, raw_json, refused, signed, tenant_client

DAY_MS = 86_400_000


class Policies:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.hss: HssClient = tenant_client(tenant)
        self.fleet = Fleet(tenant)
        self.hosts = [self.fleet.enroll(n).host_id for n in ("web-01", "web-02")]

    def body(self, **fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "policy_name": "nightly",
            "start_type": "period",
            "scan_period": "day",
            "scan_hour": 2,
            "scan_minute": 30,
            "scan_type": "quick",
            "action": "manual",
            "host_ids": self.hosts,
        }
        base.update(fields)
        return {k: v for k, v in base.items() if v is not None}

    def create(self, **fields: Any) -> Any:
        body = CreateAntiVirusPolicyRequestBody(**self.body(**fields))
        return self.hss.create_anti_virus_policy(CreateAntiVirusPolicyRequest(body=body))

    def listing(self, **query: Any) -> Any:
        return self.hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=0, limit=200, **query))

    def one(self, policy_id: str) -> Any:
        return next(p for p in self.listing().data_list if p.policy_id == policy_id)

    def raw_create(self, body: dict[str, Any]) -> Any:
        return signed(self.tenant, "POST", "/antivirus/policy", body=json.dumps(body).encode())


@pytest.fixture(scope="module")
def shared(server: ServerProcess) -> Policies:
    """One tenant for the module (each enrollment costs an admin command); tests tell their policies apart by id."""
    return Policies(Tenant(server))


@pytest.fixture
def pol(shared: Policies) -> Policies:
    return shared


def now_ms() -> int:
    return int(time.time() * 1000)


def test_periodic_policy_is_listed_with_its_next_run_in_its_offset(pol: Policies) -> None:
    made = pol.create(
        policy_name="weekly-custom",
        scan_period="week",
        scan_period_date=2,  # Monday
        scan_hour=3,
        scan_minute=15,
        timezone_offset=480,
        scan_type="custom",
        scan_dir="/srv;/home ",
        ignore_dir="/srv/cache",
        file_types=[1, 3],
        action="auto",
        whether_paid_task=True,
        host_ids=[*pol.hosts, "no-such-host"],
    )
    assert made.result is False and made.task_id == ""
    assert [(r.host_id, bool(r.reason)) for r in made.fail_reasons] == [("no-such-host", True)]
    item = pol.one(made.policy_id)
    assert (item.policy_name, item.start_type, item.scan_period, item.scan_period_date) == (
        "weekly-custom",
        "period",
        "week",
        2,
    )
    assert (item.scan_hour, item.scan_minute, item.action, item.invalidate) == (3, 15, "auto", False)
    assert (item.scan_dir, item.ignore_dir, item.file_type_list) == ("/srv;/home", "/srv/cache", [1, 3])
    assert item.whether_paid_task is True and item.host_num == 2
    assert sorted(h.host_id for h in item.host_info_list) == sorted(pol.hosts)
    local = datetime.fromtimestamp((item.next_start_time + 480 * 60_000) / 1000, UTC)
    assert (local.isoweekday(), local.hour, local.minute, local.second) == (1, 3, 15, 0)
    assert now_ms() < item.next_start_time <= now_ms() + 7 * DAY_MS


def test_listing_has_the_sdk_types(pol: Policies) -> None:
    pol.create()
    body = raw_json(pol.listing())
    row = body["data_list"][0]
    ints = ("scan_period_date", "scan_time", "scan_hour", "scan_minute", "next_start_time", "host_num")
    assert all(type(row[k]) is int for k in ints)
    assert type(row["invalidate"]) is bool and type(row["whether_paid_task"]) is bool
    assert type(row["total_num"] if "total_num" in row else body["total_num"]) is int
    assert isinstance(row["scan_dir"], str) and isinstance(row["file_type_list"], list)


def test_later_policy_waits_for_its_time(pol: Policies) -> None:
    at = now_ms() + DAY_MS
    made = pol.create(start_type="later", scan_time=at, scan_period=None, scan_hour=None, scan_minute=None)
    item = pol.one(made.policy_id)
    assert (item.start_type, item.scan_time, item.next_start_time, item.invalidate) == ("later", at, at, False)


def test_now_policy_starts_its_task_at_once(pol: Policies) -> None:
    made = pol.create(policy_name="right-away", start_type="now", scan_type="full")
    assert len(made.task_id) == 32 and made.result is True
    tasks = pol.hss.list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False))
    task = next(t for t in tasks.data_list if t.task_id == made.task_id)
    assert (task.task_name, task.scan_type, task.start_type, task.host_num) == ("right-away", "full", "now", 2)
    item = pol.one(made.policy_id)
    assert item.invalidate is True and item.next_start_time == 0


def test_no_existing_host_is_refused(pol: Policies) -> None:
    before = pol.listing().total_num
    refused(lambda: pol.create(host_ids=["nope"]), 400, "HSS.0001")
    assert pol.listing().total_num == before


def test_change_keeps_what_is_left_out_and_rearms(pol: Policies) -> None:
    made = pol.create(policy_name="before", scan_dir="/opt", scan_type="custom")
    info = ChangeAntivirusPolicyRequestInfo(
        policy_id=made.policy_id, policy_name="after", scan_period="month", scan_period_date=28
    )
    pol.hss.change_antivirus_policy(ChangeAntivirusPolicyRequest(body=info))
    item = pol.one(made.policy_id)
    assert (item.policy_name, item.scan_period, item.scan_period_date, item.scan_dir) == ("after", "month", 28, "/opt")
    assert (item.scan_hour, item.scan_minute) == (2, 30)
    assert datetime.fromtimestamp(item.next_start_time / 1000, UTC).day == 28
    # to `later`: needs a future scan_time
    bad = ChangeAntivirusPolicyRequestInfo(policy_id=made.policy_id, start_type="later")
    refused(lambda: pol.hss.change_antivirus_policy(ChangeAntivirusPolicyRequest(body=bad)), 400, "HSS.0001")
    at = now_ms() + DAY_MS
    good = ChangeAntivirusPolicyRequestInfo(policy_id=made.policy_id, start_type="later", scan_time=at)
    pol.hss.change_antivirus_policy(ChangeAntivirusPolicyRequest(body=good))
    assert pol.one(made.policy_id).next_start_time == at


def test_change_and_delete_unknown_or_foreign_policies_are_404(pol: Policies, server: ServerProcess) -> None:
    mine = pol.create().policy_id
    other = Policies(Tenant(server))
    info = ChangeAntivirusPolicyRequestInfo(policy_id=mine, policy_name="stolen")
    refused(lambda: other.hss.change_antivirus_policy(ChangeAntivirusPolicyRequest(body=info)), 404, "HSS.0002")
    gone = DeleteAntivirusPolicyRequestInfo(policy_ids=[mine])
    refused(lambda: other.hss.delete_antivirus_policy(DeleteAntivirusPolicyRequest(body=gone)), 404, "HSS.0002")
    assert other.listing().total_num == 0
    assert pol.one(mine).policy_name == "nightly"


def test_delete_is_all_or_nothing(pol: Policies) -> None:
    first, second = pol.create().policy_id, pol.create(policy_name="second").policy_id
    partly = DeleteAntivirusPolicyRequestInfo(policy_ids=[first, "f" * 32])
    refused(lambda: pol.hss.delete_antivirus_policy(DeleteAntivirusPolicyRequest(body=partly)), 404, "HSS.0002")
    assert {first, second} <= {p.policy_id for p in pol.listing().data_list}
    pol.hss.delete_antivirus_policy(DeleteAntivirusPolicyRequest(body=DeleteAntivirusPolicyRequestInfo([first])))
    left = {p.policy_id for p in pol.listing().data_list}
    assert second in left and first not in left


def test_list_filters_and_paging(pol: Policies) -> None:
    u = uuid.uuid4().hex[:8]
    pol.create(policy_name=f"{u}-alpha-quick")
    pol.create(policy_name=f"{u}-beta-full", scan_type="full")
    pol.create(policy_name=f"{u}-alpha-full", scan_type="full")
    named = pol.listing(policy_name=f"{u}-alpha").data_list
    assert sorted(p.policy_name for p in named) == [f"{u}-alpha-full", f"{u}-alpha-quick"]
    full = pol.listing(policy_name=u, scan_type="full").data_list
    assert sorted(p.policy_name for p in full) == [f"{u}-alpha-full", f"{u}-beta-full"]
    paged = pol.hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=2, limit=10, policy_name=u))
    assert paged.total_num == 3 and [p.policy_name for p in paged.data_list] == [f"{u}-alpha-quick"]  # newest first
    refused(lambda: pol.hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=0, limit=9)), 400, "HSS.0001")
    refused(lambda: pol.hss.list_anti_virus_policy(ListAntiVirusPolicyRequest(offset=0, limit=201)), 400, "HSS.0001")
    refused(lambda: pol.listing(scan_type="deep"), 400, "HSS.0001")


# (fields, accepted): one step inside and one step outside every bound
BOUNDS: list[tuple[dict[str, Any], bool]] = [
    ({"scan_hour": 23}, True),
    ({"scan_hour": 24}, False),
    ({"scan_hour": -1}, False),
    ({"scan_minute": 59}, True),
    ({"scan_minute": 60}, False),
    ({"scan_period": "week", "scan_period_date": 7}, True),
    ({"scan_period": "week", "scan_period_date": 8}, False),
    ({"scan_period": "week", "scan_period_date": 0}, False),
    ({"scan_period": "week"}, False),  # which day?
    ({"scan_period": "month", "scan_period_date": 28}, True),
    ({"scan_period": "month", "scan_period_date": 29}, False),
    ({"scan_period": "year"}, False),
    ({"timezone_offset": 840}, True),
    ({"timezone_offset": 841}, False),
    ({"timezone_offset": -720}, True),
    ({"timezone_offset": -721}, False),
    ({"file_types": [0, 6]}, True),
    ({"file_types": [7]}, False),
    ({"policy_name": "p" * 255}, True),
    ({"policy_name": "p" * 256}, False),
    ({"policy_name": None}, False),
    ({"start_type": "sometime"}, False),
    ({"scan_type": "custom", "scan_dir": "/data"}, True),
    ({"scan_type": "custom"}, False),
    ({"ignore_dir": "", "scan_dir": ""}, True),  # SDK users send empty strings for fields they leave out
    ({"scan_type": "custom", "scan_dir": ""}, False),
    ({"scan_dir": "d" * 4097}, False),
    ({"action": "delete"}, False),
    ({"host_ids": []}, False),
    ({"host_ids": ["h" * 65]}, False),
    ({"scan_hour": "2"}, False),  # a string for an integer
    ({"scan_hour": True}, False),  # a boolean for an integer
    ({"whether_paid_task": 1}, False),  # an integer for a boolean
    ({"start_type": "later", "scan_time": "soon"}, False),
    ({"start_type": "later"}, False),  # when?
    ({"start_type": "later", "scan_time": 1_000}, False),  # in the past
]


@pytest.mark.parametrize(("fields", "accepted"), BOUNDS)
def test_body_bounds(shared: Policies, fields: dict[str, Any], accepted: bool) -> None:
    body = shared.body(**{k: v for k, v in fields.items() if v is not None})
    if "policy_name" in fields and fields["policy_name"] is None:
        del body["policy_name"]
    before = shared.listing().total_num
    reply = shared.raw_create(body)
    if accepted:
        assert reply.status_code == 200, reply.text
        assert shared.listing().total_num == before + 1
    else:
        assert reply.status_code == 400, reply.text
        assert reply.json()["error_code"] == "HSS.0001"
        assert shared.listing().total_num == before  # refused: nothing stored


def test_later_scan_time_one_step_in_the_future_is_accepted(shared: Policies) -> None:
    reply = shared.raw_create(shared.body(start_type="later", scan_time=now_ms() + 60_000))
    assert reply.status_code == 200, reply.text


def test_a_policy_made_from_an_unknown_task_is_404(shared: Policies) -> None:
    before = shared.listing().total_num
    reply = shared.raw_create(shared.body(task_id="f" * 32))
    assert (reply.status_code, reply.json()["error_code"]) == (404, "HSS.0002")
    assert shared.listing().total_num == before


def test_malformed_bodies_and_methods(pol: Policies) -> None:
    reply = signed(pol.tenant, "POST", "/antivirus/policy", body=b"[1, 2]")
    assert (reply.status_code, reply.json()["error_code"]) == (400, "HSS.0001")
    reply = signed(pol.tenant, "PUT", "/antivirus/policy", body=b'{"policy_name": "x"}')
    assert (reply.status_code, reply.json()["error_code"]) == (400, "HSS.0001")  # policy_id is required
    reply = signed(pol.tenant, "DELETE", "/antivirus/policy")
    assert (reply.status_code, reply.json()["error_code"]) == (405, "APIGW.0102")
    reply = signed(pol.tenant, "POST", "/antivirus/policy/batch-delete", body=b'{"policy_ids": []}')
    assert (reply.status_code, reply.json()["error_code"]) == (400, "HSS.0001")


def test_host_list_filters_on_the_policies_that_scan_them(server: ServerProcess) -> None:
    own = Policies(Tenant(server))
    third = own.fleet.enroll("db-01").host_id
    periodic = own.create(policy_name="nightly-2", host_ids=own.hosts)
    later_at = now_ms() + DAY_MS
    own.create(policy_name="once", start_type="later", scan_time=later_at, scan_period=None, host_ids=[third])

    def hosts(**query: Any) -> list[str]:
        reply = own.hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=50, **query))
        return sorted(h.host_id for h in reply.data_list)

    assert hosts() == sorted([*own.hosts, third])
    assert hosts(policy_id=periodic.policy_id) == sorted(own.hosts)
    assert hosts(start_type="period") == sorted(own.hosts)
    assert hosts(next_start_time=own.one(periodic.policy_id).next_start_time) == sorted(own.hosts)
    assert hosts(policy_id="no-such-policy") == []
    assert hosts(policy_id=periodic.policy_id, host_name="web-01") == [own.hosts[0]]
