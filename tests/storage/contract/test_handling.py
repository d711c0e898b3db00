"""HandlingStore: a handling request's plan written whole, the agents' actions, quarantine, the whitelist and the
history (core/ports.py). What each operation does is core.handling's (tests/core/test_handling.py); here, that
storage writes the plan on the alert and every occurrence, all or nothing, and reads back what it wrote.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from fleetscan.core import handling as h
from fleetscan.core.errors import ActionUnderWay, HandlingNotAllowed, UnknownAction, UnknownResult
from fleetscan.core.ids import hex_id
from fleetscan.core.models import Detection, HandleStatus, Host, Scope
from fleetscan.core.queries import DetectionFilter, Page
from fleetscan.core.service import ControlPlane
from fleetscan.storage import SqlStorage
from fleetscan.storage.schema import quarantined_files

from .world import HASH, enrolled, finding, scanned


def _world(plane: ControlPlane, eps: str = "e1") -> tuple[Scope, Host, dict[str, list[str]]]:
    """One host scanned twice: /a and /b found both times. Result ids by path, one per task."""
    [host] = enrolled(plane, 1, eps)
    scope = plane.create_access_key("acct", "p1").scope
    scanned(plane, scope, host, ["/a", "/b"])
    scanned(plane, scope, host, ["/a", "/b"])
    by_path: dict[str, list[str]] = {}
    for view in plane.list_detections(scope, DetectionFilter(), Page(0, 10))[1]:
        by_path.setdefault(view.detection.file_path, []).append(view.detection.result_id)
    return scope, host, by_path


def _handle(
    store: SqlStorage, scope: Scope, op: str, *result_ids: str, memo: str = "", now: int = 42
) -> h.HandleOutcome:
    request = h.HandleRequest(h.Operation(op), result_ids, memo, "alice")
    return store.handle_detections(scope, request, now, hex_id)


def _rows(store: SqlStorage, scope: Scope) -> dict[str, Detection]:
    return {v.detection.result_id: v.detection for v in store.list_detections(scope, DetectionFilter(), Page(0, 10))[1]}


def test_handling_one_result_handles_every_occurrence_and_writes_history(
    plane: ControlPlane, store: SqlStorage
) -> None:
    scope, _, by_path = _world(plane)
    outcome = _handle(store, scope, "ignore", by_path["/a"][0], memo="known")
    assert [(d.result_id, d.handle_method, d.memo) for d in outcome.detections] == [
        (by_path["/a"][0], "ignore", "known")
    ]
    rows = _rows(store, scope)
    assert {(rows[r].handle_status, rows[r].memo) for r in by_path["/a"]} == {(HandleStatus.HANDLED, "known")}
    assert {rows[r].handle_status for r in by_path["/b"]} == {HandleStatus.UNHANDLED}
    total, history = store.list_history(scope, h.HistoryFilter(), Page(0, 10))
    assert total == 1 and (history[0].record.operation, history[0].record.user_name) == ("ignore", "alice")
    assert store.list_history(scope, h.HistoryFilter(user_name="bob"), Page(0, 10))[0] == 0


def test_a_refused_request_changes_nothing(plane: ControlPlane, store: SqlStorage) -> None:
    scope, _, by_path = _world(plane)
    _handle(store, scope, "ignore", by_path["/b"][0])
    before = _rows(store, scope)
    with pytest.raises(HandlingNotAllowed):  # /b is ignored already: the batch is refused whole
        _handle(store, scope, "mark_as_handled", by_path["/a"][0], by_path["/b"][0])
    with pytest.raises(UnknownResult):
        _handle(store, scope, "mark_as_handled", by_path["/a"][0], "no-such-result")
    with pytest.raises(UnknownResult):  # another enterprise project's result is one that does not exist
        _handle(store, plane.create_access_key("acct", "p1", ["e2"]).scope, "mark_as_handled", by_path["/a"][0])
    assert _rows(store, scope) == before
    assert store.list_history(scope, h.HistoryFilter(), Page(0, 10))[0] == 1


def test_whitelist_entries_hold_in_the_hosts_enterprise_project(plane: ControlPlane, store: SqlStorage) -> None:
    scope, host, by_path = _world(plane)
    request = h.HandleRequest(
        h.Operation.ADD_TO_ALARM_WHITELIST,
        (by_path["/a"][0],),
        "",
        "alice",
        (h.WhitelistField.HASH, h.WhitelistField.PATH),
    )
    store.handle_detections(scope, request, 42, hex_id)
    assert store.whitelist(host) == {
        h.WhitelistEntry(h.WhitelistField.HASH, HASH),
        h.WhitelistEntry(h.WhitelistField.PATH, "/a"),
    }
    [elsewhere] = enrolled(plane, 1, "e2")
    assert store.whitelist(elsewhere) == set()
    # a batch of reports reads every host's in one: each its own enterprise project's, in the hosts' order
    assert store.whitelists([elsewhere, host, elsewhere]) == [set(), store.whitelist(host), set()]
    _handle(store, scope, "remove_from_alarm_whitelist", by_path["/a"][1])  # through the other occurrence
    assert store.whitelist(host) == set()  # the entries go with the alert, whichever occurrence made them


def test_isolate_and_restore_go_through_the_agent_once(plane: ControlPlane, store: SqlStorage) -> None:
    scope, host, by_path = _world(plane)
    [action] = _handle(store, scope, "manual_isolate_and_kill", by_path["/a"][0]).actions
    assert action.id > 0 and store.pending_actions(host.id) == [action]
    with pytest.raises(ActionUnderWay):  # through the other occurrence of the same alert
        _handle(store, scope, "manual_isolate_and_kill", by_path["/a"][1])
    isolating = store.list_quarantined(scope, h.QuarantineFilter(), Page(0, 10))[1]
    assert [(q.file.status, q.file.quarantine_id) for q in isolating] == [
        (h.QuarantineStatus.ISOLATING, action.quarantine_id)
    ]

    done = store.finish_action(host.id, action.action_id, True, "", {"size": 68, "md5": "0" * 32}, 50)
    assert done.status is h.ActionStatus.DONE and store.pending_actions(host.id) == []
    again = store.finish_action(host.id, action.action_id, False, "late", {}, 60)  # a repeated answer: as first
    assert (again.status, again.finished_at) == (h.ActionStatus.DONE, 50)
    with pytest.raises(UnknownAction):
        store.finish_action(host.id, "f" * 32, True, "", {}, 60)
    rows = _rows(store, scope)
    assert {(rows[r].handle_method, rows[r].isolate_tag) for r in by_path["/a"]} == {
        ("manual_isolate_and_kill", "manual")
    }
    [held] = store.list_quarantined(scope, h.QuarantineFilter(statuses=h.HELD), Page(0, 10))[1]
    assert (held.file.file_size, held.file.md5, held.detection is not None) == (68, "0" * 32, True)

    [restore] = _handle(store, scope, "do_not_isolate_or_kill", by_path["/a"][1], now=60).actions
    assert (restore.kind, restore.quarantine_id) == (h.ActionKind.RESTORE, action.quarantine_id)
    [restoring] = store.list_quarantined(scope, h.QuarantineFilter(), Page(0, 10))[1]
    assert restoring.file.status is h.QuarantineStatus.RESTORING
    store.finish_action(host.id, restore.action_id, True, "", {}, 70)
    rows = _rows(store, scope)
    assert {(rows[r].handle_status, rows[r].isolate_tag) for r in by_path["/a"]} == {(HandleStatus.UNHANDLED, "none")}
    operations = [
        v.record.operation for v in store.list_history(scope, h.HistoryFilter(ascending=True), Page(0, 10))[1]
    ]
    assert operations == ["manual_isolate_and_kill", "quarantine_done", "do_not_isolate_or_kill", "restore_done"]


def test_a_restore_with_no_copy_held_is_refused(plane: ControlPlane, store: SqlStorage) -> None:
    scope, host, by_path = _world(plane)
    [action] = _handle(store, scope, "manual_isolate_and_kill", by_path["/a"][0]).actions
    store.finish_action(host.id, action.action_id, True, "", {}, 50)
    with store.engine.begin() as conn:  # the copy was lost on the host: nothing held any more
        conn.execute(update(quarantined_files).values(status=h.QuarantineStatus.RESTORED.value))
    with pytest.raises(HandlingNotAllowed):
        _handle(store, scope, "do_not_isolate_or_kill", by_path["/a"][0])
    assert store.pending_actions(host.id) == []


def test_an_agents_own_quarantine_is_recorded_once(plane: ControlPlane, store: SqlStorage) -> None:
    [host] = enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    scanned(plane, scope, host, ["/a"])
    [view] = plane.list_detections(scope, DetectionFilter(), Page(0, 10))[1]
    facts = {"quarantine_id": "q" * 32, "size": 68, "md5": "1" * 32}
    items = [(finding("/a"), facts)]
    assert store.record_auto_quarantine(host.id, view.detection.subtask_id, items, 50) == 1
    assert store.record_auto_quarantine(host.id, view.detection.subtask_id, items, 60) == 0
    assert store.record_auto_quarantine(host.id, view.detection.subtask_id, [(finding("/not-stored"), facts)], 60) == 0
    [held] = store.list_quarantined(scope, h.QuarantineFilter(), Page(0, 10))[1]
    assert (held.file.source, held.file.status, held.file.md5) == (
        h.IsolateTag.AUTO,
        h.QuarantineStatus.ISOLATED,
        "1" * 32,
    )
    [row] = _rows(store, scope).values()
    assert (row.handle_status, row.isolate_tag) == (HandleStatus.HANDLED, "auto_isolate")
