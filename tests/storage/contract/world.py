"""Rows for the contract tests, made through ControlPlane as the edges make them."""

from __future__ import annotations

from dataclasses import replace

from fleetscan.core.models import Detection, Host, ScanType, Scope, Severity
from fleetscan.core.service import ControlPlane, HostFacts
from fleetscan.core.tasks import Counters, TaskRequest

HASH = "a" * 64


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def enrolled(plane: ControlPlane, n: int, eps: str = "0", project: str = "p1") -> list[Host]:
    token, _ = plane.create_credential("enroll", "acct", project, enterprise_project_id=eps)
    return [plane.enroll(token, HostFacts(f"host-{eps}-{i}", private_ip=f"10.0.0.{i}")).host for i in range(n)]


def finding(path: str, **fields: object) -> Detection:
    return replace(Detection("", 0, 0, 0, "Eicar", "virus", Severity.HIGH, path, HASH), **fields)  # type: ignore[arg-type]


def scanned(
    plane: ControlPlane, scope: Scope, host: Host, paths: list[str], scan_type: ScanType = ScanType.FULL
) -> str:
    """A task on `host` whose scan finds `paths` and succeeds; its task id."""
    plane.clock.now += 60_000  # type: ignore[attr-defined]
    root = plane.create_task(scope, TaskRequest("t", scan_type, host_ids=[host.host_id])).root
    [(sub, _)] = plane.work(host)
    found = [finding(p) for p in paths]
    plane.report(host, sub.id, root.task_id, Counters(files_scanned=len(paths)), found, finished=True)
    return root.task_id


def six_tasks(plane: ControlPlane, clock: Clock) -> tuple[list[Host], list[Host], Scope, Scope]:
    """Two hosts in enterprise project e1, one in e2; five quick tasks on the e1 hosts, a second apart, then a paid
    full one on an e1 and the e2 host. The hosts by project, a key for everything and one for e1 only."""
    e1, e2 = enrolled(plane, 2, "e1"), enrolled(plane, 1, "e2")
    everything = plane.create_access_key("acct", "p1").scope
    only_e1 = plane.create_access_key("acct", "p1", ["e1"]).scope
    for i in range(5):
        clock.now += 1000
        plane.create_task(everything, TaskRequest(f"task-{i}", ScanType.QUICK, host_ids=[e1[i % 2].host_id]))
    clock.now += 1000
    both = [e1[0].host_id, e2[0].host_id]
    plane.create_task(everything, TaskRequest("other", ScanType.FULL, host_ids=both, paid=True))
    return e1, e2, everything, only_e1

