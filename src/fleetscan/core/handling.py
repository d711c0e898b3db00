"""Handling detections: what each operation does to a detection, pure rules with no HTTP and no SQL.

Operations (the HSS `operate_type` vocabulary, which the Alibaba adapter reuses):

| operation                   | needs                              | the detection becomes                     |
| --------------------------- | ---------------------------------- | ----------------------------------------- |
| mark_as_handled             | unhandled                          | handled / mark_as_handled                 |
| ignore                      | unhandled                          | handled / ignore                          |
| add_to_alarm_whitelist      | unhandled                          | handled / add_to_alarm_whitelist; its     |
|                             |                                    | hash (or path) is whitelisted             |
| manual_isolate_and_kill     | unhandled, not isolated, no action | a `quarantine` action; once done: handled |
|                             | under way                          | / manual_isolate_and_kill, tag `manual`   |
| unhandle                    | handled / mark_as_handled          | unhandled                                 |
| do_not_ignore               | handled / ignore                   | unhandled                                 |
| remove_from_alarm_whitelist | handled / add_to_alarm_whitelist   | unhandled; its whitelist entries removed  |
| do_not_isolate_or_kill      | isolated (manual or auto), no      | a `restore` action; once done: unhandled, |
|                             | action under way                   | isolate_tag `none`                        |

Operations that need the host (isolate, restore) change the detection only when the agent reports the action
done, so a detection never claims a file is quarantined that is not. An `auto` task's agent quarantines a
confirmed finding itself and says so in its report: the detection is stored handled, isolate_tag auto_isolate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .errors import ActionUnderWay, HandlingNotAllowed, UnknownResult
from .models import Detection, HandleStatus, Host


class Operation(StrEnum):
    MARK_AS_HANDLED = "mark_as_handled"
    IGNORE = "ignore"
    ADD_TO_ALARM_WHITELIST = "add_to_alarm_whitelist"
    MANUAL_ISOLATE_AND_KILL = "manual_isolate_and_kill"
    UNHANDLE = "unhandle"
    DO_NOT_IGNORE = "do_not_ignore"
    REMOVE_FROM_ALARM_WHITELIST = "remove_from_alarm_whitelist"
    DO_NOT_ISOLATE_OR_KILL = "do_not_isolate_or_kill"


class ActionKind(StrEnum):
    QUARANTINE = "quarantine"
    RESTORE = "restore"


class ActionStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class IsolateTag(StrEnum):
    NONE = "none"
    AUTO = "auto_isolate"
    MANUAL = "manual"


class QuarantineStatus(StrEnum):
    ISOLATING = "isolating"
    ISOLATED = "isolated"
    ISOLATE_FAILED = "isolate_failed"
    RESTORING = "restoring"
    RESTORED = "restored"
    RESTORE_FAILED = "restore_failed"  # still in quarantine: a restore may be asked again


#: The copies still in quarantine: what a restore may take back, what both dialects list as isolated.
HELD: frozenset[QuarantineStatus] = frozenset({QuarantineStatus.ISOLATED, QuarantineStatus.RESTORE_FAILED})


class WhitelistField(StrEnum):
    HASH = "file_hash"
    PATH = "file_path"


AGENT = "agent"  # the user name of what an agent did by itself


@dataclass(frozen=True)
class WhitelistEntry:
    field: WhitelistField
    value: str


@dataclass(frozen=True)
class Decision:
    """What one operation does to one detection, decided before anything is written."""

    handle_status: HandleStatus
    handle_method: str
    action: ActionKind | None = None
    whitelist_add: tuple[WhitelistEntry, ...] = ()
    whitelist_remove: bool = False


@dataclass
class AgentAction:
    """A command for one host's agent: quarantine a detected file or restore a quarantined one."""

    action_id: str  # 32 hex
    host_pk: int
    kind: ActionKind
    quarantine_id: str  # 32 hex: the quarantined file this action makes or restores
    file_path: str
    file_hash: str
    detection_pk: int | None = None
    status: ActionStatus = ActionStatus.PENDING
    error: str = ""
    memo: str = ""
    user_name: str = ""
    created_at: int = 0
    finished_at: int | None = None
    file_path_raw: bytes | None = None  # the exact bytes of the path, when they are not the UTF-8 of file_path
    id: int = 0


@dataclass
class QuarantinedFile:
    """A file held in a host's quarantine, as the server knows it (the agent keeps the content)."""

    quarantine_id: str
    host_pk: int
    file_path: str
    file_hash: str
    detection_pk: int | None = None
    malware_name: str = ""
    source: IsolateTag = IsolateTag.MANUAL
    status: QuarantineStatus = QuarantineStatus.ISOLATING
    file_size: int = 0
    uid: int = -1
    gid: int = -1
    mode: int = 0
    file_mtime: int = 0
    error: str = ""
    created_at: int = 0
    updated_at: int = 0
    md5: str = ""  # of the quarantined content, as its agent read it (Alibaba Md5); "" when not known
    id: int = 0  # numeric: Alibaba QuaraFileId


