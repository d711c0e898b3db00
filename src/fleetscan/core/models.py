"""The things fleetscan keeps. Plain dataclasses: storage fills them, adapters render them.

Times are integers of milliseconds since the epoch (UTC), the unit both clouds put on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .states import RootStatus, SubtaskCounts, SubtaskStatus
from .sweep import SweepHash


class ScanType(StrEnum):
    QUICK = "quick"
    FULL = "full"
    CUSTOM = "custom"


class Origin(StrEnum):
    """Who started the task: Alibaba's ScanType `system` (a schedule) or `user` (a person or script)."""

    SYSTEM = "system"
    USER = "user"


class StartType(StrEnum):
    NOW = "now"
    LATER = "later"
    PERIOD = "period"


class Action(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class Severity(StrEnum):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    CRITICAL = "Critical"


class HandleStatus(StrEnum):
    UNHANDLED = "unhandled"
    HANDLED = "handled"


ALL_ENTERPRISE_PROJECTS = "all_granted_eps"
DEFAULT_ENTERPRISE_PROJECT = "0"
# The label of a task or schedule over hosts of several enterprise projects. Tasks are scoped by their hosts,
# so for them it is only a label; a schedule has no hosts of its own and is seen only by unrestricted keys.
SEVERAL_ENTERPRISE_PROJECTS = "*"


@dataclass(frozen=True)
class Scope:
    """What one caller may see: one account's project and some (or all) of its enterprise projects."""

    account_id: int
    project_id: str
    enterprise_project_ids: frozenset[str] | None = None  # None: every enterprise project

    def allows(self, enterprise_project_id: str) -> bool:
        return self.enterprise_project_ids is None or enterprise_project_id in self.enterprise_project_ids

    @property
    def whole_project(self) -> Scope:
        """The same account's project with every enterprise project: what decides before the hosts do."""
        return Scope(self.account_id, self.project_id)

    def enterprise_project_of(self, hosts: Iterable[Host]) -> str:
        """The one enterprise project of `hosts` (or, with none, the caller's only one); else several."""
        found = {h.enterprise_project_id for h in hosts} or set(self.enterprise_project_ids or ())
        return found.pop() if len(found) == 1 else SEVERAL_ENTERPRISE_PROJECTS


@dataclass(frozen=True)
class Target:
    """One entry of Alibaba's TargetInfo: a host by uuid or a host group by id."""

    type: str  # "uuid" | "groupId"
    target: str
    name: str = ""


@dataclass
class Host:
    host_id: str
    account_id: int
    project_id: str
    name: str
    enterprise_project_id: str = DEFAULT_ENTERPRISE_PROJECT
    group_id: str | None = None
    private_ip: str = ""
    public_ip: str = ""
    os_type: str = "Linux"
    os_name: str = ""
    os_version: str = ""
    agent_id: str = ""
    agent_version: str = ""
    asset_value: str = "common"
    last_seen: int | None = None
    stopped_at: int | None = None
    """When its agent last said goodbye (stopped cleanly); offline until it is seen again after that."""
    created_at: int = 0
    id: int = 0
    signature_version: int | None = None
    """The project signature version of its last report (core/signature_sets.py); None: local signatures only."""


@dataclass
class RootTask:
    task_id: str  # 32 hex: Alibaba TaskId / RootTaskId, Huawei task_id
    account_id: int
    project_id: str
    name: str
    scan_type: ScanType
    origin: Origin = Origin.USER
    start_type: StartType = StartType.NOW
    action: Action = Action.MANUAL
    enterprise_project_id: str = DEFAULT_ENTERPRISE_PROJECT
    scan_paths: list[str] = field(default_factory=list)
    ignore_paths: list[str] = field(default_factory=list)
    file_types: list[int] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    paid: bool = False
    rescan: bool = False
    rescan_of: str | None = None
    client_token: str | None = None
    created_at: int = 0
    start_time: int = 0
    end_time: int | None = None
    status: RootStatus = RootStatus.PENDING
    counts: SubtaskCounts = field(default_factory=SubtaskCounts)
    progress: int = 0
    files_scanned: int = 0
    viruses_found: int = 0
    id: int = 0  # numeric: Alibaba ScanTaskId / DescribeScanTaskProgress TaskId
    sweep: list[SweepHash] = field(default_factory=list)
    """A sweep's wanted files (core/sweep.py): its agents scan with these hashes alone; empty for any other task."""


@dataclass(frozen=True)
class NotScanned:
    """Files of a subtask's scan that were not (fully) scanned for one reason: how many, and a few of their paths.

    Reasons are the engine's skip reasons (engine/results.py `SkipReason`: permission_denied, read_error,
    too_large, archive_limit, excluded, special_file, symlink); examples are display paths.
    """

    reason: str
    count: int
    examples: tuple[str, ...] = ()


def merge_not_scanned(old: Sequence[NotScanned], new: Sequence[NotScanned]) -> tuple[NotScanned, ...]:
    """Counts are absolute and only grow (like every counter of a report); the newest examples win."""
    merged = {n.reason: n for n in old}
    for n in new:
        before = merged.get(n.reason)
        if before is None or n.count >= before.count:
            merged[n.reason] = NotScanned(n.reason, n.count, n.examples or (before.examples if before else ()))
    return tuple(merged[r] for r in sorted(merged))


@dataclass
class Subtask:
    subtask_id: str  # 32 hex: Alibaba TaskId of a per-machine row
    root_id: int
    host_pk: int
    status: SubtaskStatus = SubtaskStatus.PENDING
    progress: int = 0
    files_scanned: int = 0
    bytes_scanned: int = 0
    files_total: int = 0
    viruses_found: int = 0
    start_time: int | None = None
    end_time: int | None = None
    fail_reason: str = ""
    using_quota: bool = False
    cancel_requested: bool = False
    checkpoint: str = ""
    updated_at: int = 0
    not_scanned: tuple[NotScanned, ...] = ()
    id: int = 0

    @property
    def not_scanned_num(self) -> int:
        return sum(n.count for n in self.not_scanned)

    def run_duration(self, now: int) -> int:
        """Seconds spent scanning: until the end, or until now while it runs."""
        if self.start_time is None:
            return 0
        return max(0, ((self.end_time or now) - self.start_time) // 1000)


@dataclass
class SubtaskView:
    """A subtask with the host and root task it belongs to, as every listing shows it."""

    subtask: Subtask
    host: Host
    root: RootTask


@dataclass
class Detection:
    result_id: str
    root_id: int
    subtask_id: int
    host_pk: int
    malware_name: str
    malware_type: str
    severity: Severity
    file_path: str  # display form (docs/agent-protocol.md): valid Unicode, what people and filters see
    file_hash: str  # sha256
    file_size: int = 0
    file_owner: str = ""
    file_attr: str = ""
    file_ctime: int = 0
    file_mtime: int = 0
    offset: int | None = None
    occur_time: int = 0
    handle_status: HandleStatus = HandleStatus.UNHANDLED
    handle_method: str = ""
    memo: str = ""
    isolate_tag: str = "none"
    event_type: int = 1001
    file_path_raw: bytes | None = None
    """The exact bytes of the path when they are not the UTF-8 of ``file_path``; quarantine acts on them."""
    alert_id: int | None = None  # the alert this is an occurrence of (core/alerts.py)
    id: int = 0
    signature_version: int | None = None
    """The project signature version it was found with; None: the agent's local signatures only."""

    @property
    def exact_path(self) -> bytes:
        return self.file_path_raw if self.file_path_raw is not None else self.file_path.encode()


@dataclass
class DetectionView:
    detection: Detection
    host: Host
    root: RootTask


@dataclass(frozen=True)
class AccessKey:
    """An access key id and secret, bound to an account's project and the enterprise projects it may see.

    The secret is kept as issued: both signature schemes are HMACs, which need it to verify.
    """

    access_key_id: str
    secret: str
    scope: Scope
    created_at: int = 0


@dataclass(frozen=True)
class Credential:
    """A bearer token (an X-Auth-Token or an enrollment token), kept only as its sha256."""

    token_hash: str
    scope: Scope
    expires_at: int
    group_id: str | None = None
    enterprise_project_id: str = DEFAULT_ENTERPRISE_PROJECT
