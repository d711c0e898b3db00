"""What the edges count: requests and their latency, by edge and operation.

Recorded once, in the seam every edge's routes go through (`Edge.endpoint`), and by the console's static
files (which have no seam of their own). With several worker processes, `prometheus_client` keeps each
process's values in files of its multiprocess directory and `/metrics` sums them (`server/metrics.py`).

Labels stay few and known: `edge` is one of `EDGES`, `operation` a name the code gives (an Alibaba action,
an HSS API name, an agent route), never a value read from the request, else `UNKNOWN`; `status` is the
HTTP status code answered.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Histogram

__all__ = ["EDGES", "LATENCY_BUCKETS", "REPORT_TRANSACTIONS", "REPORTS_GROUPED", "UNKNOWN", "observe"]

EDGES: Final = ("alibaba", "hss", "agent", "console")
UNKNOWN: Final = "unknown"
"""The operation of a request refused before one was known: no such path, action or method."""

LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds, from a millisecond (a heartbeat) to a minute (a long poll, a large upload)."""

REQUESTS: Final = Counter(
    "fleetscan_requests",
    "Requests answered, by edge, operation and HTTP status.",
    ("edge", "operation", "status"),
)
LATENCY: Final = Histogram(
    "fleetscan_request_duration_seconds",
    "Seconds from a request's arrival to its answer being ready, by edge and operation.",
    ("edge", "operation"),
    buckets=LATENCY_BUCKETS,
)

REPORT_TRANSACTIONS: Final = Counter(
    "fleetscan_report_transactions",
    "Transactions that wrote agents' reports (group commit: api/agent/group_commit.py).",
)
REPORTS_GROUPED: Final = Counter(
    "fleetscan_reports_grouped",
    "Agents' reports written through group commit; divided by the transactions, the mean batch size.",
)

_counters: dict[tuple[str, str, int], Counter] = {}
_timers: dict[tuple[str, str], Histogram] = {}


def observe(edge: str, operation: str, status: int, seconds: float) -> None:
    """Count one answered request. The children are kept, so a request costs two dict lookups, not `.labels()`."""
    counter = _counters.get((edge, operation, status))
    if counter is None:
        counter = _counters[(edge, operation, status)] = REQUESTS.labels(edge, operation, str(status))
    timer = _timers.get((edge, operation))
    if timer is None:
        timer = _timers[(edge, operation)] = LATENCY.labels(edge, operation)
    counter.inc()
    timer.observe(seconds)
