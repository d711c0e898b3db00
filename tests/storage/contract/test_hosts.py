"""HostStore: hosts and their groups (core/ports.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fleetscan.core.models import Host
from fleetscan.core.queries import HostFilter, Page
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.storage import SqlStorage, open_storage

from .world import enrolled


def test_a_group_is_made_once_per_project(store: SqlStorage) -> None:
    account = store.ensure_account("acct")
    first = store.ensure_group(account, "p1", "web")
    assert store.ensure_group(account, "p1", "web") == first
    assert store.ensure_group(account, "p2", "web") != first


def test_an_enrolled_host_is_found_by_its_agent_with_its_secrets_hash(plane: ControlPlane, store: SqlStorage) -> None:
    token, _ = plane.create_credential("enroll", "acct", "p1", group="web", enterprise_project_id="e1")
    made = plane.enroll(token, HostFacts("h1", private_ip="10.0.0.1", agent_version="1.2"))
    found = store.get_host_by_agent(made.host.agent_id)
    assert found is not None
    host, secret_hash = found
    assert host == made.host and host.id > 0 and (host.enterprise_project_id, host.agent_version) == ("e1", "1.2")
    assert host.group_id is not None and secret_hash and secret_hash != made.agent_secret
    assert store.get_host_by_agent("no-such-agent") is None


def test_seen_and_stopped_are_recorded_apart(plane: ControlPlane, store: SqlStorage) -> None:
    [host] = enrolled(plane, 1)
    assert host.last_seen is not None
    at = host.last_seen
    store.touch_host(host.id, at + 5)
    store.host_stopped(host.id, at + 7)
    found = store.get_host_by_agent(host.agent_id)
    assert found is not None and (found[0].last_seen, found[0].stopped_at) == (at + 5, at + 7)  # goodbye keeps it


def test_beats_in_a_batch_never_move_last_seen_back(plane: ControlPlane, store: SqlStorage) -> None:
    first, second = enrolled(plane, 2)
    assert first.last_seen is not None and second.last_seen is not None
    store.touch_hosts({first.id: first.last_seen + 10, second.id: second.last_seen + 20})
    store.touch_hosts({first.id: first.last_seen + 3})  # a late batch: older than what is stored
    seen = {h.id: h.last_seen for h in (store.get_host_by_agent(x.agent_id)[0] for x in (first, second))}  # type: ignore[index]
    assert seen == {first.id: first.last_seen + 10, second.id: second.last_seen + 20}


def test_two_processes_flushing_the_same_hosts_at_once_keep_each_hosts_newest_beat(
    plane: ControlPlane, store: SqlStorage, database_url: str
) -> None:
    """Each server process flushes the beats it noted, hosts in key order: two of them flushing the same hosts
    at once wait on each other's row locks, never deadlock, and the newest beat of each host stays."""
    made = enrolled(plane, 60)
    start = max(h.last_seen or 0 for h in made)
    beats = [  # flush i: one of two overlapping two-thirds of the hosts, its beats out of order
        {h.id: start + 1 + (i * 7 + k) % 16 for k, h in enumerate(made[(i % 2) * 20 :][:40])} for i in range(16)
    ]
    replicas = [store, open_storage(database_url, migrate=False)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: replicas[i % 2].touch_hosts(beats[i]), range(len(beats))))
    finally:
        replicas[1].dispose()
    newest = {h.id: max(flush.get(h.id, 0) for flush in beats) for h in made}
    seen = {h.id: store.get_host_by_agent(h.agent_id)[0].last_seen for h in made}  # type: ignore[index]
    assert seen == newest