@dataclass
class HandleRecord:
    """One line of the handling history: who did what to which detection, when, and why."""

    detection_pk: int
    operation: str
    handle_status: HandleStatus
    handle_method: str
    memo: str
    user_name: str
    handle_time: int
    id: int = 0


@dataclass(frozen=True)
class HandleRequest:
    operation: Operation
    result_ids: tuple[str, ...]
    memo: str = ""
    user_name: str = ""
    whitelist_fields: tuple[WhitelistField, ...] = (WhitelistField.HASH,)


@dataclass
class HandleOutcome:
    detections: list[Detection] = field(default_factory=list)
    actions: list[AgentAction] = field(default_factory=list)


_NEEDS_METHOD = {
    Operation.UNHANDLE: Operation.MARK_AS_HANDLED.value,
    Operation.DO_NOT_IGNORE: Operation.IGNORE.value,
    Operation.REMOVE_FROM_ALARM_WHITELIST: Operation.ADD_TO_ALARM_WHITELIST.value,
}


def decide(
    op: Operation,
    found: Detection,
    *,
    action_pending: bool,
    whitelist_fields: tuple[WhitelistField, ...] = (WhitelistField.HASH,),
) -> Decision:
    """The effect of `op` on `found`; IllegalTransition when its state does not allow it."""
    status, method = found.handle_status, found.handle_method
    isolated = found.isolate_tag != IsolateTag.NONE.value
    if op in (Operation.MARK_AS_HANDLED, Operation.IGNORE, Operation.ADD_TO_ALARM_WHITELIST):
        if status != HandleStatus.UNHANDLED:
            raise HandlingNotAllowed(f"{status.value}/{method}", op.value)
        entries: tuple[WhitelistEntry, ...] = ()
        if op == Operation.ADD_TO_ALARM_WHITELIST:
            values = {WhitelistField.HASH: found.file_hash, WhitelistField.PATH: found.file_path}
            entries = tuple(WhitelistEntry(f, values[f]) for f in whitelist_fields)
        return Decision(HandleStatus.HANDLED, op.value, whitelist_add=entries)
    if op in _NEEDS_METHOD:
        if status != HandleStatus.HANDLED or method != _NEEDS_METHOD[op]:
            raise HandlingNotAllowed(f"{status.value}/{method}", op.value)
        return Decision(HandleStatus.UNHANDLED, "", whitelist_remove=op == Operation.REMOVE_FROM_ALARM_WHITELIST)
    if action_pending:
        raise ActionUnderWay(found.result_id)
    if op == Operation.MANUAL_ISOLATE_AND_KILL:
        if status != HandleStatus.UNHANDLED or isolated:
            raise HandlingNotAllowed(f"{status.value}/{found.isolate_tag}", op.value)
        return Decision(status, method, action=ActionKind.QUARANTINE)
    if not isolated:  # DO_NOT_ISOLATE_OR_KILL
        raise HandlingNotAllowed(f"isolate_tag {found.isolate_tag}", op.value)
    return Decision(status, method, action=ActionKind.RESTORE)


def allowed_operations(found: Detection, *, action_pending: bool = False) -> list[Operation]:
    """The operations `decide` accepts for `found` now, in the vocabulary's order.

    Derived from `decide` itself, so HSS `operate_accept_list` never offers what a handling call then refuses.
    """
    allowed = []
    for op in Operation:
        try:
            decide(op, found, action_pending=action_pending)
        except (HandlingNotAllowed, ActionUnderWay):
            continue
        allowed.append(op)
    return allowed


@dataclass(frozen=True)
class Named:
    """One result a handling request names, with what storage read about it: the plan's whole input."""

    found: Detection
    enterprise_project_id: str  # its host's: where a whitelist entry made from it holds
    action_pending: bool = False  # an action is under way for some occurrence of its alert
    held: str | None = None  # quarantine_id of the newest copy of its alert's file still in quarantine
    occurrences: tuple[int, ...] = ()  # every detection of its alert (itself included): what its handling spans


@dataclass(frozen=True)
class WhitelistAdd:
    detection_pk: int
    enterprise_project_id: str
    entry: WhitelistEntry


