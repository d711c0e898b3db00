"""The pure rules of handling detections: every operation from every state it allows and refuses."""

from __future__ import annotations

import pytest

from fleetscan.core import handling as h
from fleetscan.core.errors import Conflict, IllegalTransition
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
