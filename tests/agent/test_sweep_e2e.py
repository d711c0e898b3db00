"""`fleetscan sweep --sha256` end to end: a real server, three real agents each scanning its own folder."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx

from tests.support.agent_process import plant_corpus, wait_until
from tests.support.server import ServerProcess, Tenant, cli


def _sweep(server: ServerProcess, tenant: Tenant, *args: str) -> Any:
    done = cli(server.database_url, "sweep", "--account", tenant.account, "--project-id", tenant.project_id,
               "--interval", "0.3", "--timeout", "120", *args)
    assert done.returncode == 0, done.stderr
    return done


def _open_alerts(base: str, token: str) -> int:
    reply = httpx.get(f"{base}/antivirus/statistic", headers={"X-Auth-Token": token})
    return int(reply.json()["total_malware_num"])


def _places(hits: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(h["host_id"], h["file_path"]) for h in hits}


def test_sweep_finds_exactly_the_hosts_holding_the_file(
    agents: Any, server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    roots = [tmp_path / f"root{i}" for i in range(3)]
    for root in roots:
        plant_corpus(root, clean=12, infected=1)  # an EICAR plant too: a sweep reports only what it asked for
    content = os.urandom(4096)
    wanted = hashlib.sha256(content).hexdigest()
    (roots[0] / "a").mkdir()
    (roots[0] / "a" / "payload.bin").write_bytes(content)
    (roots[1] / "b" / "c").mkdir(parents=True)
    (roots[1] / "b" / "c" / "renamed.dat").write_bytes(content)
    (roots[2] / "payload.bin").write_bytes(os.urandom(4096))  # same size and name, another hash
    hosts = [agents(f"sweep-{i}", "--root", str(root)).host_id for i, root in enumerate(roots)]
    token = tenant.auth_token()
    base = f"{server.url}/v5/{tenant.project_id}"
    full = cli(server.database_url, "task", "start", "--account", tenant.account, "--project-id", tenant.project_id,
               "--all-hosts", "--scan-type", "full", "--json")
    assert full.returncode == 0, full.stderr
    wait_until(lambda: _open_alerts(base, token) == 3, timeout=120, what="the EICAR plants' alerts")

    first = json.loads(_sweep(server, tenant, "--sha256", wanted.upper(), "--json").stdout)
    assert first["known"] == [] and first["hosts"] == 3 and first["status"] == "succeeded"
    assert first["name"] == f"sweep sha256:{wanted[:12]}…"
    assert _places(first["found"]) == {(hosts[0], "/a/payload.bin"), (hosts[1], "/b/c/renamed.dat")}
    assert {h["sha256"] for h in first["found"]} == {wanted}

    # The findings are results like any other, named after the hash, in the task both dialects list.
    results = httpx.get(f"{base}/antivirus/result", params={"task_name": first["name"], "limit": 50},
                        headers={"X-Auth-Token": token}).json()
    names = {r["malware_name"] for r in results["data_list"]}
    assert names == {f"Sweep.SHA256.{wanted[:12]}"}, results
    assert _open_alerts(base, token) == 5  # the sweep's two, and it resolved none of the EICAR plants' alerts
    listed = httpx.get(f"{base}/antivirus/task", headers={"X-Auth-Token": token},
                       params={"whether_paid_task": "false", "offset": 0, "limit": 10}).json()["data_list"]
    row = next(t for t in listed if t["task_id"] == first["task_id"])
    assert (row["task_name"], row["scan_type"]) == (first["name"], "full")

    # A second sweep answers the known hosts at once, from stored findings.
    again = json.loads(_sweep(server, tenant, "--sha256", wanted, "--no-wait", "--json").stdout)
    assert _places(again["known"]) == _places(first["found"]) and again["found"] == []
    text = _sweep(server, tenant, "--sha256", wanted, "--no-wait").stdout
    assert "/a/payload.bin" in text and "/b/c/renamed.dat" in text and again["task_id"] != first["task_id"]

    # The same over HTTP, for the console.
    known = httpx.get(f"{base}/fleetscan/sweep", params={"sha256": wanted}, headers={"X-Auth-Token": token})
    assert known.status_code == 200, known.text
    assert _places(known.json()["known"]) == _places(first["found"])
    polled = httpx.get(f"{base}/fleetscan/sweep", params={"sha256": wanted, "task_id": first["task_id"]},
                       headers={"X-Auth-Token": token}).json()
    assert polled["status"] == "succeeded" and _places(polled["found"]) == _places(first["found"])
    started = httpx.post(f"{base}/fleetscan/sweep", json={"sha256": [wanted]}, headers={"X-Auth-Token": token})
    assert started.status_code == 200, started.text
    assert started.json()["hosts"] == 3 and _places(started.json()["known"]) == _places(first["found"])
    one = httpx.post(f"{base}/fleetscan/sweep", json={"sha256": [wanted], "host_ids": [hosts[2], "nope"]},
                     headers={"X-Auth-Token": token}).json()
    assert one["hosts"] == 1 and one["missing_host_ids"] == ["nope"]


def test_a_bad_hash_is_a_one_line_error(server: ServerProcess, tenant: Tenant) -> None:
    done = cli(server.database_url, "sweep", "--account", tenant.account, "--project-id", tenant.project_id,
               "--sha256", "abc123")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "abc123" in done.stderr and "SHA-256" in done.stderr


def test_the_http_route_refuses_a_bad_hash_in_the_hss_shape(server: ServerProcess, tenant: Tenant) -> None:
    token = tenant.auth_token()
    url = f"{server.url}/v5/{tenant.project_id}/fleetscan/sweep"
    for reply in (
        httpx.post(url, json={"sha256": ["zz" * 32]}, headers={"X-Auth-Token": token}),
        httpx.post(url, json={"sha256": []}, headers={"X-Auth-Token": token}),
        httpx.get(url, params={"sha256": "12"}, headers={"X-Auth-Token": token}),
        httpx.get(url, headers={"X-Auth-Token": token}),
    ):
        assert reply.status_code == 400, reply.text
        assert set(reply.json()) >= {"error_code", "error_msg"} and "sha256" in reply.json()["error_msg"]
    assert httpx.get(url, params={"sha256": "ab" * 32}).status_code == 401
