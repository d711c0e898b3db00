"""One process of those sharing a lock file leads (runs the sweeper and the scheduler); another takes over."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleetscan.server.leader import Leader

HOLD = (
    "import sys, time; from fleetscan.server.leader import Leader; "
    "assert Leader(sys.argv[1]).held(); print('held', flush=True); time.sleep(600)"
)


def test_one_process_leads_and_another_takes_over_when_it_dies(tmp_path: Path) -> None:
    lock = str(tmp_path / "leader.lock")
    leader = subprocess.Popen([sys.executable, "-c", HOLD, lock], stdout=subprocess.PIPE, text=True)
    try:
        assert leader.stdout is not None and leader.stdout.readline() == "held\n"
        follower = Leader(lock)
        assert not follower.held()
        assert not follower.held()  # asks again at each tick
    finally:
        leader.kill()
        leader.wait()
    assert follower.held()  # the kernel let the dead leader's lock go
    assert follower.held()
    assert Leader().held()  # a process alone (no lock file) always leads
