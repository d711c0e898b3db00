"""The tables. Alembic migrations in `migrations/versions` are generated from this metadata."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a million subtasks and more.
Id = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("enterprise_project_ids", JSON, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # "auth" (X-Auth-Token) | "enroll"
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("enterprise_project_ids", JSON, nullable=True),
    Column("enterprise_project_id", String(256), nullable=False),
    Column("group_id", String(64), nullable=True),
    Column("expires_at", BigInteger, nullable=False),
)

nonces = Table(
    "nonces",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

host_groups = Table(
    "host_groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("group_id", String(64), nullable=False, unique=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    UniqueConstraint("account_id", "project_id", "name", name="uq_host_groups_scope_name"),
)

hosts = Table(
    "hosts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("host_id", String(64), nullable=False, unique=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("enterprise_project_id", String(256), nullable=False),
    Column("group_id", String(64), nullable=True),
    Column("name", String(256), nullable=False),
    Column("private_ip", String(128), nullable=False),
    Column("public_ip", String(64), nullable=False),
    Column("os_type", String(16), nullable=False),
    Column("os_name", String(128), nullable=False),
    Column("os_version", String(64), nullable=False),
    Column("agent_id", String(64), nullable=False, unique=True),
    Column("agent_secret_hash", String(64), nullable=False),
    Column("agent_version", String(64), nullable=False),
    Column("asset_value", String(16), nullable=False),
    Column("last_seen", BigInteger, nullable=True),
    Column("stopped_at", BigInteger, nullable=True),  # the agent's goodbye; a later heartbeat is newer
    Column("created_at", BigInteger, nullable=False),
    # The project signature version (core/signature_sets.py) of the host's last report; NULL: local signatures only
    Column("signature_version", Integer, nullable=True),
    Index("ix_hosts_scope", "account_id", "project_id"),
)

root_tasks = Table(
    "root_tasks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("task_id", String(64), nullable=False, unique=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("enterprise_project_id", String(256), nullable=False),
    Column("name", String(255), nullable=False),
    Column("scan_type", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("start_type", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("scan_paths", JSON, nullable=False),
    Column("ignore_paths", JSON, nullable=False),
    Column("file_types", JSON, nullable=False),
    Column("targets", JSON, nullable=False),
    Column("paid", Boolean, nullable=False),
    Column("rescan", Boolean, nullable=False),
    Column("rescan_of", String(64), nullable=True),
    Column("client_token", String(128), nullable=True),  # core.ids.client_token_key: project, operation, token
    Column("created_at", BigInteger, nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("n_pending", Integer, nullable=False),
    Column("n_dispatched", Integer, nullable=False),
    Column("n_running", Integer, nullable=False),
    Column("n_succeeded", Integer, nullable=False),
    Column("n_failed", Integer, nullable=False),
    Column("n_timed_out", Integer, nullable=False),
    Column("n_cancelled", Integer, nullable=False),
    Column("progress", Integer, nullable=False),
    Column("files_scanned", BigInteger, nullable=False),
    Column("viruses_found", Integer, nullable=False),
    Column("sweep", JSON, nullable=True),  # a sweep's [{sha256, size}] (core/sweep.py); NULL for any other task
    # core.states.Tally beside the n_* counts: a report moves the totals by its one subtask. NULL (a root from
    # before 0011, or one written elsewhere): the next change recounts the root's subtasks and fills them.
    Column("open_progress", BigInteger, nullable=True),
    Column("last_end", BigInteger, nullable=True),
    UniqueConstraint("account_id", "client_token", name="uq_root_tasks_client_token"),
    Index("ix_root_tasks_listing", "account_id", "project_id", "start_time", "id"),
    # Huawei's ListAntiVirusTask always filters on whether_paid_task: its count and pages use this one.
    Index("ix_root_tasks_paid_listing", "account_id", "project_id", "paid", "start_time", "id"),
    # The fleet's gauges (/metrics): every task's subtask counts and the tasks not yet ended, without reading the
    # wide rows (storage/monitor_sql.py).
    Index(
        "ix_root_tasks_tally",
        "status",
        "n_pending",
        "n_dispatched",
        "n_running",
        "n_succeeded",
        "n_failed",
        "n_timed_out",
        "n_cancelled",
    ),
)

# The enterprise projects of a root task's hosts, written with the task (a task's hosts are fixed, and a host
# never changes enterprise project): "a task is visible when one of its hosts is" is one index probe per task.
root_enterprise_projects = Table(
    "root_enterprise_projects",
    metadata,
    Column("root_id", ForeignKey("root_tasks.id"), primary_key=True),
    Column("enterprise_project_id", String(256), primary_key=True),
)

subtasks = Table(
    "subtasks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subtask_id", String(64), nullable=False, unique=True),
    Column("root_id", ForeignKey("root_tasks.id"), nullable=False),
    Column("host_pk", ForeignKey("hosts.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("files_scanned", BigInteger, nullable=False),
    Column("bytes_scanned", BigInteger, nullable=False),
    Column("files_total", BigInteger, nullable=False),
    Column("viruses_found", Integer, nullable=False),
    Column("start_time", BigInteger, nullable=True),
    Column("end_time", BigInteger, nullable=True),
    Column("fail_reason", String(512), nullable=False),
    Column("using_quota", Boolean, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("checkpoint", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # [{reason, count, examples}] of the files the scan did not scan (core.models.NotScanned); NULL: none reported
    Column("not_scanned", JSON, nullable=True),
    Index("ix_subtasks_root", "root_id"),
    Index("ix_subtasks_host_status", "host_pk", "status"),
)

# One alert per host, exact path, SHA-256 and signature, across scans (docs/alerts.md): its detections are its
# occurrences, one per subtask that found it. Handling state lives here and is copied onto every occurrence.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("host_pk", ForeignKey("hosts.id"), nullable=False),
    Column("path_digest", String(64), nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("malware_name", String(256), nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # "open" | "resolved"
    Column("resolved_by_task", String(64), nullable=True),  # the root task whose scan resolved it
    Column("resolved_at", BigInteger, nullable=True),
    Column("handle_status", String(16), nullable=False),
    Column("handle_method", String(64), nullable=False),
    Column("memo", String(512), nullable=False),
    Column("isolate_tag", String(16), nullable=False),
    UniqueConstraint("host_pk", "path_digest", "file_hash", "malware_name", name="uq_alerts_identity"),
    Index("ix_alerts_host_status", "host_pk", "status"),
)

detections = Table(
    "detections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("result_id", String(64), nullable=False, unique=True),
    Column("root_id", ForeignKey("root_tasks.id"), nullable=False),
    Column("subtask_id", ForeignKey("subtasks.id"), nullable=False),
    Column("host_pk", ForeignKey("hosts.id"), nullable=False),
    Column("malware_name", String(256), nullable=False),
    Column("malware_type", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("file_path", Text, nullable=False),
    # The exact bytes of the path when they are not the UTF-8 of file_path (a name that is not UTF-8).
    Column("file_path_raw", LargeBinary, nullable=True),
    # sha256 of the exact path: the unique key, since a btree entry cannot hold a path of any length.
    Column("path_digest", String(64), nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("file_owner", String(128), nullable=False),
    Column("file_attr", String(64), nullable=False),
    Column("file_ctime", BigInteger, nullable=False),
    Column("file_mtime", BigInteger, nullable=False),
    Column("offset", BigInteger, nullable=True),
    Column("occur_time", BigInteger, nullable=False),
    Column("handle_status", String(16), nullable=False),
    Column("handle_method", String(64), nullable=False),
    Column("memo", String(512), nullable=False),
    Column("isolate_tag", String(16), nullable=False),
    Column("event_type", Integer, nullable=False),
    # The project signature version the agent scanned with when it found this; NULL: its local signatures only
    Column("signature_version", Integer, nullable=True),
    # The alert this finding is an occurrence of (docs/alerts.md); NULL only before one was found or made.
    Column("alert_id", ForeignKey("alerts.id"), nullable=True),
    UniqueConstraint("subtask_id", "path_digest", "file_hash", "malware_name", name="uq_detections_finding"),
    Index("ix_detections_root", "root_id"),
    Index("ix_detections_host", "host_pk"),
    Index("ix_detections_alert", "alert_id"),
)

agent_reports = Table(
    "agent_reports",
    metadata,
    Column("host_pk", ForeignKey("hosts.id"), primary_key=True),
    Column("report_key", String(128), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

# Scheduled scans of both clouds (HSS policies, Alibaba cycle tasks): core/schedules.py. A replica claims a due
# schedule by moving next_fire_at from the due time it read, in the transaction that inserts the root task.
schedules = Table(
    "schedules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("schedule_id", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("enterprise_project_id", String(256), nullable=False),
    Column("enterprise_project_ids", JSON, nullable=True),
    Column("name", String(255), nullable=False),
    Column("rule", JSON, nullable=False),
    Column("template", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("next_fire_at", BigInteger, nullable=True),
    Column("last_fired_at", BigInteger, nullable=True),
    Column("last_task_id", String(64), nullable=True),
    Column("client_token", String(128), nullable=True),  # core.ids.client_token_key: project, operation, token
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "client_token", name="uq_schedules_client_token"),
    Index("ix_schedules_due", "next_fire_at"),
    Index("ix_schedules_scope", "account_id", "project_id", "kind"),
)

# Handling detections (core/handling.py): commands for agents, files in hosts' quarantines, the history, whitelist.
agent_actions = Table(
    "agent_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("action_id", String(64), nullable=False, unique=True),
    Column("host_pk", ForeignKey("hosts.id"), nullable=False),
    Column("detection_pk", ForeignKey("detections.id"), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("quarantine_id", String(64), nullable=False),
    Column("file_path", Text, nullable=False),
    Column("file_path_raw", LargeBinary, nullable=True),
    Column("file_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", String(512), nullable=False),
    Column("memo", String(512), nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Index("ix_agent_actions_host_status", "host_pk", "status"),
    Index("ix_agent_actions_detection", "detection_pk"),
)

quarantined_files = Table(
    "quarantined_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("quarantine_id", String(64), nullable=False, unique=True),
    Column("host_pk", ForeignKey("hosts.id"), nullable=False),
    Column("detection_pk", ForeignKey("detections.id"), nullable=True),
    Column("malware_name", String(256), nullable=False),
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("file_path", Text, nullable=False),
    Column("file_hash", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("gid", BigInteger, nullable=False),
    Column("mode", Integer, nullable=False),
    Column("file_mtime", BigInteger, nullable=False),
    Column("error", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False, server_default=""),
    Index("ix_quarantined_files_host", "host_pk"),
    Index("ix_quarantined_files_detection", "detection_pk"),
)

handle_history = Table(
    "handle_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("detection_pk", ForeignKey("detections.id"), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("handle_status", String(16), nullable=False),
    Column("handle_method", String(64), nullable=False),
    Column("memo", String(512), nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("handle_time", BigInteger, nullable=False),
    Index("ix_handle_history_detection", "detection_pk"),
)

alarm_whitelist = Table(
    "alarm_whitelist",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("enterprise_project_id", String(256), nullable=False),  # of the whitelisted detection's host
    Column("field", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("detection_pk", ForeignKey("detections.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("detection_pk", "field", name="uq_alarm_whitelist_detection_field"),
    Index("ix_alarm_whitelist_scope", "account_id", "project_id", "enterprise_project_id"),
)

# Signature sets managed by the server (core/signature_sets.py): one version number per project, each version
# immutable and holding every file of every set then active. Contents are kept once per sha256.
signature_versions = Table(
    "signature_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("project_id", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "project_id", "version", name="uq_signature_versions_version"),
)

signature_files = Table(
    "signature_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version_pk", ForeignKey("signature_versions.id"), nullable=False),
    Column("set_name", String(128), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index("ix_signature_files_version", "version_pk"),
)

signature_blobs = Table(
    "signature_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)
