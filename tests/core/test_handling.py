"""The pure rules of handling detections: every operation from every state it allows and refuses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fleetscan.core import handling as h
from fleetscan.core.errors import ActionUnderWay, Conflict, HandlingNotAllowed, IllegalTransition, UnknownResult
from fleetscan.core.models import Detection, HandleStatus, Severity

HASH = "ab" * 32


def det(status: HandleStatus = HandleStatus.UNHANDLED, method: str = "", tag: str = "none") -> Detection:
    return Detection(
        "r1",
        1,
        1,
        1,
        "Eicar",
        "virus",
        Severity.HIGH,
        "/srv/x",
        HASH,
        handle_status=status,
        handle_method=method,
        isolate_tag=tag,
    )


@pytest.mark.parametrize("op", ["mark_as_handled", "ignore", "add_to_alarm_whitelist"])
def test_marks_need_an_unhandled_detection_and_their_inverse_reverts(op: str) -> None:
    decision = h.decide(h.Operation(op), det(), action_pending=False)
    assert (decision.handle_status, decision.handle_method, decision.action) == (HandleStatus.HANDLED, op, None)
    with pytest.raises(IllegalTransition):
        h.decide(h.Operation(op), det(HandleStatus.HANDLED, op), action_pending=False)
    inverse = {
        "mark_as_handled": "unhandle",
        "ignore": "do_not_ignore",
        "add_to_alarm_whitelist": "remove_from_alarm_whitelist",
    }[op]
    back = h.decide(h.Operation(inverse), det(HandleStatus.HANDLED, op), action_pending=False)
    assert (back.handle_status, back.handle_method) == (HandleStatus.UNHANDLED, "")
    assert back.whitelist_remove == (op == "add_to_alarm_whitelist")


def test_an_inverse_must_match_how_it_was_handled() -> None:
    with pytest.raises(IllegalTransition):
        h.decide(h.Operation.DO_NOT_IGNORE, det(HandleStatus.HANDLED, "mark_as_handled"), action_pending=False)
    with pytest.raises(IllegalTransition):
        h.decide(h.Operation.UNHANDLE, det(), action_pending=False)


def test_whitelist_by_hash_or_path() -> None:
    by_hash = h.decide(h.Operation.ADD_TO_ALARM_WHITELIST, det(), action_pending=False)
    assert by_hash.whitelist_add == (h.WhitelistEntry(h.WhitelistField.HASH, HASH),)
    by_path = h.decide(
        h.Operation.ADD_TO_ALARM_WHITELIST, det(), action_pending=False, whitelist_fields=(h.WhitelistField.PATH,)
    )
    entries = set(by_path.whitelist_add)
    assert h.whitelisted(entries, "/srv/x", "00" * 32) and not h.whitelisted(entries, "/srv/y", HASH)


def test_isolate_and_restore_need_the_agent() -> None:
    isolate = h.decide(h.Operation.MANUAL_ISOLATE_AND_KILL, det(), action_pending=False)
    assert isolate.action == h.ActionKind.QUARANTINE and isolate.handle_status == HandleStatus.UNHANDLED
    with pytest.raises(Conflict):
        h.decide(h.Operation.MANUAL_ISOLATE_AND_KILL, det(), action_pending=True)
    with pytest.raises(IllegalTransition):
        h.decide(h.Operation.DO_NOT_ISOLATE_OR_KILL, det(), action_pending=False)
    for tag in ("manual", "auto_isolate"):
        isolated = det(HandleStatus.HANDLED, "x", tag)
        assert (
            h.decide(h.Operation.DO_NOT_ISOLATE_OR_KILL, isolated, action_pending=False).action == h.ActionKind.RESTORE
        )
        with pytest.raises(IllegalTransition):
            h.decide(h.Operation.MANUAL_ISOLATE_AND_KILL, isolated, action_pending=False)


def test_completion_rules() -> None:
    done = h.after_quarantine(det(), h.IsolateTag.MANUAL)
    assert (done.handle_status, done.handle_method, done.isolate_tag) == (
        HandleStatus.HANDLED,
        "manual_isolate_and_kill",
        "manual",
    )
    assert h.after_quarantine(det(), h.IsolateTag.AUTO).isolate_tag == "auto_isolate"
    back = h.after_restore(done)
    assert (back.handle_status, back.handle_method, back.isolate_tag) == (HandleStatus.UNHANDLED, "", "none")
    assert h.quarantine_status(h.ActionKind.RESTORE, False) == h.QuarantineStatus.RESTORE_FAILED
    assert h.quarantine_status(h.ActionKind.QUARANTINE, True) == h.QuarantineStatus.ISOLATED


# ---------------------------------------------------------------------- plan_handling: the whole request, pure


def occurrence(result_id: str, pk: int, alert: int | None, **kw: object) -> Detection:
    found = det(**kw)  # type: ignore[arg-type]
    found.result_id, found.id, found.alert_id, found.host_pk = result_id, pk, alert, 7
    return found


def ids() -> Callable[[], str]:
    counter = iter(range(1, 100))
    return lambda: f"{next(counter):032x}"


def request(op: str, *result_ids: str, memo: str = "", fields: tuple[h.WhitelistField, ...] = ()) -> h.HandleRequest:
    return h.HandleRequest(h.Operation(op), result_ids, memo, "alice", fields or (h.WhitelistField.HASH,))


def test_a_plan_decides_once_per_alert_and_answers_every_result() -> None:
    named = [h.Named(occurrence("r1", 1, 10), "e1"), h.Named(occurrence("r2", 2, 10), "e1")]
    plan = h.plan_handling(request("ignore", "r1", "r2", memo="known"), named, 5, ids())
    assert [(f.id, f.handle_status, f.handle_method, f.memo) for f in plan.handled] == [
        (1, HandleStatus.HANDLED, "ignore", "known")
    ]
    assert [(r.detection_pk, r.operation, r.user_name, r.handle_time) for r in plan.history] == [
        (1, "ignore", "alice", 5)
    ]
    assert [(f.result_id, f.handle_method) for f in plan.answer] == [("r1", "ignore"), ("r2", "ignore")]
    assert named[0].found.handle_status is HandleStatus.UNHANDLED  # the input is not changed
    assert not (plan.actions or plan.quarantines or plan.restoring or plan.whitelist_add or plan.whitelist_remove)


def test_a_plan_refuses_whole_when_one_result_is_missing_or_refused() -> None:
    handled = h.Named(occurrence("r2", 2, 20, status=HandleStatus.HANDLED, method="ignore"), "e1")
    with pytest.raises(UnknownResult):
        h.plan_handling(request("ignore", "r1", "nope"), [h.Named(occurrence("r1", 1, 10), "e1")], 5, ids())
    with pytest.raises(HandlingNotAllowed):
        h.plan_handling(request("ignore", "r1", "r2"), [h.Named(occurrence("r1", 1, 10), "e1"), handled], 5, ids())


def test_whitelist_entries_hold_in_the_hosts_enterprise_project_and_go_with_their_detection() -> None:
    fields = (h.WhitelistField.HASH, h.WhitelistField.PATH)
    plan = h.plan_handling(
        request("add_to_alarm_whitelist", "r1", fields=fields), [h.Named(occurrence("r1", 1, 10), "e9")], 5, ids()
    )
    assert {(a.detection_pk, a.enterprise_project_id, a.entry.field) for a in plan.whitelist_add} == {
        (1, "e9", h.WhitelistField.HASH),
        (1, "e9", h.WhitelistField.PATH),
    }
    whitelisted = occurrence("r1", 1, 10, status=HandleStatus.HANDLED, method="add_to_alarm_whitelist")
    back = h.plan_handling(
        request("remove_from_alarm_whitelist", "r1"), [h.Named(whitelisted, "e9", occurrences=(1, 2))], 6, ids()
    )
    assert back.whitelist_remove == [1, 2] and back.handled[0].handle_status is HandleStatus.UNHANDLED


def test_isolating_queues_an_action_and_a_copy_but_changes_the_handling_only_when_done() -> None:
    plan = h.plan_handling(request("manual_isolate_and_kill", "r1"), [h.Named(occurrence("r1", 1, 10), "e1")], 5, ids())
    (action,), (copy,) = plan.actions, plan.quarantines
    assert (action.kind, action.host_pk, action.quarantine_id, action.user_name) == (
        h.ActionKind.QUARANTINE,
        7,
        copy.quarantine_id,
        "alice",
    )
    assert (copy.status, copy.source, copy.detection_pk) == (h.QuarantineStatus.ISOLATING, h.IsolateTag.MANUAL, 1)
    assert plan.answer[0].handle_status is HandleStatus.UNHANDLED
    with pytest.raises(ActionUnderWay):
        h.plan_handling(
            request("manual_isolate_and_kill", "r1"),
            [h.Named(occurrence("r1", 1, 10), "e1", action_pending=True)],
            5,
            ids(),
        )


def test_a_restore_takes_back_the_held_copy_and_is_refused_when_none_is_held() -> None:
    isolated = occurrence("r1", 1, 10, status=HandleStatus.HANDLED, method="manual_isolate_and_kill", tag="manual")
    plan = h.plan_handling(request("do_not_isolate_or_kill", "r1"), [h.Named(isolated, "e1", held="q" * 32)], 5, ids())
    assert plan.restoring == ["q" * 32] and plan.actions[0].quarantine_id == "q" * 32 and not plan.quarantines
    with pytest.raises(HandlingNotAllowed) as refused:
        h.plan_handling(request("do_not_isolate_or_kill", "r1"), [h.Named(isolated, "e1")], 5, ids())
    assert "operate_results" not in str(refused.value)  # no dialect's parameter name in the core


def _pending(kind: h.ActionKind) -> h.AgentAction:
    return h.AgentAction("a" * 32, 7, kind, "q" * 32, "/srv/x", HASH, detection_pk=1, id=3)


def test_a_done_quarantine_keeps_the_agents_facts_and_handles_the_alert() -> None:
    facts = {"uid": 0, "gid": 0, "mode": 0o644, "size": 68, "mtime": 5, "md5": "0" * 32, "uid_name": "root"}
    found = occurrence("r1", 1, 10)
    plan = h.plan_finish(_pending(h.ActionKind.QUARANTINE), found, True, "", facts, 9)
    assert (plan.action.status, plan.action.finished_at) == (h.ActionStatus.DONE, 9)
    assert plan.file_changes == {
        "status": h.QuarantineStatus.ISOLATED,
        "error": "",
        "updated_at": 9,
        "uid": 0,
        "gid": 0,
        "mode": 0o644,
        "file_size": 68,
        "file_mtime": 5,
        "md5": "0" * 32,
    }
    assert plan.handled is not None and (plan.handled.handle_method, plan.handled.isolate_tag) == (
        "manual_isolate_and_kill",
        "manual",
    )
    assert plan.history is not None and (plan.history.operation, plan.history.user_name) == ("quarantine_done", "agent")
    assert found.isolate_tag == "none"  # the input is not changed


def test_a_failed_action_changes_no_handling_and_keeps_no_facts() -> None:
    plan = h.plan_finish(_pending(h.ActionKind.RESTORE), occurrence("r1", 1, 10), False, "gone", {"size": 1}, 9)
    assert plan.file_changes == {"status": h.QuarantineStatus.RESTORE_FAILED, "error": "gone", "updated_at": 9}
    assert plan.handled is None and plan.history is not None and plan.history.operation == "restore_failed"
    assert plan.action.status is h.ActionStatus.FAILED and plan.action.error == "gone"
    assert h.plan_finish(_pending(h.ActionKind.RESTORE), None, True, "", {}, 9).history is None
