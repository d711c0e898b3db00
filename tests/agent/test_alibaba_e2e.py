"""A scan started with the Alibaba SDK, run by real agents, read back through every Alibaba seed operation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alibabacloud_sas20181203 import models as sas
from alibabacloud_sas20181203.client import Client
from alibabacloud_tea_openapi import models as open_api_models

from tests.support.agent_process import EICAR, plant_corpus, wait_until
from tests.support.server import ServerProcess, Tenant


def _client(server: ServerProcess, tenant: Tenant) -> Client:
    config = open_api_models.Config(
        access_key_id=tenant.access_key_id, access_key_secret=tenant.secret, endpoint=server.endpoint, protocol="http"
    )
    return Client(config)


def test_start_virus_scan_task_end_to_end(server: ServerProcess, tenant: Tenant, agents: Any, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    infected = tmp_path / "infected"
    plant_corpus(clean, clean=10, infected=0)
    planted = plant_corpus(infected, clean=10, infected=2)
    a = agents("ali-a")
    b = agents("ali-b")
    ali = _client(server, tenant)
    # a quick scan would cover the real system folders: a custom once-task with the two folders instead
    ali.create_virus_scan_once_task(
        sas.CreateVirusScanOnceTaskRequest(
            scan_type="user",
            scan_path=[str(clean), str(infected)],
            param=json.dumps(
                {"targetInfo": [{"type": "uuid", "target": a.host_id}, {"type": "uuid", "target": b.host_id}]}
            ),
        )
    )

    def latest() -> Any:
        data = ali.get_virus_scan_latest_task_statistic().body.data
        return data if data.status == 100 else None

    data = wait_until(latest, timeout=60, what="the task to end")
    assert (data.scan_machine, data.complete_machine, data.un_complete_machine) == (2, 2, 0)
    assert (data.suspicious_count, data.suspicious_machine, data.safe_machine) == (4, 2, 0)
    assert data.progress == "100" and data.scan_type == "user"
    assert sorted(data.scan_path) == sorted([str(clean), str(infected)])

    roots = ali.list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task=True)).body
    assert roots.page_info.total_count == 1
    root = roots.list[0]
    assert (root.task_id, root.status, root.progress) == (data.task_id, 2, 100)
    machines = ali.list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task_id=data.task_id)).body.list
    assert sorted((m.instance_name, m.status, m.progress) for m in machines) == [("ali-a", 2, 100), ("ali-b", 2, 100)]

    events = ali.list_virus_scan_machine_event(
        sas.ListVirusScanMachineEventRequest(uuid=a.host_id, current_page=1, page_size=20, lang="en")
    ).body.data
    paths = {d.value_display for e in events for d in e.details if d.name_display == "File Path"}
    assert paths == planted


def test_describe_scan_task_progress_follows_a_started_task(
    server: ServerProcess, tenant: Tenant, agents: Any, tmp_path: Path
) -> None:
    # StartVirusScanTask runs a quick scan: give the agent a small tree as its root, not this machine's /tmp
    plant_corpus(tmp_path / "root" / "tmp", clean=3, infected=1)
    agent = agents("ali-c", "--root", str(tmp_path / "root"))
    ali = _client(server, tenant)
    target = json.dumps([{"type": "uuid", "name": "ali-c", "target": agent.host_id}])
    task_id = ali.start_virus_scan_task(sas.StartVirusScanTaskRequest(target_info=target)).body.scan_task_id
    assert isinstance(task_id, int)

    def progress() -> Any:
        body = ali.describe_scan_task_progress(sas.DescribeScanTaskProgressRequest(task_id=task_id)).body
        return body if body.scan_task_progress in ("Success", "Failed") else None

    body = wait_until(progress, timeout=60, what="the quick scan to end")
    assert body.scan_task_progress == "Success"
    assert json.loads(body.target_info) == [{"type": "uuid", "name": "ali-c", "target": agent.host_id}]


def test_root_scans_a_mounted_tree_as_if_it_were_slash(
    server: ServerProcess, tenant: Tenant, agents: Any, tmp_path: Path
) -> None:
    mounted = tmp_path / "snapshot"
    (mounted / "srv" / "www").mkdir(parents=True)
    (mounted / "srv" / "www" / "shell.php").write_bytes(EICAR)
    (mounted / "srv" / "www" / "index.html").write_text("hello")
    agent = agents("ali-root", "--root", str(mounted))
    ali = _client(server, tenant)
    ali.create_virus_scan_once_task(
        sas.CreateVirusScanOnceTaskRequest(
            scan_type="user",
            scan_path=["/srv/www"],
            param=json.dumps({"targetInfo": [{"type": "uuid", "target": agent.host_id}]}),
        )
    )
    wait_until(lambda: ali.get_virus_scan_latest_task_statistic().body.data.status == 100, what="scan end")
    events = ali.list_virus_scan_machine_event(
        sas.ListVirusScanMachineEventRequest(uuid=agent.host_id, current_page=1, page_size=20, lang="en")
    ).body.data
    paths = {d.value_display for e in events for d in e.details if d.name_display == "File Path"}
    assert paths == {"/srv/www/shell.php"}  # the path as seen inside the mounted tree
