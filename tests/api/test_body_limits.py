"""Unauthenticated load: 16 concurrent 20 MB bodies per edge are refused fast, and the server stays small.

Measured before the seam: 16 unsigned `POST /` with a 20 MB Alibaba form body each took 23-26 s to be
refused and pushed the server from ~75 MB to ~990 MB RSS, because the form was parsed on the event loop
before authentication. Now each edge refuses a declared length over its cap before reading a byte (413 in
its own shape), and a chunked body is either refused by the headers first (401) or cut at the cap (413).
The bounds are the issue's own: under a second per request, under 50 MB of server growth. `pytest -s`
prints the figures.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from tests.api.alibaba.helpers import signed
from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant

MB = 1024 * 1024
BODY = b"a=" + b"x" * (20 * MB - 2)
CONCURRENT = 16


@dataclass(frozen=True)
class Case:
    edge: str
    path: str
    headers: dict[str, str]
    code_field: str
    declared: tuple[int, str]  # the answer to a 20 MB body with Content-Length
    chunked: tuple[int, str]  # the answer to a 20 MB chunked body


def _cases(tenant: Tenant) -> list[Case]:
    form = {"content-type": "application/x-www-form-urlencoded"}
    return [
        Case(
            "alibaba",
            "/",
            {**form, "x-acs-action": "ListVirusScanTask", "x-acs-version": "2018-12-03"},
            "Code",
            (413, "RequestEntityTooLarge"),
            (413, "RequestEntityTooLarge"),
        ),
        Case(
            "huawei",
            f"/v5/{tenant.project_id}/antivirus/task",
            {"content-type": "application/json"},
            "error_code",
            (413, "APIGW.0201"),
            (401, "APIGW.0301"),
        ),
        Case(
            "agent",
            "/agent/v1/subtasks/x/progress",
            {"content-type": "application/json", "authorization": "Bearer nobody:nothing"},
            "error",
            (413, "too_large"),
            (401, "unauthorized"),
        ),
    ]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _chunks() -> Iterator[bytes]:
    view = memoryview(BODY)
    for start in range(0, len(BODY), MB):
        yield bytes(view[start : start + MB])


def _send(server: ServerProcess, case: Case, chunked: bool) -> tuple[float, int, str]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        started = time.monotonic()
        reply = http.post(case.path, content=_chunks() if chunked else BODY, headers=case.headers)
        elapsed = time.monotonic() - started
    return elapsed, reply.status_code, str(reply.json()[case.code_field])


def test_oversized_bodies_are_refused_fast_and_small(server: ServerProcess, tenant: Tenant) -> None:
    assert server.proc is not None
    pid = server.proc.pid
    baseline = _rss_mb(pid)
    peak = baseline
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.is_set():
            peak = max(peak, _rss_mb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    health: list[float] = []
    try:
        for case in _cases(tenant):
            for chunked in (False, True):
                with ThreadPoolExecutor(CONCURRENT) as pool:
                    futures = [pool.submit(_send, server, case, chunked) for _ in range(CONCURRENT)]
                    started = time.monotonic()
                    httpx.get(f"{server.url}/healthz", timeout=30).raise_for_status()
                    health.append(time.monotonic() - started)
                    results = [f.result() for f in futures]
                expected = case.chunked if chunked else case.declared
                times = [elapsed for elapsed, _, _ in results]
                kind = "chunked " if chunked else "declared"
                print(
                    f"\n{case.edge:8} {kind}: {CONCURRENT} x 20 MB -> {expected[0]} {expected[1]}; "
                    f"per request max {max(times):.3f} s, median {statistics.median(times):.3f} s"
                )
                assert all((status, code) == expected for _, status, code in results), results
                assert max(times) < 1.0, times
    finally:
        sampling.set()
        sampler.join()
    after = _rss_mb(pid)
    print(
        f"server RSS: before {baseline:.1f} MB, peak {peak:.1f} MB, after {after:.1f} MB; "
        f"/healthz during the bursts: max {max(health):.3f} s"
    )
    assert peak - baseline < 50, (baseline, peak)


def test_the_caps_follow_the_server_flags(database_url: str) -> None:
    """`--max-body-bytes` caps both cloud dialects, `--max-agent-body-bytes` the agent protocol."""
    server = ServerProcess(database_url, "--max-body-bytes", "4096", "--max-agent-body-bytes", "8192").start()
    try:
        tenant = Tenant(server)
        t = tenant
        form = "application/x-www-form-urlencoded"
        small = urlencode({"PageSize": "3"}).encode()
        large = urlencode({"PageSize": "3", "MachineName": "m" * 4096}).encode()
        with httpx.Client() as http:
            ok = http.send(
                signed(server, t.access_key_id, t.secret, "ListVirusScanTask", [], body=small, content_type=form)
            )
            assert ok.status_code == 200, ok.text
            big = http.send(
                signed(server, t.access_key_id, t.secret, "ListVirusScanTask", [], body=large, content_type=form)
            )
            assert (big.status_code, big.json()["Code"]) == (413, "RequestEntityTooLarge")
            assert "4096" in big.json()["Message"]
        agent = ProtocolAgent(server.url, tenant.enroll_token(), "capped")
        reply = agent.heartbeat()
        assert reply.status_code == 200
        report = agent.http.post("/agent/v1/subtasks/x/progress", json={"report_id": "r" * 8, "checkpoint": "c" * 6000})
        assert (report.status_code, report.json()["error"]) == (404, "not_found"), "under the agent cap: read"
        report = agent.http.post("/agent/v1/subtasks/x/progress", json={"report_id": "r" * 8, "checkpoint": "c" * 9000})
        assert (report.status_code, report.json()["error"]) == (413, "too_large")
    finally:
        server.stop()
