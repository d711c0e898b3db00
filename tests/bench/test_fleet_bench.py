"""The fleet benchmark at a tiny size: it enrolls, schedules, reports and checks the database, and loses nothing.

No time is asserted: only that the figure lines come out, that every request type was exercised, that nothing
was lost or stored differently from what was sent, and that a lost report is counted as one.
"""

from __future__ import annotations

import re

import pytest
from bench.fleet import KINDS, StepResult, main, steps

LINE = re.compile(
    r"^sqlite +N=20 +scanning 6 +[\d.]+ req/s \| heartbeat p50 +[\d.]+ms p99 +[\d.]+ms \| "
    r"progress p50 +[\d.]+ms p99 +[\d.]+ms \| complete p50 +[\d.]+ms p99 +[\d.]+ms \| lost 0 mismatched 0 \| "
    r"cpu client \d+% \(busiest \d+%\) server \d+% machine \d+% server [\d.]+ ms/req lag p99 \d+ms"
    r" \| idle reach p50 \d+ms max \d+ms \| (held|NOT HELD|client-bound)$"
)


def test_a_tiny_fleet_loses_nothing() -> None:
    lines: list[str] = []
    tiny = ["--backend", "sqlite", "--max-agents", "20", "--step-seconds", "5", "--scanning-share", "0.3"]
    tiny += ["--reach-agents", "3"]
    results = main(
        [*tiny, "--heartbeat-seconds", "2", "--progress-seconds", "1", "--hosts-per-task", "4"], lines.append
    )
    assert lines[0].startswith("# fleetscan fleet benchmark: steps [20], 5 s each, ")
    assert len(results) == 1 and len(lines) == 3, lines
    step = results[0]
    assert LINE.match(lines[1]), lines[1]
    assert re.match(r"^sqlite +largest N held: (20|none) \(of 20 tried at most\)$", lines[2]), lines[2]
    assert (step.lost, step.mismatched, step.errors) == (0, 0, [])
    # 20 agents beat at least twice in 5 s; 6 scanning agents report about 5 times, the last report completing.
    assert all(p50 == p50 for p50 in step.p50.values()), step.p50
    assert step.requests >= 20 * 2 + 6 * 4
    # The reach probe: three idle agents each got the scan started for them, through GET /work.
    assert len(step.reach_ms) == 3


def test_a_lost_report_fails_the_step() -> None:
    nothing = dict.fromkeys(KINDS, 1.0)
    ok = StepResult("sqlite", 100, 25, 60, 500, 0, 0, nothing, nothing, 1, 1, 1, 0, [])
    assert ok.held
    assert not StepResult("sqlite", 100, 25, 60, 500, 1, 0, nothing, nothing, 1, 1, 1, 0, []).held
    assert not StepResult("sqlite", 100, 25, 60, 500, 0, 1, nothing, nothing, 1, 1, 1, 0, []).held
    slow = {**nothing, "complete": 200.5}
    assert not StepResult("sqlite", 100, 25, 60, 500, 0, 0, nothing, slow, 1, 1, 1, 0, []).held
    # A slow step whose client saturated a core says so, rather than blaming the server.
    assert StepResult("sqlite", 100, 25, 60, 500, 0, 0, nothing, slow, 1, 1, 1, 0, []).verdict == "NOT HELD"
    saturated = StepResult("sqlite", 100, 25, 60, 500, 0, 0, nothing, slow, 1, 1, 1, 0, [], client_busiest=0.95)
    assert saturated.verdict == "client-bound"
    late = StepResult("sqlite", 100, 25, 60, 500, 0, 0, nothing, slow, 1, 1, 1, 1500, [])
    assert late.verdict == "NOT HELD"  # late because the server answered late: not the client's doing


@pytest.mark.parametrize(("max_agents", "expected"), [(20, [20]), (100, [100]), (700, [100, 200, 500, 700])])
def test_steps_follow_the_series_up_to_the_limit(max_agents: int, expected: list[int]) -> None:
    assert steps(max_agents) == expected


def test_a_server_of_two_workers_is_measured_with_its_workers() -> None:
    """`--server-workers 2`: the server's CPU is its workers' too (the parent alone serves no request)."""
    lines: list[str] = []
    tiny = ["--backend", "sqlite", "--max-agents", "20", "--step-seconds", "5", "--scanning-share", "0.3"]
    tiny += ["--reach-agents", "2", "--server-workers", "2", "--heartbeat-seconds", "2", "--progress-seconds", "1"]
    [step] = main([*tiny, "--hosts-per-task", "4"], lines.append)
    assert "2 worker(s)" in lines[0] and lines[1].startswith("sqlite/w2  N=20 ")
    assert step.lost == 0 and step.mismatched == 0
    assert step.server_cpu_per_request > 0.1  # the parent process alone would use next to nothing per request
