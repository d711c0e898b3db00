"""The agent protocol's message bodies, validated with pydantic before anything is changed.

Every string is held to the one text rule (core/validation.py), every integer to the column it lands in (int64).
A report's envelope is validated whole (a bad one is refused, 400); its findings one by one (`sort_findings`):
the good ones are stored, the others answered in `refused`, so one bad finding never sinks a report.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ...core.errors import InvalidParameter
from ...core.models import Detection, NotScanned, Severity
from ...core.tasks import Counters
from ...core.validation import INT32_MAX, INT64_MAX, text_problem

#: A path's exact form decodes to at most this many bytes (docs/agent-protocol.md); a zip member name alone may
#: be 65,535 bytes, and Linux paths have no length limit below a directory descriptor.
MAX_PATH_BYTES = 65_536
#: The display form writes each byte that is not UTF-8 as `\xNN`: at most four characters a byte.
MAX_PATH_CHARS = 4 * MAX_PATH_BYTES
_MAX_B64 = 4 * ((MAX_PATH_BYTES + 2) // 3)


def _name(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _free(value: str) -> str:
    problem = text_problem(value, free=True)
    if problem is not None:
        raise ValueError(problem)
    return value


def _exact(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be the base64 of the path's bytes") from None
    if not 0 < len(raw) <= MAX_PATH_BYTES:
        raise ValueError(f"must decode to 1 to {MAX_PATH_BYTES} bytes")
    return value


Name = Annotated[str, AfterValidator(_name)]
"""A name, path or id: valid Unicode, no NUL and no control character."""
FreeText = Annotated[str, AfterValidator(_free)]
"""A reason or an error: valid Unicode, no NUL; tabs and line breaks allowed."""
Int64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
DisplayPath = Annotated[Name, Field(min_length=1, max_length=MAX_PATH_CHARS)]
ExactPath = Annotated[str, Field(max_length=_MAX_B64), AfterValidator(_exact)]


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=MAX_PATH_CHARS)


class EnrollRequest(Message):
    enroll_token: Name = Field(min_length=1, max_length=256)
    name: Name = Field(min_length=1, max_length=256)
    private_ip: Name = Field(default="", max_length=128)
    public_ip: Name = Field(default="", max_length=39)
    os_type: Literal["Linux", "Windows"] = "Linux"
    os_name: Name = Field(default="", max_length=128)
    os_version: Name = Field(default="", max_length=64)
    agent_version: Name = Field(default="", max_length=64)


class HeartbeatRequest(Message):
    """A beat's optional body: `stopping` is the agent's goodbye as it stops cleanly (SIGTERM)."""

    stopping: bool = False


class QuarantineFacts(Message):
    """What the agent kept of a file it quarantined (all but the content and its key)."""

    quarantine_id: str = Field(pattern=r"^[0-9a-zA-Z]{1,64}$")
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    md5: str = Field(default="", pattern=r"^([0-9a-f]{32})?$")
    size: Int64 = 0
    uid: int = Field(default=-1, ge=-1, le=INT64_MAX)
    gid: int = Field(default=-1, ge=-1, le=INT64_MAX)
    mode: int = Field(default=0, ge=0, le=0o7777)
    mtime: Int64 = 0


StatField = Literal["file_size", "file_ctime", "file_mtime", "offset"]


class Finding(Message):
    malware_name: Name = Field(min_length=1, max_length=256)
    malware_type: Name = Field(default="virus", max_length=64)
    severity: Severity = Severity.HIGH
    file_path: DisplayPath
    file_path_b64: ExactPath | None = None  # the exact bytes; absent: the UTF-8 of file_path
    file_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_size: Int64 = 0
    file_owner: Name = Field(default="", max_length=128)
    file_attr: Name = Field(default="", max_length=64)
    file_ctime: Int64 = 0
    file_mtime: Int64 = 0
    offset: Int64 | None = None
    clamped: list[StatField] = Field(default_factory=list, max_length=4)  # stat values the agent had to bound
    quarantine: QuarantineFacts | None = None  # an `auto` task's agent quarantined the file itself

    def exact_path(self) -> bytes | None:
        """The path's bytes when they are not the UTF-8 of its display form, else None (stored as text alone)."""
        if self.file_path_b64 is None:
            return None
        raw = base64.b64decode(self.file_path_b64)
        return None if raw == self.file_path.encode() else raw

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
            file_path_raw=self.exact_path(),
        )


class NotScannedEntry(Message):
    """Files not scanned for one reason (the engine's skip reasons), with up to 5 example display paths."""

    reason: str = Field(pattern=r"^[a-z_]{1,32}$")
    count: Int64
    examples: list[DisplayPath] = Field(default_factory=list, max_length=5)


class ProgressReport(Message):
    report_id: Name = Field(min_length=8, max_length=128, description="idempotency key: a retry reuses it")
    files_scanned: Int64 = 0
    bytes_scanned: Int64 = 0
    files_total: Int64 = 0
    progress: int = Field(default=0, ge=0, le=100)
    checkpoint: Name = Field(default="", max_length=MAX_PATH_CHARS)
    detections: list[Any] = Field(default_factory=list, max_length=1000)  # validated one by one: sort_findings
    not_scanned: list[NotScannedEntry] = Field(default_factory=list, max_length=32)
    signature_version: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """The project signature version the scan runs with (core/signature_sets.py); None: local signatures only."""

    def counters(self) -> Counters:
        skipped = tuple(NotScanned(n.reason, n.count, tuple(n.examples)) for n in self.not_scanned)
        return Counters(
            self.files_scanned, self.bytes_scanned, self.files_total, self.progress, self.checkpoint, skipped
        )


class CompletionReport(ProgressReport):
    result: Literal["success", "failure"]
    reason: FreeText = Field(default="", max_length=512)


def sort_findings(raw: list[Any]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Validate a report's findings one by one: (the good ones, `refused` entries `{index, field, message}`).

    Quarantine facts are the exception: they record what the agent already did to a file on its host, and the
    agent bounds them itself, so a finding whose facts are invalid refuses the whole report (InvalidParameter)
    rather than leave the server unaware of a file it holds.
    """
    good: list[Finding] = []
    refused: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        try:
            good.append(Finding.model_validate(item))
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            for err in errors:
                if err["loc"] and err["loc"][0] == "quarantine":
                    where = ".".join(str(p) for p in err["loc"])
                    raise InvalidParameter(f"detections[{index}].{where}", err["msg"]) from None
            first = errors[0]
            field = ".".join(str(p) for p in first["loc"]) or "detection"
            refused.append({"index": index, "field": field, "message": first["msg"]})
    return good, refused