@dataclass
class HandlingPlan:
    """Everything one handling request changes, decided before anything is written; storage writes it whole."""

    now: int
    handled: list[Detection] = field(default_factory=list)
    """One per alert: its new handling, for the alert and every occurrence of it."""
    whitelist_add: list[WhitelistAdd] = field(default_factory=list)
    whitelist_remove: list[int] = field(default_factory=list)  # detections whose entries go (all of an alert's)
    quarantines: list[QuarantinedFile] = field(default_factory=list)  # new copies, isolating
    restoring: list[str] = field(default_factory=list)  # quarantine ids a restore now takes back
    actions: list[AgentAction] = field(default_factory=list)  # for the hosts' agents, in this order
    history: list[HandleRecord] = field(default_factory=list)
    answer: list[Detection] = field(default_factory=list)
    """Every result asked for, as its alert will stand."""

    def outcome(self) -> HandleOutcome:
        return HandleOutcome(list(self.answer), list(self.actions))


def _alert_key(found: Detection) -> object:
    return found.alert_id if found.alert_id is not None else ("row", found.id)


def plan_handling(request: HandleRequest, named: Sequence[Named], now: int, new_id: Callable[[], str]) -> HandlingPlan:
    """What `request` changes, from the results it names (as storage found them in the caller's scope).

    Results of one alert are one file, decided once (by the first, in the order given); one refusal refuses the
    whole request, so the plan is all or nothing. A restore takes back the newest held copy of the alert's file.
    """
    by_result = {n.found.result_id: n for n in named}
    for result_id in request.result_ids:
        if result_id not in by_result:
            raise UnknownResult(result_id)
    of_alert: dict[object, Named] = {}
    for n in by_result.values():
        of_alert.setdefault(_alert_key(n.found), n)
    op = request.operation
    decided = []
    for n in of_alert.values():
        decision = decide(op, n.found, action_pending=n.action_pending, whitelist_fields=request.whitelist_fields)
        if decision.action == ActionKind.RESTORE and n.held is None:
            raise HandlingNotAllowed(f"isolate_tag {n.found.isolate_tag}, no copy held", op.value)
        decided.append((n, decision))
    plan = HandlingPlan(now)
    after: dict[object, Detection] = {}
    for n, decision in decided:  # every decision made: now say what each writes
        found = replace(n.found, handle_status=decision.handle_status, handle_method=decision.handle_method)
        if request.memo:
            found.memo = request.memo
        after[_alert_key(found)] = found
        plan.handled.append(found)
        if decision.whitelist_remove:  # entries made through any occurrence of the alert go with it
            plan.whitelist_remove += sorted(set(n.occurrences) | {found.id})
        plan.whitelist_add += [WhitelistAdd(found.id, n.enterprise_project_id, e) for e in decision.whitelist_add]
        if decision.action is not None:
            plan.actions.append(_action(found, decision.action, n.held, request, now, new_id, plan))
        plan.history.append(
            HandleRecord(
                found.id, op.value, found.handle_status, found.handle_method, request.memo, request.user_name, now
            )
        )
    for n in by_result.values():
        now_is = after[_alert_key(n.found)]
        plan.answer.append(
            replace(
                n.found,
                handle_status=now_is.handle_status,
                handle_method=now_is.handle_method,
                memo=now_is.memo,
                isolate_tag=now_is.isolate_tag,
            )
        )
    return plan


