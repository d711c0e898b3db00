"""A YARA rule added on the server while an agent runs is used by the agent's next scan, without a restart.

A real server and a real agent: the rule matches a marker only one planted file holds, which no local signature
knows; the finding carries the version it was found with, the host shows it, and the set is downloaded once.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.agent_process import EICAR, wait_until
from tests.support.server import ServerProcess, Tenant, cli


def _task_cli(server: ServerProcess, tenant: Tenant, *args: str) -> dict[str, Any]:
    done = cli(server.database_url, "task", *args, "--project-id", tenant.project_id, "--account", tenant.account,
               "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _scan(server: ServerProcess, tenant: Tenant, host_id: str, folder: Path) -> dict[str, Any]:
    started = _task_cli(server, tenant, "start", "--host-id", host_id, "--scan-type", "custom", "--path", str(folder))

    def finished() -> dict[str, Any] | None:
        for row in _task_cli(server, tenant, "list")["tasks"]:
            if row["task_id"] == started["task_id"] and row["status"] in ("succeeded", "failed", "finished"):
                return row
        return None

    return wait_until(finished, timeout=120, what="the scan to end")  # type: ignore[no-any-return]


def test_a_rule_added_while_the_agent_runs_is_used_by_its_next_scan(
    server: ServerProcess, tenant: Tenant, agents: Any, tmp_path: Path
) -> None:
    marker = "fleetscan-central-marker-" + uuid.uuid4().hex
    folder = tmp_path / "tree"
    folder.mkdir()
    (folder / "only-the-rule.txt").write_text(f"some text {marker} more text\n")
    (folder / "eicar.com").write_bytes(EICAR)
    (folder / "clean.txt").write_text("nothing here\n")
    agent = agents("sigs")
    host_id = agent.host_id
    pid = agent.proc.pid

    first = _scan(server, tenant, host_id, folder)  # local signatures only: EICAR, not the marker
    assert first["viruses_found"] == 1 and first["signature_versions"] == []

    rule = tmp_path / "marker.yar"
    rule.write_text(f'rule central_marker {{ strings: $m = "{marker}" condition: $m }}\n')
    done = cli(server.database_url, "signatures", "add", str(rule), "--project-id", tenant.project_id,
               "--account", tenant.account, "--name", "central", "--json")
    assert done.returncode == 0, done.stderr
    version = json.loads(done.stdout)["version"]

    second = _scan(server, tenant, host_id, folder)
    assert second["viruses_found"] == 2, second
    assert second["signature_versions"] == [version]
    assert agent.proc.poll() is None and agent.proc.pid == pid  # the same process: no restart

    token = tenant.auth_token()
    base = f"{server.url}/v5/{tenant.project_id}"
    results = httpx.get(f"{base}/antivirus/result", params={"limit": 50, "offset": 0},
                        headers={"X-Auth-Token": token}).json()["data_list"]
    marked = [r for r in results if r["file_info"]["file_path"].endswith("only-the-rule.txt")]
    assert marked and marked[0]["malware_name"].endswith("central_marker")
    assert {r["signature_version"] for r in marked} == {version}
    hosts = httpx.get(f"{base}/antivirus/host-management/hosts", params={"limit": 10, "offset": 0},
                      headers={"X-Auth-Token": token}).json()["data_list"]
    assert [h["signature_version"] for h in hosts if h["host_id"] == host_id] == [version]

    # Downloaded once: the agent holds the set with its ETag, and asking again with it is a 304.
    manifest = json.loads((agent.state_dir / "central" / "current.json").read_text())
    assert manifest["version"] == version
    credential = json.loads((agent.state_dir / "credential.json").read_text())
    auth = {"Authorization": f"Bearer {credential['agent_id']}:{credential['agent_secret']}"}
    url = f"{server.url}/agent/v1/signatures/{version}"
    again = httpx.get(url, headers={**auth, "If-None-Match": manifest["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == manifest["etag"]
    fresh = httpx.get(f"{server.url}/agent/v1/signatures/{version}", headers=auth)
    assert fresh.status_code == 200 and fresh.headers["etag"] == manifest["etag"]
    downloads = [line for line in agent.lines() if line.get("msg") == "central signatures downloaded"]
    assert len(downloads) == 1, downloads
