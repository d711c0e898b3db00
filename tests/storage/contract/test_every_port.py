"""Every port of core/ports.py has its contract module here, and that module calls each of the port's methods."""

from __future__ import annotations

import re
from pathlib import Path

from fleetscan.core.ports import PORTS

MODULE = {
    "AccessStore": "test_access.py",
    "HostStore": "test_hosts.py",
    "TaskStore": "test_tasks.py",
    "ScheduleStore": "test_schedules.py",
    "DetectionStore": "test_detections.py",
    "AlertStore": "test_alerts.py",
    "HandlingStore": "test_handling.py",
    "SignatureStore": "test_signatures.py",
    "MonitorStore": "test_monitor.py",
    "ListingStore": "test_listings.py",
}


def test_each_port_has_a_module_that_calls_all_its_methods() -> None:
    here = Path(__file__).parent
    assert sorted(p.__name__ for p in PORTS) == sorted(MODULE)
    untested = {}
    for port in PORTS:
        source = (here / MODULE[port.__name__]).read_text()
        methods = [n for n in vars(port) if not n.startswith("_")]
        missing = [n for n in methods if not re.search(rf"\.{n}\(", source)]
        if missing:
            untested[port.__name__] = missing
    assert untested == {}
