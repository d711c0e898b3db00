"""What each fuzzed request is checked for, and the session's counts per backend.

Per request: no 5xx (and an answer at all); the edge's own shape (HSS `{error_code, error_msg}` with an
`X-Request-Id` header on every answer, Alibaba `{RequestId, Code, Message}`, agent `{error, message}`);
and a request the server did not accept (any status outside 2xx) leaves the database as it found it.
Failures are kept distinct by (operation, field, mutation, problem, status), so the summary is a list of
causes rather than a flood of repeats.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from .mutations import Field, Mutation

FIVE_XX, NO_ANSWER, SHAPE, STATE = "5xx", "no answer", "wrong error shape", "refused but changed state"
STORED = "accepted, and a later read answered 5xx"
REPORT_ENV = "FLEETSCAN_FUZZ_REPORT"  # a path: every distinct failure as JSON lines, for a run by hand


@dataclass(frozen=True)
class Failure:
    backend: str
    op: str
    field: str
    mutation: str
    problem: str
    status: int
    excerpt: str

    def line(self) -> str:
        return f"{self.op} | {self.field} | {self.mutation} -> {self.status} {self.problem}: {self.excerpt}"


def field_label(target: Field) -> str:
    where, rest = target[0], target[1:]
    text = str(where)
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def shape_problem(edge: str, reply: httpx.Response) -> str | None:
    """Why the answer is not in the edge's own shape, or None."""
    if edge == "hss" and not reply.headers.get("x-request-id"):
        return "no X-Request-Id header"
    try:
        body: Any = reply.json()
    except ValueError:
        return f"not JSON ({reply.headers.get('content-type', 'no content type')})"
    if not isinstance(body, dict):
        return "not a JSON object"
    if reply.is_success:
        return "no RequestId" if edge == "alibaba" and not isinstance(body.get("RequestId"), str) else None
    wanted = {
        "hss": ("error_code", "error_msg"),
        "alibaba": ("RequestId", "Code", "Message"),
        "agent": ("error", "message"),
    }
    missing = [k for k in wanted[edge] if not isinstance(body.get(k), str)]
    return f"missing {', '.join(missing)}" if missing else None


@dataclass
class Counts:
    backend: str
    sent: int = 0
    five_xx: int = 0
    bad_shape: int = 0
    state_changed: int = 0
    stored: int = 0  # of five_xx: reads that failed on what an accepted write had stored
    failures: dict[tuple[str, ...], Failure] = field(default_factory=dict)

    def record(self, op: str, target: Field, mutation: Mutation, problem: str, status: int, excerpt: str) -> Failure:
        failure = Failure(self.backend, op, field_label(target), mutation.label, problem, status, excerpt[:200])
        self.failures.setdefault((op, failure.field, failure.mutation, problem, str(status)), failure)
        return failure


class Tally:
    """The session's counts, read by the terminal summary."""

    def __init__(self) -> None:
        self.backends: dict[str, Counts] = {}

    def of(self, backend: str) -> Counts:
        return self.backends.setdefault(backend, Counts(backend))

    def summary(self) -> Iterator[str]:
        for counts in self.backends.values():
            yield (
                f"reliability fuzz [{counts.backend}]: {counts.sent} requests sent, {counts.five_xx} answered 5xx "
                f"or not at all ({counts.stored} of them later reads of what an accepted write stored), "
                f"{counts.bad_shape} in a wrong error shape, {counts.state_changed} refused requests changed state "
                f"({len(counts.failures)} distinct failures)"
            )
        path = os.environ.get(REPORT_ENV)
        if path:
            with open(path, "w", encoding="utf-8") as out:
                for counts in self.backends.values():
                    for failure in counts.failures.values():
                        out.write(json.dumps(asdict(failure), ensure_ascii=False) + "\n")
            yield f"reliability fuzz: distinct failures written to {path}"


TALLY = Tally()
