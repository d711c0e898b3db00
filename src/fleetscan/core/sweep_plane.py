"""The use cases of a fleet sweep for a hash, part of ControlPlane (a mixin, so service.py stays about tasks).

`sweep_known` answers at once from stored findings; `start_sweep` also starts the hash-only task on every host of
the project (core/sweep.py), whose findings then arrive as any task's do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import sweep
from .errors import InvalidParameter
from .models import DetectionView, ScanType, Scope
from .ports import Storage
from .queries import DetectionFilter, HostFilter, Page
from .tasks import Plan, TaskRequest

#: Stored findings read per hash set: a hash the fleet reported more often than this is shown by its newest.
MAX_KNOWN_FINDINGS = 10_000


class SweepPlane:
    storage: Storage
    create_task: Callable[[Scope, TaskRequest], Plan]  # ControlPlane's

    def _findings_of(self, scope: Scope, hashes: Sequence[str]) -> list[DetectionView]:
        flt = DetectionFilter(file_hashes=frozenset(hashes))
        return self.storage.list_detections(scope, flt, Page(0, MAX_KNOWN_FINDINGS))[1]

    def sweep_known(self, scope: Scope, hashes: Sequence[str]) -> list[sweep.SweepHit]:
        """Where the fleet reported a file with one of `hashes` (checked: sweep.parse_hashes), newest first."""
        wanted = sweep.parse_hashes(hashes)
        return sweep.known_hits(self._findings_of(scope, wanted), wanted)

    def start_sweep(
        self, scope: Scope, hashes: Sequence[str], host_ids: Sequence[str] = ()
    ) -> tuple[Plan, list[sweep.SweepHit]]:
        """Start the hash-only scan of `host_ids` (every host of the caller's scope when empty); what is known."""
        wanted = sweep.parse_hashes(hashes)
        findings = self._findings_of(scope, wanted)
        if not host_ids:
            host_ids = [h.host_id for h in self.storage.list_hosts(scope, HostFilter(), Page(0, 1_000_000))[1]]
            if not host_ids:
                raise InvalidParameter("project_id", f"project {scope.project_id} has no hosts to sweep")
        request = TaskRequest(
            name=sweep.task_name(wanted),
            scan_type=ScanType.FULL,
            host_ids=host_ids,
            sweep=sweep.with_sizes(wanted, findings),
        )
        return self.create_task(scope, request), sweep.known_hits(findings, wanted)

    def sweep_found(self, scope: Scope, task_id: str, hashes: Sequence[str]) -> list[sweep.SweepHit]:
        """What the sweep task `task_id` found so far."""
        flt = DetectionFilter(root_task_id=task_id, file_hashes=frozenset(hashes))
        return sweep.known_hits(self.storage.list_detections(scope, flt, Page(0, MAX_KNOWN_FINDINGS))[1], hashes)
