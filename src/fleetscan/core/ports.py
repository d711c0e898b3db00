"""The ports the core calls, one per area; storage (SQLite or PostgreSQL) implements them all.

The core owns these, as GRR's `db.Database` is owned by the server and not by its MySQL backend: storage
imports the core, never the other way round. Each method is one transaction. Anything a second server
replica would need lives behind them, never in a server's memory: nonces, idempotency keys, report keys,
schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final, Protocol

from . import handling
from .alerts import Alert
from .listing import MachineRow, TaskPage
from .models import (
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
from .monitoring import FleetGauges
from .queries import DetectionFilter, HostFilter, Page, RootFilter, Statistics, SubtaskFilter
from .schedules import Schedule, ScheduleFilter
from .signature_sets import SignatureFile, SignatureVersion
from .tasks import ReportOutcome, SubtaskReport

__all__ = [
    "PORTS",
    "AccessStore",
    "AlertStore",
    "DetectionStore",
    "HandlingStore",
    "HostStore",
    "ListingStore",
    "MonitorStore",
    "ReportOutcome",
    "ScheduleStore",
    "SignatureStore",
    "Storage",
    "SubtaskChange",
    "TaskStore",
]

SubtaskChange = Callable[[Subtask], Subtask]


class AccessStore(Protocol):
    """Accounts, access keys, tokens and the nonces that make a signed request usable once."""

    def ensure_account(self, name: str) -> int: ...
    def find_project(self, account: str, project_id: str) -> int | None:
        """The account's id when the account holds the project (a key, a token or a host in it), else None."""
        ...

    def add_access_key(self, key: AccessKey) -> None: ...
    def get_access_key(self, access_key_id: str) -> AccessKey | None: ...
    def add_credential(self, kind: str, credential: Credential) -> None: ...
    def get_credential(self, kind: str, token_hash: str, now: int) -> Credential | None: ...
    def remember_nonce(self, access_key_id: str, nonce: str, expires_at: int) -> bool:
        """Record a nonce; False when it was already recorded (a replay)."""
        ...


class HostStore(Protocol):
    """Hosts and their groups."""

    def ensure_group(self, account_id: int, project_id: str, name: str) -> str: ...
    def enroll_host(self, host: Host, agent_secret_hash: str) -> Host: ...
    def get_host_by_agent(self, agent_id: str) -> tuple[Host, str] | None: ...
    def hosts_by_agents(self, agent_ids: Sequence[str]) -> dict[str, tuple[Host, str]]:
        """Each of these agents that exists: its host and its secret's hash (credentials verified in bulk)."""
        ...

    def agent_secret_hashes(self, agent_ids: Sequence[str]) -> dict[str, str]:
        """The stored secret hash of each of these agents that still exists (cached credentials checked in bulk)."""
        ...

    def touch_host(self, host_pk: int, now: int) -> None: ...
    def touch_hosts(self, seen: Mapping[int, int]) -> None:
        """Coalesced beats (host pk -> beat time, ms) in one transaction; a host's `last_seen` never goes back."""
        ...

    def host_stopped(self, host_pk: int, now: int) -> None:
        """The host's agent said goodbye: offline until it is seen again (`last_seen` stays for the sweeper)."""
        ...

    def find_hosts(self, scope: Scope, host_ids: Sequence[str] = (), group_ids: Sequence[str] = ()) -> list[Host]: ...
    def list_hosts(self, scope: Scope, flt: HostFilter, page: Page) -> tuple[int, list[Host]]: ...


