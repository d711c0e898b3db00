"""Alibaba quarantine actions: DescribeSuspEventQuaraFiles and RollbackSuspEventQuaraFile.

Translation only (core/handling.py decides). Decisions where the pages are silent:

* `Id` (QuaraFileId) is the quarantined file's numeric id; `Uuid`/`InstanceId` the host uuid; `Md5` is the md5 of
  the quarantined content, which the agent reads as it quarantines the file (empty for files quarantined before
  agents sent it: an MD5 we do not have is better absent than invented).
* Status: quaraing / quaraDone / quaraFailed while isolating, isolated, failed; rollbacking / rollbackDone /
  rollbackFailed for a restore. A refused restore (a file now exists at the path) is rollbackFailed and the
  file stays quarantined: it may be rolled back again once the path is free.
* RollbackSuspEventQuaraFile asks the host's agent to restore the file and answers at once; the status says
  when it is done. Rolling back a file that is not quarantined is a conflict; an unknown id (or another
  tenant's) is not found.
"""

from __future__ import annotations

import time
from typing import Any, Final

from ...core import handling as h
from ...core.models import Scope
from ...core.queries import Page
from ...core.service import ControlPlane
from .params import LONG_MAX, Params

STATUS: Final[dict[h.QuarantineStatus, str]] = {
    h.QuarantineStatus.ISOLATING: "quaraing",
    h.QuarantineStatus.ISOLATED: "quaraDone",
    h.QuarantineStatus.ISOLATE_FAILED: "quaraFailed",
    h.QuarantineStatus.RESTORING: "rollbacking",
    h.QuarantineStatus.RESTORED: "rollbackDone",
    h.QuarantineStatus.RESTORE_FAILED: "rollbackFailed",
}
STATUS_OF: Final = {v: k for k, v in STATUS.items()}


def _time(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _row(view: h.QuarantineView) -> dict[str, Any]:
    f, host = view.file, view.host
    return {
        "Id": f.id,
        "Uuid": host.host_id,
        "InstanceId": host.host_id,
        "InstanceName": host.name,
        "InternetIp": host.public_ip,
        "IntranetIp": host.private_ip,
        "Ip": host.public_ip or host.private_ip,
        "EventName": f.malware_name,
        "EventType": "virus",
        "Path": f.file_path,
        "Md5": f.md5,
        "Link": "",
        "Tag": f.source.value,
        "Status": STATUS[f.status],
        "ModifyTime": _time(f.updated_at),
    }


def describe_susp_event_quara_files(plane: ControlPlane, scope: Scope, p: Params) -> dict[str, Any]:
    current, size = p.page()
    status = p.choice("Status", tuple(STATUS_OF))
    group_id = p.text("GroupId", max_len=64)
    p.text("QuaraTag", max_len=64)
    p.text("From", max_len=64)
    p.text("SourceIp", max_len=64)
    p.integer("GroupingId", 0, LONG_MAX)
    flt = h.QuarantineFilter(group_id=group_id, statuses=frozenset({STATUS_OF[status]}) if status else None)
    total, found = plane.quarantined(scope, flt, Page((current - 1) * size, size))
    rows = [_row(v) for v in found]
    return {"CurrentPage": current, "PageSize": size, "TotalCount": total, "Count": len(rows), "QuaraFiles": rows}


def rollback_susp_event_quara_file(plane: ControlPlane, scope: Scope, p: Params) -> dict[str, Any]:
    quara_id = p.integer("QuaraFileId", 1, LONG_MAX, required=True)
    p.integer("ResourceDirectoryAccountId", 0, LONG_MAX)
    p.text("From", max_len=64)
    p.text("SourceIp", max_len=64)
    user = p.text("AccessKeyId", max_len=128) or "alibaba-api"
    plane.restore_quarantined(scope, h.QuarantineFilter(quarantine_pk=quara_id), "", user)
    return {}


QUARANTINE_ACTIONS: Final[dict[str, Any]] = {
    "DescribeSuspEventQuaraFiles": describe_susp_event_quara_files,
    "RollbackSuspEventQuaraFile": rollback_susp_event_quara_file,
}
__all__ = ["QUARANTINE_ACTIONS"]