def _action(
    found: Detection,
    kind: ActionKind,
    held: str | None,
    request: HandleRequest,
    now: int,
    new_id: Callable[[], str],
    plan: HandlingPlan,
) -> AgentAction:
    """The agent's command, and the quarantine row it makes (isolate) or takes back (restore)."""
    if kind == ActionKind.QUARANTINE:
        quarantine_id = new_id()
        plan.quarantines.append(
            QuarantinedFile(
                quarantine_id=quarantine_id,
                host_pk=found.host_pk,
                file_path=found.file_path,
                file_hash=found.file_hash,
                detection_pk=found.id,
                malware_name=found.malware_name,
                source=IsolateTag.MANUAL,
                status=QuarantineStatus.ISOLATING,
                file_size=found.file_size,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        assert held is not None  # plan_handling refused a restore with nothing held
        quarantine_id = held
        plan.restoring.append(held)
    return AgentAction(
        action_id=new_id(),
        host_pk=found.host_pk,
        kind=kind,
        quarantine_id=quarantine_id,
        file_path=found.file_path,
        file_hash=found.file_hash,
        detection_pk=found.id,
        file_path_raw=found.file_path_raw,
        memo=request.memo,
        user_name=request.user_name,
        created_at=now,
    )


@dataclass
class FinishPlan:
    """What an agent's answer to an action changes: the action, its quarantined file, the alert, the history."""

    action: AgentAction
    file_changes: dict[str, object]  # QuarantinedFile fields
    handled: Detection | None = None  # the detection's new handling (for its alert and every occurrence)
    history: HandleRecord | None = None


#: The facts of a quarantined file an agent reports, as QuarantinedFile fields: (fact, field, type).
_FACTS: tuple[tuple[str, str, type], ...] = (
    ("uid", "uid", int),
    ("gid", "gid", int),
    ("mode", "mode", int),
    ("size", "file_size", int),
    ("mtime", "file_mtime", int),
    ("md5", "md5", str),
)


def plan_finish(
    action: AgentAction, found: Detection | None, ok: bool, error: str, facts: dict[str, Any], now: int
) -> FinishPlan:
    """An action's end, as its agent answered it (`action` pending; `found`: its detection, if any).

    A done quarantine keeps the facts the agent read of the file (owner, mode, size, mtime, md5); the detection
    changes only when the action succeeded, and the history records either end as the agent's.
    """
    ended = replace(action, status=ActionStatus.DONE if ok else ActionStatus.FAILED, error=error, finished_at=now)
    changes: dict[str, object] = {"status": quarantine_status(action.kind, ok), "error": error, "updated_at": now}
    if ok and action.kind == ActionKind.QUARANTINE:
        changes.update({name: facts[fact] for fact, name, kind in _FACTS if type(facts.get(fact)) is kind})
    plan = FinishPlan(ended, changes)
    if found is not None:
        after = replace(found)
        if ok:
            plan.handled = (
                after_quarantine(after, IsolateTag.MANUAL)
                if action.kind == ActionKind.QUARANTINE
                else (after_restore(after))
            )
        operation = f"{action.kind.value}_{'done' if ok else 'failed'}"
        plan.history = HandleRecord(after.id, operation, after.handle_status, after.handle_method, error, AGENT, now)
    return plan


def auto_quarantined(
    finding: Detection, found: Detection, facts: dict[str, Any], host_pk: int, now: int
) -> QuarantinedFile:
    """The quarantined file an `auto` task's agent made of a finding (`found`: its stored detection)."""
    return QuarantinedFile(
        quarantine_id=str(facts["quarantine_id"]),
        host_pk=host_pk,
        file_path=finding.file_path,
        file_hash=finding.file_hash,
        detection_pk=found.id,
        malware_name=finding.malware_name,
        source=IsolateTag.AUTO,
        status=QuarantineStatus.ISOLATED,
        file_size=int(facts.get("size", finding.file_size)),
        uid=int(facts.get("uid", -1)),
        gid=int(facts.get("gid", -1)),
        mode=int(facts.get("mode", 0)),
        file_mtime=int(facts.get("mtime", finding.file_mtime)),
        created_at=now,
        updated_at=now,
        md5=str(facts.get("md5", "")),
    )


def after_quarantine(found: Detection, source: IsolateTag) -> Detection:
    """The detection once its file is in quarantine."""
    found.handle_status = HandleStatus.HANDLED
    found.handle_method = (
        Operation.MANUAL_ISOLATE_AND_KILL.value if source == IsolateTag.MANUAL else IsolateTag.AUTO.value
    )
    found.isolate_tag = source.value
    return found


def after_restore(found: Detection) -> Detection:
    """The detection once its file is back: unhandled again, as before it was isolated."""
    found.handle_status = HandleStatus.UNHANDLED
    found.handle_method = ""
    found.isolate_tag = IsolateTag.NONE.value
    return found


def quarantine_status(kind: ActionKind, ok: bool) -> QuarantineStatus:
    """A quarantined file's status once an action on it ended."""
    if kind == ActionKind.QUARANTINE:
        return QuarantineStatus.ISOLATED if ok else QuarantineStatus.ISOLATE_FAILED
    return QuarantineStatus.RESTORED if ok else QuarantineStatus.RESTORE_FAILED


def whitelisted(entries: set[WhitelistEntry], file_path: str, file_hash: str) -> bool:
    """Whether a finding matches the whitelist: by its file's sha256 or its exact path."""
    return WhitelistEntry(WhitelistField.HASH, file_hash) in entries or (
        WhitelistEntry(WhitelistField.PATH, file_path) in entries
    )


@dataclass(frozen=True)
class HistoryFilter:
    """ListAntivirusHandleHistory's filters; None matches everything."""

    malware_name: str | None = None
    file_path: str | None = None
    severities: frozenset[str] | None = None
    host_name: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    asset_value: str | None = None
    handle_method: str | None = None
    user_name: str | None = None
    event_type: int | None = None
    ascending: bool = False


@dataclass(frozen=True)
class QuarantineFilter:
    """Filters of the quarantine listings (HSS ListIsolatedFile, Alibaba DescribeSuspEventQuaraFiles)."""

    quarantine_pk: int | None = None
    file_path: str | None = None
    file_hash: str | None = None
    host_id: str | None = None
    host_name: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    asset_value: str | None = None
    group_id: str | None = None
    statuses: frozenset[QuarantineStatus] | None = None
    updated_from: int | None = None
    updated_to: int | None = None


@dataclass
class HistoryView:
    record: HandleRecord
    detection: Detection
    host: Host


@dataclass
class QuarantineView:
    file: QuarantinedFile
    host: Host
    detection: Detection | None