class TaskStore(Protocol):
    """Scan tasks: a root per request, a subtask per host, changed only by core/tasks.py's rules."""

    def reading(self) -> AbstractContextManager[None]:
        """The reads made within share one transaction (an answer made of several reads): see storage/base.py."""
        ...

    def insert_task(self, root: RootTask, subtasks: Sequence[Subtask]) -> RootTask: ...
    def new_work(self, after: tuple[int, int]) -> tuple[set[int], tuple[int, int]]:
        """Hosts with a pending subtask or action whose row id is past `after` (subtask id, action id), and the
        highest ids now (a long-poll's watermark: `api/agent/longpoll.py`)."""
        ...

    def find_by_client_token(self, scope: Scope, client_token: str) -> RootTask | None:
        """The task of the caller's project stored with this client token key, in any enterprise project."""
        ...

    def get_root(
        self, scope: Scope, *, numeric_id: int | None = None, task_id: str | None = None
    ) -> RootTask | None: ...
    def latest_root(self, scope: Scope) -> RootTask | None: ...
    def list_roots(self, scope: Scope, flt: RootFilter, page: Page) -> tuple[int, list[RootTask]]: ...
    def subtasks_of(
        self, scope: Scope, roots: Sequence[RootTask], flt: RootFilter | None = None
    ) -> dict[int, list[SubtaskView]]:
        """The subtasks of `roots` on the caller's granted hosts (those `flt`'s host conditions match, if given)."""
        ...

    def change_subtask(
        self,
        subtask_pk: int,
        change: SubtaskChange,
        *,
        report: tuple[int, str] | None = None,
        detections: Sequence[Detection] = (),
        reported_at: int | None = None,
        quarantined: Sequence[tuple[Detection, dict[str, Any]]] = (),
    ) -> ReportOutcome:
        """Apply `change` to one subtask under a lock, add detections, and refresh its root's totals.

        `report` is (host_pk, idempotency key): a key seen before applies nothing and says so. `quarantined` are
        the findings an `auto` task's agent quarantined itself, with its facts: recorded in the same transaction as
        the detections, at `reported_at`. The reporting host's last_seen is the core's to note (a beat, batched).
        """
        ...

    def change_subtasks(self, reports: Sequence[SubtaskReport]) -> list[ReportOutcome | Exception]:
        """Many agents' reports in one transaction, each as `change_subtask` would apply it, each with its own
        outcome or its own error (a refused transition, an unknown subtask, a value no column takes), the others
        written all the same. A database error fails the whole call and writes none of them."""
        ...

    def get_subtask(self, subtask_id: str) -> Subtask | None: ...
    def subtask_owners(self, subtask_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        """Each of these subtasks that exists: its key, its host's and its root's (reports' keys read in bulk)."""
        ...

    def agent_subtasks(self, host_pk: int) -> list[tuple[Subtask, RootTask]]: ...
    def stale_subtasks(self, now: int, seen_before: int, started_before: int) -> list[tuple[Subtask, Host]]: ...


class ListingStore(Protocol):
    """The cloud listings' pages, as core.listing's rows: what they render and nothing else."""

    def task_page(self, scope: Scope, flt: RootFilter, page: Page, *, with_hosts: bool = False) -> TaskPage:
        """Root tasks, newest first, and the total; `with_hosts`: each one's subtasks too (as `subtasks_of`)."""
        ...

    def machine_page(self, scope: Scope, flt: SubtaskFilter, page: Page) -> tuple[int, list[MachineRow]]:
        """Hosts' parts in tasks (subtasks), newest task first, and the total."""
        ...


class ScheduleStore(Protocol):
    """Schedules: HSS policies and Alibaba cycle tasks."""

    def insert_schedule(self, schedule: Schedule) -> Schedule: ...
    def get_schedule(self, scope: Scope, flt: ScheduleFilter) -> Schedule | None: ...
    def find_schedule_by_client_token(self, scope: Scope, client_token: str) -> Schedule | None:
        """The schedule of the caller's project stored with this client token key, in any enterprise project."""
        ...

    def list_schedules(self, scope: Scope, flt: ScheduleFilter, page: Page) -> tuple[int, list[Schedule]]: ...
    def update_schedule(self, schedule: Schedule) -> None: ...
    def delete_schedules(self, scope: Scope, flt: ScheduleFilter, schedule_ids: Sequence[str]) -> int: ...
    def due_schedules(self, now: int, limit: int) -> list[Schedule]: ...
    def fire_schedule(
        self, schedule_pk: int, due: int, next_fire_at: int | None, task: tuple[RootTask, Sequence[Subtask]] | None
    ) -> bool:
        """Claim one due time of a schedule and insert the task it starts, in one transaction.

        The claim moves next_fire_at from `due` to `next_fire_at` only if it still is `due`: of several replicas
        firing the same due time, exactly one gets True and inserts; the others change nothing.
        """
        ...


class DetectionStore(Protocol):
    """What the scans found, row by row, and the project's statistics."""

    def list_detections(self, scope: Scope, flt: DetectionFilter, page: Page) -> tuple[int, list[DetectionView]]: ...
    def statistics(self, scope: Scope) -> Statistics: ...


class AlertStore(Protocol):
    """Alerts: one per infected file on a host (docs/alerts.md)."""

    def open_alert_counts(self, scope: Scope, host_ids: Sequence[str]) -> dict[str, int]:
        """How many open alerts each of these hosts of the caller's scope has; absent: none."""
        ...

    def alert_of_result(self, scope: Scope, result_id: str) -> Alert | None:
        """The alert that result is an occurrence of, if the caller may see it."""
        ...


class HandlingStore(Protocol):
    """Handling detections (core/handling.py): decisions, the agents' actions, quarantine, the whitelist."""

    def handle_detections(
        self, scope: Scope, request: handling.HandleRequest, now: int, new_id: Callable[[], str]
    ) -> handling.HandleOutcome:
        """Read what `handling.plan_handling` needs of the results named, in the caller's scope and under locks,
        and write the plan it makes in the same transaction: all of it, or nothing when the plan refuses."""
        ...

    def pending_actions(self, host_pk: int) -> list[handling.AgentAction]: ...
    def finish_action(
        self, host_pk: int, action_id: str, ok: bool, error: str, facts: dict[str, Any], now: int
    ) -> handling.AgentAction:
        """Write `handling.plan_finish` for a pending action; an action already ended is returned as it was."""
        ...

    def record_auto_quarantine(
        self, host_pk: int, subtask_pk: int, items: Sequence[tuple[Detection, dict[str, Any]]], now: int
    ) -> int: ...
    def whitelist(self, host: Host) -> set[handling.WhitelistEntry]:
        """The entries that hold on `host`: those of its project and enterprise project."""
        ...

    def whitelists(self, hosts: Sequence[Host]) -> list[set[handling.WhitelistEntry]]:
        """`whitelist` of each host, in one read (a batch of reports)."""
        ...

    def list_history(
        self, scope: Scope, flt: handling.HistoryFilter, page: Page
    ) -> tuple[int, list[handling.HistoryView]]: ...
    def list_quarantined(
        self, scope: Scope, flt: handling.QuarantineFilter, page: Page
    ) -> tuple[int, list[handling.QuarantineView]]: ...


class SignatureStore(Protocol):
    """Signature sets managed by the server (core/signature_sets.py)."""

    def get_signature_version(
        self, scope: Scope, version: int | None = None, *, content: bool = False
    ) -> SignatureVersion | None:
        """The project's version `version` (None: its newest), with the files' bytes when `content`."""
        ...

    def change_signatures(
        self, scope: Scope, change: Callable[[SignatureVersion | None], Sequence[SignatureFile]], now: int
    ) -> SignatureVersion:
        """Write the next version, holding the files `change` makes of the newest one (read with content)."""
        ...

    def note_host_signatures(self, host_pk: int, version: int | None) -> None: ...
    def signature_versions_of_roots(self, root_ids: Sequence[int]) -> dict[int, list[int]]: ...


class MonitorStore(Protocol):
    """What `/metrics` and `/readyz` ask of the database: cheap, fleet-wide, read only."""

    def fleet_gauges(self, now: int, online_since: int, delay_thresholds_ms: Sequence[int]) -> FleetGauges:
        """Agents enrolled and online (seen at or after `online_since`), subtasks by state, and how long the
        in-flight ones have waited since their last stored change, in one query."""
        ...

    def readiness(self) -> str | None:
        """None when the database answers and its schema is the one this server needs; else why not."""
        ...


class Storage(
    AccessStore,
    HostStore,
    TaskStore,
    ListingStore,
    ScheduleStore,
    DetectionStore,
    AlertStore,
    HandlingStore,
    SignatureStore,
    MonitorStore,
    Protocol,
):
    """Every port at once: what `ControlPlane` is built on."""


PORTS: Final[tuple[type, ...]] = tuple(base for base in Storage.__bases__ if base is not Protocol)
"""The ports one by one, read off `Storage` so the two lists cannot drift apart."""
