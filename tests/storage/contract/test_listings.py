"""ListingStore: the cloud listings' lean pages (core/ports.py), which must show what the full objects show."""

from __future__ import annotations

from fleetscan.core.queries import HostMatch, Page, RootFilter, SubtaskFilter
from fleetscan.core.service import ControlPlane

from .world import Clock, six_tasks


def test_pages_show_what_the_full_objects_show_in_scope(plane: ControlPlane, clock: Clock) -> None:
    _, _, everything, only_e1 = six_tasks(plane, clock)

    total, machines = plane.machine_page(everything, SubtaskFilter(hosts=HostMatch(private_ip="10.0.0.1")), Page(0, 50))
    assert total == 2 and all(m.host.private_ip == "10.0.0.1" for m in machines)
    for scope in (everything, only_e1):  # the listings' rows show what the full objects show, tenant rule included
        count, full = plane.list_roots(scope, RootFilter(), Page(0, 50))
        lean = plane.task_page(scope, RootFilter(), Page(0, 50), with_hosts=True)
        assert lean.total == count
        shown = [(r.task_id, r.status, r.counts, r.progress, r.end_time, r.scan_paths) for r in lean.roots]
        assert shown == [(r.task_id, r.status, r.counts, r.progress, r.end_time, r.scan_paths) for r in full]
        views = plane.subtasks_of(scope, full)
        assert {r.id: [h.subtask_id for h in lean.hosts[r.id]] for r in lean.roots} == {
            r.id: [v.subtask.subtask_id for v in views[r.id]] for r in full
        }
    assert plane.task_page(only_e1, RootFilter(), Page(0, 50)).total == 6  # "other" has an e1 host too
    assert plane.machine_page(only_e1, SubtaskFilter(), Page(0, 50))[0] == 6  # but not its e2 host's part
    assert plane.task_page(plane.create_access_key("acct", "p2").scope, RootFilter(), Page(0, 50)).total == 0
