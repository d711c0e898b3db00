"""The use cases of handling detections, part of ControlPlane (a mixin, so service.py stays about tasks).

People act on detections (HSS HandleAntiVirusResult, Alibaba RollbackSuspEventQuaraFile); what needs the host
becomes an AgentAction its agent takes with its work and answers once; every step lands in the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import handling as h
from . import ids
from .errors import UnknownQuarantinedFile
from .models import Detection, Host, Scope
from .ports import Storage
from .queries import Page


class HandlingPlane:
    storage: Storage
    clock: Callable[[], int]

    def handle(self, scope: Scope, request: h.HandleRequest) -> h.HandleOutcome:
        """Apply one operation to detections in the caller's scope: all of them, or none if one is refused."""
        return self.storage.handle_detections(scope, request, self.clock(), ids.hex_id)

    def handle_history(self, scope: Scope, flt: h.HistoryFilter, page: Page) -> tuple[int, list[h.HistoryView]]:
        return self.storage.list_history(scope, flt, page)

    def quarantined(self, scope: Scope, flt: h.QuarantineFilter, page: Page) -> tuple[int, list[h.QuarantineView]]:
        return self.storage.list_quarantined(scope, flt, page)

    def restore_quarantined(self, scope: Scope, flt: h.QuarantineFilter, memo: str, user: str) -> h.HandleOutcome:
        """Restore the quarantined files `flt` finds (Alibaba RollbackSuspEventQuaraFile, HSS ChangeIsolatedFile)."""
        _, found = self.storage.list_quarantined(scope, flt, Page(0, 1000))
        if not found:
            raise UnknownQuarantinedFile(flt.quarantine_pk if flt.quarantine_pk is not None else flt.file_path)
        result_ids = tuple(v.detection.result_id for v in found if v.detection is not None)
        request = h.HandleRequest(h.Operation.DO_NOT_ISOLATE_OR_KILL, result_ids, memo, user)
        return self.handle(scope, request)

    # ------------------------------------------------------------------ the agent's side
    def actions_for(self, host: Host) -> list[h.AgentAction]:
        return self.storage.pending_actions(host.id)

    def finish_action(self, host: Host, action_id: str, ok: bool, error: str, facts: dict[str, Any]) -> h.AgentAction:
        return self.storage.finish_action(host.id, action_id, ok, error, facts, self.clock())

    def record_auto_quarantine(
        self, host: Host, subtask_pk: int, items: Sequence[tuple[Detection, dict[str, Any]]]
    ) -> int:
        return self.storage.record_auto_quarantine(host.id, subtask_pk, items, self.clock()) if items else 0

    def whitelist_of(self, host: Host) -> set[h.WhitelistEntry]:
        return self.storage.whitelist(host)

    def without_whitelisted(self, reports: Sequence[tuple[Host, Sequence[Detection]]]) -> list[list[Detection]]:
        """Each host's findings minus those whose hash or path is whitelisted in its enterprise project: the
        whitelists of a batch of reports in one read."""
        finding = [host for host, found in reports if found]
        entries = iter(self.storage.whitelists(finding) if finding else [])
        kept: list[list[Detection]] = []
        for _, found in reports:
            held = next(entries) if found else set()
            kept.append([d for d in found if not h.whitelisted(held, d.file_path, d.file_hash)])
        return kept
