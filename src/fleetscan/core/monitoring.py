"""What an operator watches about the fleet as a whole: the gauges `/metrics` reads from the database.

They are counted fleet-wide (every account and project) at scrape time, by one query (`MonitorStore`), so
every replica and worker answers the same numbers and nothing is kept in a process's memory.

Report delay: an in-flight subtask (dispatched or running, of a task not yet ended) has "waited" since the
last change the server stored for it (its dispatch, or its agent's last report). An agent scanning reports at
least every few seconds (`fleetscan agent --report-interval`, default 3), so an in-flight subtask silent for a
minute means its report is late: the agent is cut off, or the server is not storing what it is sent. The
gauges give how many have waited longer than each of `DELAY_THRESHOLDS_S` and the longest wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .states import SubtaskStatus

__all__ = ["DELAY_THRESHOLDS_S", "IN_FLIGHT", "FleetGauges"]

DELAY_THRESHOLDS_S: Final = (15, 60, 300, 900, 3600)
"""Seconds: the `over` label of `fleetscan_report_delayed_subtasks`."""

IN_FLIGHT: Final = frozenset({SubtaskStatus.DISPATCHED, SubtaskStatus.RUNNING})
"""The states in which a subtask's agent is expected to report."""


@dataclass(frozen=True)
class FleetGauges:
    agents_enrolled: int
    agents_online: int
    """Seen within the online window and not gone since (`ControlPlane.agent_online`'s rule)."""
    subtasks: Mapping[SubtaskStatus, int]
    """Every subtask ever made, by state (read from the root tasks' totals, not by counting subtasks)."""
    delayed: Mapping[int, int]
    """Threshold in seconds -> in-flight subtasks with no stored change for longer than that."""
    longest_delay_ms: int
    """The longest wait of an in-flight subtask since its last stored change; 0 when none is in flight."""
