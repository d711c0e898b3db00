"""The agent protocol's message bodies, validated with pydantic before anything is changed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...core.models import Detection, Severity
from ...core.tasks import Counters


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4096)


class EnrollRequest(Message):
    enroll_token: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=256)
    private_ip: str = Field(default="", max_length=128)
    public_ip: str = Field(default="", max_length=39)
    os_type: Literal["Linux", "Windows"] = "Linux"
    os_name: str = Field(default="", max_length=128)
    os_version: str = Field(default="", max_length=64)
    agent_version: str = Field(default="", max_length=64)


class QuarantineFacts(Message):
    """What the agent kept of a file it quarantined (all but the content and its key)."""

    quarantine_id: str = Field(pattern=r"^[0-9a-zA-Z]{1,64}$")
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    size: int = Field(default=0, ge=0)
    uid: int = Field(default=-1, ge=-1)
    gid: int = Field(default=-1, ge=-1)
    mode: int = Field(default=0, ge=0, le=0o7777)
    mtime: int = Field(default=0, ge=0)


class Finding(Message):
    malware_name: str = Field(min_length=1, max_length=256)
    malware_type: str = Field(default="virus", max_length=64)
    severity: Severity = Severity.HIGH
    file_path: str = Field(min_length=1, max_length=4096)
    file_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_size: int = Field(default=0, ge=0)
    file_owner: str = Field(default="", max_length=128)
    file_attr: str = Field(default="", max_length=64)
    file_ctime: int = Field(default=0, ge=0)
    file_mtime: int = Field(default=0, ge=0)
    offset: int | None = Field(default=None, ge=0)
    quarantine: QuarantineFacts | None = None  # an `auto` task's agent quarantined the file itself

    def detection(self) -> Detection:
        return Detection(
            result_id="",
            root_id=0,
            subtask_id=0,
            host_pk=0,
            malware_name=self.malware_name,
            malware_type=self.malware_type,
            severity=self.severity,
            file_path=self.file_path,
            file_hash=self.file_hash,
            file_size=self.file_size,
            file_owner=self.file_owner,
            file_attr=self.file_attr,
            file_ctime=self.file_ctime,
            file_mtime=self.file_mtime,
            offset=self.offset,
        )


class ProgressReport(Message):
    report_id: str = Field(min_length=8, max_length=128, description="idempotency key: a retry reuses it")
    files_scanned: int = Field(default=0, ge=0)
    bytes_scanned: int = Field(default=0, ge=0)
    files_total: int = Field(default=0, ge=0)
    progress: int = Field(default=0, ge=0, le=100)
    checkpoint: str = Field(default="", max_length=65536)
    detections: list[Finding] = Field(default_factory=list, max_length=1000)

    def counters(self) -> Counters:
        return Counters(self.files_scanned, self.bytes_scanned, self.files_total, self.progress, self.checkpoint)


class CompletionReport(ProgressReport):
    result: Literal["success", "failure"]
    reason: str = Field(default="", max_length=512)
