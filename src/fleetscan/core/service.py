"""The use cases both API dialects, the agent protocol and the CLI call. One place, one meaning."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from . import ids, tasks
from .alerts import Alert
from .errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    TaskStillRunning,
    UnknownSchedule,
    UnknownSubtask,
    UnknownTask,
)
from .handling_plane import HandlingPlane
from .listing import MachineRow, TaskHost, TaskPage
from .models import (
    ALL_ENTERPRISE_PROJECTS,
    DEFAULT_ENTERPRISE_PROJECT,
    SEVERAL_ENTERPRISE_PROJECTS,
    AccessKey,
    Credential,
    Detection,
    DetectionView,
    Host,
    Origin,
    RootTask,
    Scope,
    StartType,
    Subtask,
    SubtaskView,
)
from .ports import Storage
from .queries import DetectionFilter, HostFilter, Page, RootFilter, Statistics, SubtaskFilter
from .schedules import Schedule, ScheduleFilter, next_fire
from .signatures_plane import SignaturesPlane
from .states import SubtaskStatus
from .sweep_plane import SweepPlane
from .tasks import Counters, Plan, ReportOutcome, TaskRequest

Clock = Callable[[], int]
T = TypeVar("T")


def wall_clock() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class HostFacts:
    """What an agent tells about its host when it enrolls."""

    name: str
    private_ip: str = ""
    public_ip: str = ""
    os_type: str = "Linux"
    os_name: str = ""
    os_version: str = ""
    agent_version: str = ""


@dataclass(frozen=True)
class Enrollment:
    host: Host
    agent_secret: str


class ControlPlane(HandlingPlane, SignaturesPlane, SweepPlane):
    def __init__(self, storage: Storage, clock: Clock = wall_clock, *, online_window_ms: int = 90_000) -> None:
        self.storage = storage
        self.clock = clock
        self.online_window_ms = online_window_ms

    # ------------------------------------------------------------------ administration
    def create_access_key(self, account: str, project_id: str, enterprise_project_ids: Sequence[str] = ()) -> AccessKey:
        scope = self._scope(account, project_id, enterprise_project_ids)
        key = AccessKey("FS" + secrets.token_hex(11).upper(), secrets.token_urlsafe(30), scope, self.clock())
        self.storage.add_access_key(key)
        return key

    def create_credential(
        self,
        kind: str,
        account: str,
        project_id: str,
        enterprise_project_ids: Sequence[str] = (),
        *,
        ttl_seconds: int = 86_400,
        group: str | None = None,
        enterprise_project_id: str = DEFAULT_ENTERPRISE_PROJECT,
    ) -> tuple[str, Credential]:
        scope = self._scope(account, project_id, enterprise_project_ids)
        group_id = self.storage.ensure_group(scope.account_id, project_id, group) if group else None
        value = ids.token()
        credential = Credential(
            ids.token_hash(value), scope, self.clock() + ttl_seconds * 1000, group_id, enterprise_project_id
        )
        self.storage.add_credential(kind, credential)
        return value, credential

    def _scope(self, account: str, project_id: str, enterprise_project_ids: Sequence[str]) -> Scope:
        if not project_id or len(project_id) > 256:
            raise InvalidParameter("project_id", "must be 1 to 256 characters")
        reserved = {ALL_ENTERPRISE_PROJECTS, SEVERAL_ENTERPRISE_PROJECTS} & set(enterprise_project_ids)
        if reserved:
            raise InvalidParameter("enterprise_project_id", f"{reserved.pop()} names no enterprise project")
        account_id = self.storage.ensure_account(account)
        return Scope(account_id, project_id, frozenset(enterprise_project_ids) if enterprise_project_ids else None)

    def existing_scope(self, account: str, project_id: str) -> Scope:
        """The scope of a project the account already holds: a command must not answer "0 tasks" for a typo."""
        account_id = self.storage.find_project(account, project_id)
        if account_id is None:
            raise NotFound("project", f"{project_id} of account {account}")
        return Scope(account_id, project_id)

    # ------------------------------------------------------------------ callers (api/security.py)
    def access_key(self, access_key_id: str) -> AccessKey | None:
        """The key a signed request names, with the secret its signature is checked against."""
        return self.storage.get_access_key(access_key_id)

    def spend_nonce(self, access_key_id: str, nonce: str, expires_at: int) -> bool:
        """Use a signed request's nonce once; False for a replay, also one sent to another replica."""
        return self.storage.remember_nonce(access_key_id, nonce, expires_at)

    def token_scope(self, token: str) -> Scope | None:
        """The scope a bearer token grants while it is valid, else None."""
        credential = self.storage.get_credential("auth", ids.token_hash(token), self.clock())
        return None if credential is None else credential.scope

    # ------------------------------------------------------------------ tasks
    def create_task(self, scope: Scope, request: TaskRequest) -> Plan:
        """Plan and store a task; a client token seen before in the project answers the task it made."""
        if request.client_token:
            earlier = self.storage.find_by_client_token(scope, request.client_token)
            if earlier is not None:
                seen = self.storage.get_root(scope, numeric_id=earlier.id)
                if seen is None:
                    raise Conflict("the ClientToken was used for a task of another enterprise project")
                return Plan(seen)
        hosts = self.storage.find_hosts(scope, request.host_ids, request.group_ids)
        plan = tasks.plan_task(scope, request, hosts, self.clock())
        plan.root = self.storage.insert_task(plan.root, plan.subtasks)
        return plan

    def rescan(self, scope: Scope, task_id: str, host_ids: Sequence[str] = (), name: str | None = None) -> Plan:
        """Run an earlier task's scope again, as a new root task marked as a rescan of it."""
        earlier = self.get_root(scope, task_id=task_id)
        if not earlier.status.terminal:
            raise TaskStillRunning(task_id)
        if not host_ids:
            host_ids = [v.host.host_id for v in self.storage.subtasks_of(scope, [earlier])[earlier.id]]
        request = TaskRequest(
            name=name or earlier.name,
            scan_type=earlier.scan_type,
            host_ids=host_ids,
            action=earlier.action,
            scan_paths=earlier.scan_paths,
            ignore_paths=earlier.ignore_paths,
            file_types=earlier.file_types,
            paid=earlier.paid,
            rescan_of=earlier.task_id,
        )
        return self.create_task(scope, request)

    def cancel(self, scope: Scope, task_id: str, host_ids: Sequence[str] = ()) -> RootTask:
        root = self.get_root(scope, task_id=task_id)
        views = self.storage.subtasks_of(scope, [root])[root.id]
        if host_ids:
            unknown = set(host_ids) - {v.host.host_id for v in views}
            if unknown:
                raise InvalidParameter("host_ids", f"not in task {task_id}: {', '.join(sorted(unknown))}")
            views = [v for v in views if v.host.host_id in set(host_ids)]
        if all(v.subtask.status.terminal for v in views):
            raise Conflict(f"task {task_id} has ended on the chosen hosts: nothing to cancel")
        now = self.clock()
        for view in views:
            self.storage.change_subtask(view.subtask.id, partial(tasks.cancel, now=now))
        return self.get_root(scope, task_id=task_id)

    def get_root(self, scope: Scope, *, task_id: str | None = None, numeric_id: int | None = None) -> RootTask:
        root = self.storage.get_root(scope, task_id=task_id, numeric_id=numeric_id)
        if root is None:
            raise UnknownTask(task_id if task_id is not None else numeric_id)
        return root

    def latest_root(self, scope: Scope) -> RootTask | None:
        return self.storage.latest_root(scope)

    def list_roots(self, scope: Scope, flt: RootFilter, page: Page) -> tuple[int, list[RootTask]]:
        return self.storage.list_roots(scope, flt, page)

    def task_page(self, scope: Scope, flt: RootFilter, page: Page, *, with_hosts: bool = False) -> TaskPage:
        """A listing's page of root tasks (core/listing.py); `with_hosts`: with the hosts `flt` matches."""
        return self.storage.task_page(scope, flt, page, with_hosts=with_hosts)

    def machine_page(self, scope: Scope, flt: SubtaskFilter, page: Page) -> tuple[int, list[MachineRow]]:
        """A listing's page of hosts' parts in tasks (core/listing.py)."""
        return self.storage.machine_page(scope, flt, page)

    def subtasks_of(
        self, scope: Scope, roots: Sequence[RootTask], flt: RootFilter | None = None
    ) -> dict[int, list[SubtaskView]]:
        """The subtasks of `roots` the caller may see: those on hosts of its enterprise projects."""
        return self.storage.subtasks_of(scope, roots, flt)

    def list_hosts(self, scope: Scope, flt: HostFilter, page: Page) -> tuple[int, list[Host]]:
        return self.storage.list_hosts(scope, flt, page)

    def list_detections(self, scope: Scope, flt: DetectionFilter, page: Page) -> tuple[int, list[DetectionView]]:
        return self.storage.list_detections(scope, flt, page)

    def statistics(self, scope: Scope) -> Statistics:
        return self.storage.statistics(scope)

    def open_alert_counts(self, scope: Scope, host_ids: Sequence[str]) -> dict[str, int]:
        """Open alerts per host: what a host's infected-file count means (docs/alerts.md)."""
        return self.storage.open_alert_counts(scope, host_ids)

    def alert_of(self, scope: Scope, result_id: str) -> Alert | None:
        """The alert a result is an occurrence of: first and last seen, occurrences, the tasks that saw it."""
        return self.storage.alert_of_result(scope, result_id)

    def agent_online(self, host: Host | TaskHost) -> bool:
        """Seen within the window, and not since gone: an agent that said goodbye is offline at once."""
        if host.last_seen is None or (host.stopped_at is not None and host.stopped_at >= host.last_seen):
            return False
        return self.clock() - host.last_seen <= self.online_window_ms

    # ------------------------------------------------------------------ schedules
    def create_schedule(self, scope: Scope, schedule: Schedule) -> Schedule:
        """Store a schedule, armed from now; a client token seen before in the project returns the earlier one."""
        if schedule.client_token:
            earlier = self.storage.find_schedule_by_client_token(scope, schedule.client_token)
            if earlier is not None:
                seen = self.storage.get_schedule(scope, ScheduleFilter(earlier.kind, schedule_id=earlier.schedule_id))
                if seen is None:
                    raise Conflict("the ClientToken was used for a schedule of another enterprise project")
                return seen
        now = self.clock()
        schedule.created_at = schedule.updated_at = now
        schedule.enterprise_project_id = self._enterprise_project(schedule)
        schedule.arm(now)
        return self.storage.insert_schedule(schedule)

    def _enterprise_project(self, schedule: Schedule) -> str:
        """A schedule's enterprise project, the one rule its readers are scoped by.

        That of the hosts it names; one that scans every host of its creator's scope is in the creator's one
        enterprise project, or in several (seen by unrestricted keys only) when the creator had more.
        """
        hosts = [] if schedule.template.all_hosts else self.schedule_hosts(schedule)
        return schedule.scope.enterprise_project_of(hosts)

    def get_schedule(self, scope: Scope, flt: ScheduleFilter) -> Schedule:
        found = self.storage.get_schedule(scope, flt)
        if found is None:
            raise UnknownSchedule(flt.schedule_id, flt.kind.value)
        return found

    def list_schedules(self, scope: Scope, flt: ScheduleFilter, page: Page) -> tuple[int, list[Schedule]]:
        return self.storage.list_schedules(scope, flt, page)

    def change_schedule(self, schedule: Schedule) -> Schedule:
        """Store a changed schedule (from get_schedule), re-armed from now: a re-armed `later` runs again."""
        now = self.clock()
        schedule.updated_at = now
        schedule.enterprise_project_id = self._enterprise_project(schedule)
        schedule.arm(now)
        self.storage.update_schedule(schedule)
        return schedule

    def delete_schedules(self, scope: Scope, flt: ScheduleFilter, schedule_ids: Sequence[str]) -> None:
        """Delete all of them or, when one is unknown, none."""
        for schedule_id in schedule_ids:
            self.get_schedule(scope, replace(flt, schedule_id=schedule_id))
        self.storage.delete_schedules(scope, flt, schedule_ids)

    def schedule_hosts(self, schedule: Schedule) -> list[Host]:
        """The hosts a schedule's next task would scan, as of now."""
        template = schedule.template
        if template.all_hosts:
            return self.storage.list_hosts(schedule.scope, HostFilter(), Page(0, 1_000_000))[1]
        return self.storage.find_hosts(schedule.scope, template.host_ids, template.group_ids)

    def fire_schedules(self, limit: int = 100) -> list[RootTask]:
        """Start the task of every schedule that is due; the root tasks this call inserted.

        Safe on every replica at once: each due time is claimed in the transaction that inserts its task.
        A schedule whose hosts are all gone is still moved on, without a task. Runs missed while no server
        was up are not replayed: a late schedule fires once, and its next run is reckoned from now.
        """
        now = self.clock()
        started = []
        for schedule in self.storage.due_schedules(now, limit):
            due = schedule.next_fire_at
            assert due is not None
            hosts = self.schedule_hosts(schedule)
            task = None
            if hosts:
                plan = tasks.plan_task(schedule.scope, self._scheduled_request(schedule), hosts, now)
                task = (plan.root, plan.subtasks)
            if self.storage.fire_schedule(schedule.id, due, next_fire(schedule.rule, max(due, now)), task):
                if task is not None:
                    started.append(task[0])
        return started

    @staticmethod
    def _scheduled_request(schedule: Schedule) -> TaskRequest:
        t = schedule.template
        return TaskRequest(
            name=schedule.name,
            scan_type=t.scan_type,
            host_ids=t.host_ids,
            group_ids=t.group_ids,
            targets=t.targets,
            origin=Origin.SYSTEM if schedule.periodic else Origin.USER,
            start_type=StartType.PERIOD if schedule.periodic else StartType.LATER,
            action=t.action,
            scan_paths=t.scan_paths,
            ignore_paths=t.ignore_paths,
            file_types=t.file_types,
            paid=t.paid,
            enterprise_project_id=schedule.enterprise_project_id,
        )

    # ------------------------------------------------------------------ the agent's side
    def enroll(self, enroll_token: str, facts: HostFacts) -> Enrollment:
        credential = self.storage.get_credential("enroll", ids.token_hash(enroll_token), self.clock())
        if credential is None:
            raise PermissionDenied("unknown or expired enrollment token")
        if not facts.name or len(facts.name) > 256:
            raise InvalidParameter("name", "must be 1 to 256 characters")
        secret = ids.token()
        now = self.clock()
        host = Host(
            host_id=ids.host_uuid(),
            account_id=credential.scope.account_id,
            project_id=credential.scope.project_id,
            name=facts.name,
            enterprise_project_id=credential.enterprise_project_id,
            group_id=credential.group_id,
            private_ip=facts.private_ip,
            public_ip=facts.public_ip,
            os_type=facts.os_type,
            os_name=facts.os_name,
            os_version=facts.os_version,
            agent_id=ids.agent_id(),
            agent_version=facts.agent_version,
            last_seen=now,
            created_at=now,
        )
        return Enrollment(self.storage.enroll_host(host, ids.token_hash(secret)), secret)

    def authenticate_agent(self, agent_id: str, secret: str) -> Host:
        found = self.storage.get_host_by_agent(agent_id)
        if found is None or not secrets.compare_digest(found[1], ids.token_hash(secret)):
            raise PermissionDenied("unknown agent or wrong secret")
        return found[0]

    def heartbeat(self, host: Host, *, stopping: bool = False) -> None:
        """A beat marks the host seen; the last one, sent as its agent stops, marks it offline at once.

        The goodbye leaves `last_seen` as it was: the sweeper's patience with the host's open subtasks (which
        the agent resumes from its checkpoint when it starts again) is unchanged.
        """
        if stopping:
            self.storage.host_stopped(host.id, self.clock())
        else:
            self.storage.touch_host(host.id, self.clock())

    def work(self, host: Host) -> list[tuple[Subtask, RootTask]]:
        """The host's unfinished subtasks; pending ones become dispatched as the agent takes them."""
        return self.take_work(host, lambda sub, root: (sub, root))

    def take_work(self, host: Host, render: Callable[[Subtask, RootTask], T]) -> list[T]:
        """The host's unfinished subtasks, rendered; pending ones become dispatched as the agent takes them.

        Every item is rendered (from the state it is about to have) before anything changes: a subtask that
        cannot be rendered fails the call and stays pending.
        """
        now = self.clock()
        due = [
            (tasks.dispatch(sub, now=now), sub.status is SubtaskStatus.PENDING, root)
            for sub, root in self.storage.agent_subtasks(host.id)
            if root.start_time <= now  # a `later` task: not yet
        ]
        answer = [render(sub, root) for sub, _, root in due]
        self.storage.touch_host(host.id, now)
        for sub, was_pending, _ in due:
            if was_pending:
                self.storage.change_subtask(sub.id, partial(tasks.dispatch, now=now))
        return answer

    def subtask_of_host(self, host: Host, subtask_id: str) -> Subtask:
        """The host's own subtask, finished or not: a late report must still land its detections."""
        sub = self.storage.get_subtask(subtask_id)
        if sub is None or sub.host_pk != host.id:
            raise UnknownSubtask(subtask_id)
        return sub

    def report(
        self,
        host: Host,
        subtask_pk: int,
        report_key: str,
        counters: Counters,
        detections: Sequence[Detection],
        *,
        finished: bool = False,
        succeeded: bool = True,
        reason: str = "",
        quarantined: Sequence[tuple[Detection, dict[str, Any]]] = (),
    ) -> ReportOutcome:
        """Apply one agent report: counters, state, detections and the `auto` quarantines, in one transaction."""
        now = self.clock()
        change = (
            partial(tasks.finish, succeeded=succeeded, reason=reason, counters=counters, now=now)
            if finished
            else partial(tasks.progress, counters=counters, now=now)
        )
        stamped = [
            replace(d, occur_time=d.occur_time or now, result_id=d.result_id or ids.hex_id())
            for d in self.without_whitelisted(host, detections)
        ]
        return self.storage.change_subtask(
            subtask_pk, change, report=(host.id, report_key), detections=stamped, seen_at=now, quarantined=quarantined
        )

    def expire_stale(self, *, offline_after_ms: int, timeout_after_ms: int) -> int:
        """End unfinished subtasks: failed when their agent went silent, timed out when they ran too long.

        Partial counts and detections stay. Safe on every replica at once: ending an ended subtask changes nothing.
        """
        now = self.clock()
        ended = 0
        for sub, host in self.storage.stale_subtasks(now, now - offline_after_ms, now - timeout_after_ms):
            offline = (host.last_seen or host.created_at) < now - offline_after_ms
            reason = "agent offline" if offline else "scan timed out"
            change = partial(tasks.expire, timed_out=not offline, reason=reason, now=now)
            if self.storage.change_subtask(sub.id, change).subtask.status.terminal:
                ended += 1
        return ended
