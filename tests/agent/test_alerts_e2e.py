"""Alerts end to end (docs/alerts.md): a real agent scans one real tree again and again, both SDKs read it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alibabacloud_sas20181203 import models as sas
from huaweicloudsdkhss.v5 import ShowAntivirusStatisticRequest

from tests.agent.test_handling_e2e import operate, results, scan
from tests.api.alibaba.helpers import sdk
from tests.support.agent_process import EICAR
from tests.support.server import ServerProcess, Tenant


def _counters(hss: Any, ali: Any) -> tuple[int, int, int]:
    """HSS total_malware_num and malware_host_num, and the one host's Alibaba EventCount."""
    s = hss.show_antivirus_statistic(ShowAntivirusStatisticRequest())
    machines = ali.list_virus_scan_machine(sas.ListVirusScanMachineRequest(current_page=1, page_size=20)).body.data
    return s.total_malware_num, s.malware_host_num, sum(int(m.event_count) for m in machines)


def test_repeated_scans_of_one_tree_with_a_real_agent(
    hss: Any, agents: Any, server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    ali = sdk(server, tenant.access_key_id, tenant.secret)
    tree = tmp_path / "tree"
    tree.mkdir()
    files = {n: tree / f"{n}.com" for n in "abc"}
    for n, path in files.items():
        path.write_bytes(EICAR + b"\n" + n.encode() * 64)
    agent = agents("host-alerts")

    first, second = scan(hss, agent.host_id, tree), scan(hss, agent.host_id, tree)
    paths = sorted(str(p) for p in files.values())
    assert sorted(results(hss, first)) == paths == sorted(results(hss, second))
    assert _counters(hss, ali) == (3, 1, 3)

    operate(hss, "ignore", results(hss, first)[str(files["a"])])
    assert results(hss, second)[str(files["a"])].handle_status == "handled"

    files["b"].write_bytes(EICAR + b"\n" + b"changed" * 64)  # a new SHA-256: a new alert, the old one resolved
    third = results(hss, scan(hss, agent.host_id, tree))
    assert third[str(files["b"])].file_info.file_hash != results(hss, first)[str(files["b"])].file_info.file_hash
    assert third[str(files["a"])].handle_status == "handled"
    assert _counters(hss, ali) == (3, 1, 3)

    files["c"].unlink()
    assert sorted(results(hss, scan(hss, agent.host_id, tree))) == sorted(str(files[n]) for n in "ab")
    assert _counters(hss, ali) == (2, 1, 2)