def test_hosts_are_found_and_listed_in_scope_only(plane: ControlPlane, store: SqlStorage) -> None:
    e1 = enrolled(plane, 2, "e1")
    e2 = enrolled(plane, 1, "e2")
    everything = plane.create_access_key("acct", "p1").scope
    only_e1 = plane.create_access_key("acct", "p1", ["e1"]).scope
    other_project = plane.create_access_key("acct", "p2").scope
    ids = [h.host_id for h in e1 + e2]
    assert [h.host_id for h in store.find_hosts(everything, ids)] == ids
    assert [h.host_id for h in store.find_hosts(only_e1, ids)] == ids[:2]
    assert store.find_hosts(other_project, ids) == [] and store.find_hosts(everything) == []
    assert store.list_hosts(only_e1, HostFilter(), Page(0, 50))[0] == 2
    assert store.list_hosts(everything, HostFilter(remark="host-e2"), Page(0, 50))[0] == 1
    assert store.list_hosts(everything, HostFilter(private_ip="10.0.0.0"), Page(0, 50))[0] == 2
    assert store.list_hosts(everything, HostFilter(host_ids=frozenset(ids[1:])), Page(0, 50))[0] == 2
    total, page = store.list_hosts(everything, HostFilter(), Page(1, 1))
    assert total == 3 and [h.host_id for h in page] == [ids[1]]


def test_an_enrolled_host_gets_its_key_and_keeps_its_facts(store: SqlStorage) -> None:
    account = store.ensure_account("acct")
    host = Host("h" * 32, account, "p1", "web", "e1", private_ip="10.0.0.9", agent_id="agent-1", created_at=3)
    made = store.enroll_host(host, "x" * 64)
    assert made.id > 0
    assert store.get_host_by_agent("agent-1") == (made, "x" * 64)


def test_secret_hashes_are_read_in_bulk_for_the_agents_that_exist(store: SqlStorage) -> None:
    account = store.ensure_account("acct")
    made = [
        store.enroll_host(Host(f"{i:032x}", account, "p1", f"h{i}", agent_id=f"agent-{i}"), f"{i:064x}")
        for i in range(1, 1203)  # more than one chunk of the IN list
    ]
    asked = [h.agent_id for h in made] + ["no-such-agent"]
    found = store.agent_secret_hashes(asked)
    assert len(found) == len(made) and "no-such-agent" not in found
    assert found["agent-1"] == f"{1:064x}" and found["agent-1202"] == f"{1202:064x}"
    assert store.agent_secret_hashes([]) == {}


def test_hosts_are_read_in_bulk_by_their_agents(plane: ControlPlane, store: SqlStorage) -> None:
    made = enrolled(plane, 3)
    found = store.hosts_by_agents([h.agent_id for h in made] + ["no-such-agent"])
    assert sorted(found) == sorted(h.agent_id for h in made)
    assert all(found[h.agent_id][0] == h and len(found[h.agent_id][1]) == 64 for h in made)
    assert store.hosts_by_agents([]) == {}


def test_credentials_are_verified_in_bulk_each_with_its_own_answer(plane: ControlPlane) -> None:
    token, _ = plane.create_credential("enroll", "acct", "p1")
    first, second = (plane.enroll(token, HostFacts(f"bulk-{i}")) for i in range(2))
    asked = [
        (first.host.agent_id, first.agent_secret),
        (second.host.agent_id, first.agent_secret),  # another agent's secret
        ("no-such-agent", second.agent_secret),
        (second.host.agent_id, second.agent_secret),
    ]
    hosts = plane.authenticate_agents(asked)
    assert [h.host_id if h else None for h in hosts] == [first.host.host_id, None, None, second.host.host_id]


def test_a_credential_no_agent_could_hold_is_refused_alone_in_a_bulk_check(plane: ControlPlane) -> None:
    """An id no column can store (a control character from a hostile header) is nobody's credential: it must not
    fail the read that verifies the others batched with it."""
    token, _ = plane.create_credential("enroll", "acct", "p1")
    good = plane.enroll(token, HostFacts("bulk-good"))
    hosts = plane.authenticate_agents([("bad\x7fid", "x"), (good.host.agent_id, good.agent_secret), ("\ud800", "y")])
    assert [h.host_id if h else None for h in hosts] == [None, good.host.host_id, None]
