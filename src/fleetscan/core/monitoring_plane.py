"""The use cases of `/metrics` and `/readyz`, part of ControlPlane (a mixin, so service.py stays about tasks)."""

from __future__ import annotations

from collections.abc import Callable

from .monitoring import DELAY_THRESHOLDS_S, FleetGauges
from .ports import Storage


class MonitoringPlane:
    storage: Storage
    clock: Callable[[], int]
    online_window_ms: int
    beat_delay_ms: int

    def online_since(self) -> int:
        """The oldest `last_seen` of an agent online now: the online window, batched beats' delay included."""
        return self.clock() - self.online_window_ms - self.beat_delay_ms

    def fleet_gauges(self) -> FleetGauges:
        """The fleet's gauges now: agents online by the same window as `agent_online` (batched beats' delay included),
        report delays."""
        return self.storage.fleet_gauges(self.clock(), self.online_since(), [s * 1000 for s in DELAY_THRESHOLDS_S])

    def readiness(self) -> str | None:
        """None when this server can serve: its database answers and holds the schema it needs; else why not."""
        return self.storage.readiness()
