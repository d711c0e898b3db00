"""The use cases both API dialects, the agent protocol and the CLI call. One place, one meaning."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from . import ids, tasks
from .alerts import Alert
from .beats import Beats, is_online
from .cache import TtlCache
from .errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    TaskStillRunning,
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
    RootTask,
    Scope,
    Subtask,
    SubtaskView,
)
from .monitoring_plane import MonitoringPlane
from .ports import Storage
from .queries import DetectionFilter, HostFilter, Page, RootFilter, Statistics, SubtaskFilter
from .schedules_plane import SchedulesPlane
from .signatures_plane import SignaturesPlane
from .states import SubtaskStatus
from .sweep_plane import SweepPlane
from .tasks import AgentReport, Counters, Plan, ReportOutcome, SubtaskReport, TaskRequest
from .validation import text_problem

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


class ControlPlane(HandlingPlane, SchedulesPlane, SignaturesPlane, SweepPlane, MonitoringPlane):
    def __init__(
        self,
        storage: Storage,
        clock: Clock = wall_clock,
        *,
        online_window_ms: int = 90_000,
        credential_ttl_s: float = 0.0,
    ) -> None:
        """`credential_ttl_s` > 0 lets an agent's verified credential (and its subtasks' owners, and the access keys
        signed requests name) be reused for that long without a database read: the server sets it
        (`AGENT_CREDENTIAL_TTL_S`), commands leave it off."""
        self.storage = storage
        self.clock = clock
        self.online_window_ms = online_window_ms
        self.agents: TtlCache[tuple[str, str], Host] = TtlCache(credential_ttl_s)
        self.owners: TtlCache[str, tuple[int, int, int]] = TtlCache(credential_ttl_s)  # subtask, host, root
        self.keys: TtlCache[str, AccessKey] = TtlCache(credential_ttl_s)
        self.beats: Beats | None = None
        self.beat_delay_ms = 0

    def cache_credentials(self, ttl_s: float) -> None:
        """Reuse verified agent credentials for `ttl_s` seconds (see `authenticate_agent`); 0 turns it off."""
        self.agents, self.owners, self.keys = TtlCache(ttl_s), TtlCache(ttl_s), TtlCache(ttl_s)

    def coalesce_heartbeats(self, delay_ms: int) -> Beats:
        """Note beats in memory from now on; the caller flushes them (`flush_beats`) at least every `delay_ms`,
        which every reader of `last_seen` then allows for."""
        self.beats = Beats()
        self.beat_delay_ms = delay_ms
        return self.beats

    def flush_beats(self) -> int:
        """Store the beats noted since the last flush, in one transaction; how many hosts it moved."""
        if self.beats is None:
            return 0
        taken = self.beats.take()
        try:
            self.storage.touch_hosts(taken)
        except Exception:
            self.beats.restore(taken)
            raise
        return len(taken)

    def _seen(self, host: Host, now: int) -> None:
        """Mark the host seen: in the next batch, or at once when it said goodbye last (back online at once)."""
        back = host.stopped_at is not None and (host.last_seen is None or host.stopped_at >= host.last_seen)
        if self.beats is None or back:
            self.storage.touch_host(host.id, now)
        else:
            self.beats.note(host.id, now)
        host.last_seen = now  # a cached credential's host (ControlPlane.agents) follows

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
        """The key a signed request names, with the secret its signature is checked against.

        An access key never changes once made, so the credential cache keeps the keys found (an unknown one is
        read again each time): one database read less per signed request."""
        key = self.keys.get(access_key_id)
        if key is None:
            key = self.storage.get_access_key(access_key_id)
            if key is not None:
                self.keys.put(access_key_id, key)
        return key

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

    def shared_reads(self) -> AbstractContextManager[None]:
        """The reads made within share one transaction: an agent's /work answer is several reads, one snapshot."""
        return self.storage.reading()

    def agent_online(self, host: Host | TaskHost) -> bool:
        """Seen within the window (`online_since`), and not since gone: an agent that said goodbye is offline at
        once."""
        return is_online(host.last_seen, host.stopped_at, self.online_since())

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

    def cached_agent(self, agent_id: str, secret: str) -> Host | None:
        """The host of a credential verified within `credential_ttl_s`, else None (then `authenticate_agent`)."""
        return self.agents.get((agent_id, ids.token_hash(secret)))

    def authenticate_agent(self, agent_id: str, secret: str) -> Host:
        """The agent's host. A credential verified within the last `credential_ttl_s` is not read again: the
        cache is keyed by the agent and the hash of the secret it presented, so a wrong secret never matches
        it, and a credential changed or removed in the database stops working at the next bulk check
        (`recheck_credentials`, every few seconds on every server process). Failures are never cached: a new
        agent works at once."""
        host = self.authenticate_agents([(agent_id, secret)])[0]
        if host is None:
            raise PermissionDenied("unknown agent or wrong secret")
        return host

    def authenticate_agents(self, credentials: Sequence[tuple[str, str]]) -> list[Host | None]:
        """`authenticate_agent` for many credentials in one read (a restarted server meets every agent at once):
        each one's host, or None for an unknown agent or a wrong secret."""
        keys = [(agent_id, ids.token_hash(secret)) for agent_id, secret in credentials]
        # An id no column can store is nobody's; asked for, it would fail the read for every credential beside it.
        storable = [agent_id for agent_id, _ in keys if text_problem(agent_id) is None]
        stored = self.storage.hosts_by_agents(storable)
        hosts: list[Host | None] = []
        for key in keys:
            found = stored.get(key[0])
            if found is None or not secrets.compare_digest(found[1], key[1]):
                hosts.append(None)
                continue
            self.agents.put(key, found[0])
            hosts.append(found[0])
        return hosts

    def recheck_credentials(self) -> int:
        """Drop every cached credential whose agent is gone or whose stored secret hash changed; how many.

        One bulk read of the cached agents' hashes instead of one read per request: the cache can then live for
        minutes (a credential is read once per agent, not once per beat) while a revoked one stops working as
        soon as the next check runs."""
        keys = self.agents.keys()
        if not keys:
            return 0
        stored = self.storage.agent_secret_hashes([agent_id for agent_id, _ in keys])
        stale = [key for key in keys if stored.get(key[0]) != key[1]]
        for key in stale:
            self.agents.drop(key)
        return len(stale)

    def heartbeat(self, host: Host, *, stopping: bool = False) -> None:
        """A beat marks the host seen; the last one, sent as its agent stops, marks it offline at once.

        The goodbye leaves `last_seen` as it was: the sweeper's patience with the host's open subtasks (which
        the agent resumes from its checkpoint when it starts again) is unchanged.
        """
        if stopping:
            if self.beats is not None:
                self.beats.forget(host.id)
            host.stopped_at = self.clock()
            self.storage.host_stopped(host.id, host.stopped_at)
        else:
            self._seen(host, self.clock())

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
        self._seen(host, now)
        for sub, was_pending, _ in due:
            if was_pending:
                self.storage.change_subtask(sub.id, partial(tasks.dispatch, now=now))
        return answer

    def new_work(self, after: tuple[int, int]) -> tuple[set[int], tuple[int, int]]:
        """Hosts given a subtask or an action since the watermark `after`, and the new watermark."""
        return self.storage.new_work(after)

    def cached_subtask_key(self, host: Host, subtask_id: str) -> tuple[int, int] | None:
        """`subtask_key` when it is remembered (no database read), else None."""
        owner = self.owners.get(subtask_id)
        if owner is None:
            return None
        if owner[1] != host.id:
            raise UnknownSubtask(subtask_id)
        return owner[0], owner[2]

    def subtask_key(self, host: Host, subtask_id: str) -> tuple[int, int]:
        """The storage keys (subtask, its root) of the host's own subtask, finished or not: a late report must
        still land its detections. Which host and root a subtask belongs to never changes, so the answer is
        remembered as long as credentials are."""
        [key] = self.subtask_keys([(host, subtask_id)])
        if isinstance(key, Exception):
            raise key
        return key

    def subtask_keys(self, asked: Sequence[tuple[Host, str]]) -> list[tuple[int, int] | UnknownSubtask]:
        """`subtask_key` for many reports in one read: a restarted server meets every scanning agent's report
        within seconds, and a read per report (a thread each) kept it seconds behind (bench/fleet.py)."""
        # An id no column can store is nobody's subtask; asked for, it would fail the read for the others too.
        known: dict[str, tuple[int, int, int] | None] = {sid: self.owners.get(sid) for _, sid in asked}
        missing = sorted(sid for sid, owner in known.items() if owner is None and text_problem(sid) is None)
        if missing:
            for subtask_id, owner in self.storage.subtask_owners(missing).items():
                known[subtask_id] = owner
                self.owners.put(subtask_id, owner)
        keys: list[tuple[int, int] | UnknownSubtask] = []
        for host, subtask_id in asked:
            found = known[subtask_id]
            keys.append(
                (found[0], found[2]) if found is not None and found[1] == host.id else UnknownSubtask(subtask_id)
            )
        return keys

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
        asked = AgentReport(
            host, subtask_pk, report_key, counters, detections, finished, succeeded, reason, quarantined=quarantined
        )
        [outcome] = self.report_many([asked])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def report_many(self, reports: Sequence[AgentReport]) -> list[ReportOutcome | Exception]:
        """Many agents' reports in one transaction (`api/agent/group_commit.py`), each with its own outcome or its
        own error. Whitelisted findings are dropped here, before storage takes its locks."""
        now = self.clock()
        asked = []
        kept = self.without_whitelisted([(r.host, r.detections) for r in reports])
        for r, found in zip(reports, kept, strict=True):
            change = (
                partial(tasks.finish, succeeded=r.succeeded, reason=r.reason, counters=r.counters, now=now)
                if r.finished
                else partial(tasks.progress, counters=r.counters, now=now)
            )
            stamped = [replace(d, occur_time=d.occur_time or now, result_id=d.result_id or ids.hex_id()) for d in found]
            key = (r.host.id, r.report_key)
            completes = r.finished and r.succeeded
            asked.append(SubtaskReport(r.subtask_pk, change, key, stamped, now, r.quarantined, may_succeed=completes))
        outcomes = self.storage.change_subtasks(asked)
        for r, outcome in zip(reports, outcomes, strict=True):
            if not isinstance(outcome, Exception):
                self._seen(r.host, now)  # a report proves its agent alive: noted as a beat (batched)
        return outcomes

    def expire_stale(self, *, offline_after_ms: int, timeout_after_ms: int) -> int:
        """End unfinished subtasks: failed when their agent went silent, timed out when they ran too long.

        Partial counts and detections stay. Safe on every replica at once: ending an ended subtask changes nothing.
        """
        now = self.clock()
        ended = 0
        silent_since = now - offline_after_ms
        # A beat may reach last_seen beat_delay_ms late: only a host silent for that much longer is ended for it.
        # A scan ended for its time is still said to be of an offline agent when the host was silent that long.
        for sub, host in self.storage.stale_subtasks(now, silent_since - self.beat_delay_ms, now - timeout_after_ms):
            offline = (host.last_seen or host.created_at) < silent_since
            reason = "agent offline" if offline else "scan timed out"
            change = partial(tasks.expire, timed_out=not offline, reason=reason, now=now)
            if self.storage.change_subtask(sub.id, change).subtask.status.terminal:
                ended += 1
        return ended
