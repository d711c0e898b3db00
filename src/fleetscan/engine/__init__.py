"""fleetscan's scanning engine: signatures, walk, matching in worker processes, cache, progress and reports.

Used by the agent on every host and by ``fleetscan scan`` alone; it needs no server::

    sigset = load_signatures(["/var/lib/clamav", "rules/"])
    report = Scanner(sigset, ScanOptions(scan_type="quick")).run(on_progress=print)
"""

from __future__ import annotations

from .filetypes import FileClass, classify
from .limits import ArchiveLimits
from .locations import QUICK_LOCATIONS, ScanScope, resolve_scope
from .progress import Progress, ProgressCallback
from .results import Hit, ScanReport, Severity, Skip, SkipReason
from .scanner import DEFAULT_MAX_FILE_SIZE, Scanner, ScanOptions
from .signatures import (
    EICAR,
    EICAR_NAME,
    SignatureSet,
    SignatureSourceError,
    UnsupportedReport,
    load_signatures,
    sources_stamp,
)

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "EICAR",
    "EICAR_NAME",
    "QUICK_LOCATIONS",
    "ArchiveLimits",
    "FileClass",
    "Hit",
    "Progress",
    "ProgressCallback",
    "ScanOptions",
    "ScanReport",
    "ScanScope",
    "Scanner",
    "Severity",
    "SignatureSet",
    "SignatureSourceError",
    "Skip",
    "SkipReason",
    "UnsupportedReport",
    "classify",
    "load_signatures",
    "resolve_scope",
    "sources_stamp",
]
