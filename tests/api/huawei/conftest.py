"""A shared, read-only fleet for the HSS listing tests: one per backend, built through the SDK and the agents."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusPaidTaskRequest,
    CreateAntiVirusPaidTaskRequestInfo,
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HssClient,
    SwitchAntivirusTaskRequest,
    SwitchAntivirusTaskRequestInfo,
)

from tests.support.agent_protocol import finding
from tests.support.server import ServerProcess, Tenant

from .hss_support import Fleet, tenant_client

IPV6 = "2001:db8:1234::1"


def create(hss: HssClient, name: str, scan_type: str, host_ids: list[str]) -> str:
    body = CreateAntiVirusTaskRequestInfo(task_name=name, scan_type=scan_type, action="manual", host_ids=host_ids)
    task_id: str = hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body)).task_id
    return task_id


@dataclass
class World:
    tenant: Tenant
    hss: HssClient
    fleet: Fleet
    tasks: dict[str, str] = field(default_factory=dict)  # letter -> task_id
    hashes: dict[str, str] = field(default_factory=dict)  # file path -> sha256


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> World:
    """Three hosts and five tasks in every task state:

    A nightly-A quick  web-01 success (2 detections), web-02 running 40% (1 detection), db-01 pending -> scanning
    B full-B    full   web-01 success, web-02 success                                               -> finish
    C custom-C  full   db-01 failed                                                                 -> fail
    D cancel-D  quick  web-02 cancelled through the API                                             -> cancel
    P paid-P    quick  web-01, pay-per-scan, pending                                                -> scanning
    """
    tenant = Tenant(server)
    hss = tenant_client(tenant)
    fleet = Fleet(tenant)
    fleet.enroll("web-01", private_ip="10.0.0.1", public_ip="203.0.113.1", os_name="EulerOS", os_version="2.5")
    fleet.enroll("web-02", private_ip="10.0.0.2", public_ip="203.0.113.2")
    fleet.enroll("db-01", "--group", "g1", private_ip="10.0.1.1", public_ip=IPV6, os_type="Windows")
    w = World(tenant, hss, fleet)
    web1, web2, db1 = (fleet.host_id(n) for n in ("web-01", "web-02", "db-01"))
    w.tasks["A"] = create(hss, "nightly-A", "quick", [web1, web2, db1])
    w.tasks["B"] = create(hss, "full-B", "full", [web1, web2])
    w.tasks["C"] = create(hss, "custom-C", "full", [db1])  # CreateAntiVirusTask has no scan_dir for a custom scan
    w.tasks["D"] = create(hss, "cancel-D", "quick", [web2])
    paid = CreateAntiVirusPaidTaskRequestInfo(
        task_name="paid-P", scan_type="quick", action="auto", host_ids=[web1], file_types=[1, 3], scan_dir="/srv"
    )
    w.tasks["P"] = hss.create_anti_virus_paid_task(CreateAntiVirusPaidTaskRequest(body=paid)).task_id

    found = [
        finding("/tmp/eicar.com", severity="High"),
        finding("/opt/x.sh", name="Trojan.Shell", severity="Low"),
    ]
    shell = finding("/var/www/shell.php", name="Webshell.PHP", severity="Critical")
    for f in (*found, shell):
        w.hashes[f["file_path"]] = f["file_hash"]
    a1 = fleet.subtask("web-01", w.tasks["A"])
    assert fleet.agents["web-01"].progress(a1, files_scanned=10, progress=30, detections=found).status_code == 200
    assert fleet.agents["web-01"].complete(a1, "success", files_scanned=200).status_code == 200
    a2 = fleet.subtask("web-02", w.tasks["A"])
    assert fleet.agents["web-02"].progress(a2, files_scanned=120, progress=40, detections=[shell]).status_code == 200
    for name in ("web-01", "web-02"):
        assert fleet.agents[name].complete(fleet.subtask(name, w.tasks["B"]), "success").status_code == 200
    c1 = fleet.subtask("db-01", w.tasks["C"])
    assert fleet.agents["db-01"].complete(c1, "failure", reason="disk unreadable").status_code == 200
    hss.switch_antivirus_task(SwitchAntivirusTaskRequest(body=SwitchAntivirusTaskRequestInfo(task_id=w.tasks["D"])))
    return w
