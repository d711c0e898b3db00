"""MonitorStore: the fleet's gauges and readiness (core/ports.py)."""

from __future__ import annotations

from fleetscan.core.models import ScanType, Scope
from fleetscan.core.service import ControlPlane
from fleetscan.core.states import SubtaskStatus
from fleetscan.core.tasks import TaskRequest
from fleetscan.storage import SqlStorage

from .world import Clock, enrolled, scanned

THRESHOLDS_MS = (15_000, 60_000)


def test_an_empty_fleet_counts_nothing_and_is_ready(store: SqlStorage, clock: Clock) -> None:
    gauges = store.fleet_gauges(clock.now, clock.now - 90_000, THRESHOLDS_MS)
    assert (gauges.agents_enrolled, gauges.agents_online, gauges.longest_delay_ms) == (0, 0, 0)
    assert sum(gauges.subtasks.values()) == 0 and set(gauges.delayed.values()) <= {0}
    assert store.readiness() is None


def test_gauges_count_agents_online_subtasks_by_state_and_late_reports(
    plane: ControlPlane, store: SqlStorage, clock: Clock
) -> None:
    hosts = enrolled(plane, 3)
    scope = plane.create_access_key("acct", "p1").scope
    scanned(plane, scope, hosts[0], [])  # one succeeded subtask
    root = plane.create_task(scope, TaskRequest("t", ScanType.QUICK, host_ids=[hosts[1].host_id, hosts[2].host_id]))
    clock.now += 300_000  # enrollment counted as seen: long ago now
    plane.work(hosts[1])  # dispatched at clock.now, then silent
    store.touch_host(hosts[0].id, clock.now)
    store.touch_host(hosts[1].id, clock.now)
    clock.now += 30_000
    gauges = store.fleet_gauges(clock.now, clock.now - 20_000, THRESHOLDS_MS)
    assert gauges.agents_enrolled == 3 and gauges.agents_online == 0  # none seen in the last 20 s
    gauges = store.fleet_gauges(clock.now, clock.now - 90_000, THRESHOLDS_MS)
    assert gauges.agents_online == 2
    assert gauges.subtasks[SubtaskStatus.SUCCEEDED] == 1
    assert gauges.subtasks[SubtaskStatus.DISPATCHED] == 1 and gauges.subtasks[SubtaskStatus.PENDING] == 1
    assert gauges.delayed[15] == 1 and gauges.delayed[60] == 0  # the dispatched one, silent for 30 s
    assert 30_000 <= gauges.longest_delay_ms < 60_000
    assert root.root.task_id and isinstance(scope, Scope)
