"""Fleet benchmark: how many agents one `fleetscan server` process serves over the agent protocol.

For N = 100, 200, 500, 1000, 2000, 5000, ... it simulates N agents over HTTP against one server process: every agent
heartbeats every 30 s, and the share of them that has a subtask to run reports progress every 5 s (a detection now
and then) and completes its subtask with its last report of the step. Each agent starts at a random phase, so the
load is smooth, not a burst every 5 s. A step runs for a fixed time; it holds when no request type's p99 latency is
over 200 ms and no report was lost. The benchmark stops at the first step that does not hold and prints the largest
N held, per backend (a fresh SQLite file; a fresh database on a throwaway PostgreSQL cluster).

Lost means: a request not answered 2xx (errors and timeouts included), or a subtask whose files_scanned,
viruses_found or status in the database, read directly after the step, differs from what its agent sent.

What is not measured: enrollment (the real protocol, one enrollment token shared by every agent), task creation
(ControlPlane.create_task on the same database, as the HSS/Sas adapters call it: the SDK round trip is not what
this benchmark is about) and each scanning agent taking its subtask with GET /work before the step starts.
The server is the same process across steps (agents and report history accumulate, as on a real server).

Client and server share the machine: the client's CPU (per process) and the machine's are printed per step, so a
client-bound step can be told from a server-bound one (`--client-processes` spreads the agents over processes, each
on bare keep-alive HTTP: bench/wire.py); a step whose busiest client process saturated its core says `client-bound`.
Server CPU per request is the server processes' own CPU time (/proc) over the requests of the step; `--replicas N`
(PostgreSQL) splits the agents between N server processes on one database and prints each one's requests and CPU;
`--server-workers N` starts each server with `--workers N`, its CPU then being its own and its workers' together.
In the middle of each step, `--reach-agents` idle agents hold a long-poll GET /work and a scan is started for them:
`idle reach` is the time from create_task to their GET returning it. Idle agents other than these are not simulated
holding long-polls (a held request per agent would need a socket each on both sides).

Run from the repository root:  .venv/bin/python -m bench.fleet --backend both
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from fleetscan.core.models import ScanType, Scope
from fleetscan.core.service import ControlPlane
from fleetscan.core.tasks import TaskRequest
from fleetscan.storage.sql import SqlStorage, open_storage

from .wire import Pool, WireError

SERIES = (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
KINDS = ("heartbeat", "progress", "complete")
P99_LIMIT_MS = 200.0
CLIENT_SATURATED = 0.9  # a client process using this much of a core is the bottleneck, not the server
LONG_POLL_SECONDS = 25.0  # how long an idle agent holds GET /work open
AGENT_POLL_SECONDS = 10.0  # the agent's polling interval against a server without long-poll
PREFIX = "/agent/v1"

# ---------------------------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Rhythm:
    """How often simulated agents talk, and for how long a step lasts (seconds)."""

    step_seconds: float
    heartbeat_seconds: float = 30.0
    progress_seconds: float = 5.0
    detection_chance: float = 0.05
    timeout_seconds: float = 30.0
    connections: int = 64  # per client process: agents share keep-alive connections, as behind a proxy


@dataclass(frozen=True)
class AgentPlan:
    """One simulated agent for one step: its credential, and its subtask if it is scanning (picklable)."""

    index: int
    authorization: str
    subtask_id: str | None
    server: int = 0  # which replica this agent talks to (agents are split between them)


@dataclass
class Sent:
    """What a scanning agent told the server in total: the database must end up saying the same."""

    subtask_id: str
    files_scanned: int = 0
    findings: int = 0
    completed: bool = False


@dataclass
class LoadResult:
    """One client process's share of a step."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    lost: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    errors: list[str] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # how late requests left compared with their schedule
    per_server: dict[int, int] = field(default_factory=dict)  # requests sent to each replica
    cpu_seconds: float = 0.0
    busiest: float = 0.0  # the busiest client process's CPU over its load phase, in cores (1.0 = saturated)

    def merge(self, other: LoadResult) -> None:
        for k in KINDS:
            self.latencies[k] += other.latencies[k]
            self.lost[k] += other.lost[k]
        self.errors += other.errors
        self.sent += other.sent
        self.lag_ms += other.lag_ms
        for i, n in other.per_server.items():
            self.per_server[i] = self.per_server.get(i, 0) + n
        self.cpu_seconds += other.cpu_seconds
        self.busiest = max(self.busiest, other.busiest)


def finding(agent: int, n: int) -> dict[str, Any]:
    path = f"/srv/bench/agent-{agent}/infected-{n}.bin"
    return {
        "malware_name": "Eicar-Test-Signature",
        "malware_type": "virus",
        "severity": "High",
        "file_path": path,
        "file_hash": hashlib.sha256(path.encode()).hexdigest(),
        "file_size": 68,
        "file_owner": "root",
        "file_attr": "0644",
        "file_ctime": 1_700_000_000_000,
        "file_mtime": 1_700_000_000_000,
    }


# ---------------------------------------------------------------------------------------------------- the load


async def _agent(
    pools: Sequence[Pool], plan: AgentPlan, rhythm: Rhythm, start: float, rng: random.Random, out: LoadResult
) -> None:
    """Heartbeats at a random phase every heartbeat_seconds; if scanning, reports at its own phase, the last one
    of the step being the completion."""
    loop = asyncio.get_running_loop()
    pool = pools[plan.server]

    async def send(kind: str, at: float, path: str, body: dict[str, Any] | None) -> None:
        delay = start + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        out.lag_ms.append(max(0.0, (loop.time() - start - at) * 1000))
        out.per_server[plan.server] = out.per_server.get(plan.server, 0) + 1
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(rhythm.timeout_seconds):  # not wait_for: that is a task per request
                status, answer = await pool.call("POST", path, plan.authorization, body)
        except (WireError, TimeoutError) as exc:
            out.lost[kind] += 1
            out.errors.append(f"{kind}: {type(exc).__name__} {exc}")
            return
        out.latencies[kind].append((time.perf_counter() - t0) * 1000)
        if not 200 <= status < 300:
            out.lost[kind] += 1
            out.errors.append(f"{kind}: HTTP {status} {answer[:120]!r}")

    async def beats() -> None:
        at = rng.uniform(0, rhythm.heartbeat_seconds)
        while at < rhythm.step_seconds:
            await send("heartbeat", at, f"{PREFIX}/heartbeat", None)
            at += rhythm.heartbeat_seconds

    async def reports(sent: Sent) -> None:
        slots: list[float] = []
        at = rng.uniform(0, min(rhythm.progress_seconds, rhythm.step_seconds))
        while at < rhythm.step_seconds:
            slots.append(at)
            at += rhythm.progress_seconds
        for i, at in enumerate(slots):
            last = i == len(slots) - 1
            new = [finding(plan.index, sent.findings + 1)] if rng.random() < rhythm.detection_chance else []
            files = sent.files_scanned + rng.randint(200, 2000)
            body: dict[str, Any] = {
                "report_id": uuid.uuid4().hex,
                "files_scanned": files,
                "bytes_scanned": files * 40_000,
                "files_total": 10_000_000,
                "progress": 100 if last else min(99, (i + 1) * 100 // len(slots)),
                "checkpoint": f"/srv/bench/agent-{plan.index}/{files}",
                "detections": new,
            }
            if last:
                body["result"] = "success"
            # Counted as sent before the answer: a report the server dropped must show as a mismatch.
            sent.files_scanned, sent.findings = files, sent.findings + len(new)
            sent.completed = sent.completed or last
            kind = "complete" if last else "progress"
            await send(kind, at, f"{PREFIX}/subtasks/{plan.subtask_id}/{kind}", body)

    jobs = [beats()]
    if plan.subtask_id is not None:
        sent = Sent(plan.subtask_id)
        out.sent.append(sent)
        jobs.append(reports(sent))
    await asyncio.gather(*jobs)


async def _load(
    urls: Sequence[str], plans: Sequence[AgentPlan], rhythm: Rhythm, start_wall: float, seed: int
) -> LoadResult:
    out = LoadResult()
    rng = random.Random(seed)
    # Agents share keep-alive connections (as behind a proxy); bench/wire.py keeps the per-request cost low.
    pools = [Pool(url, rhythm.connections) for url in urls]
    loop = asyncio.get_running_loop()
    start = loop.time() + (start_wall - time.time())
    cpu0, wall0 = time.process_time(), loop.time()
    try:
        await asyncio.gather(*(_agent(pools, p, rhythm, start, rng, out) for p in plans))
    finally:
        for pool in pools:
            pool.close()
    out.cpu_seconds = time.process_time() - cpu0
    out.busiest = out.cpu_seconds / max(loop.time() - max(wall0, start), 1e-9)
    return out


def run_load(
    urls: Sequence[str], plans: Sequence[AgentPlan], rhythm: Rhythm, start_wall: float, seed: int
) -> LoadResult:
    """One client process's share of the agents (also the entry point of extra client processes)."""
    return asyncio.run(_load(urls, plans, rhythm, start_wall, seed))


def drive(urls: Sequence[str], plans: Sequence[AgentPlan], rhythm: Rhythm, processes: int, seed: int) -> LoadResult:
    start_wall = time.time() + 0.5 + 0.5 * processes  # room for the client processes to start
    if processes <= 1:
        return run_load(urls, plans, rhythm, start_wall, seed)
    shares = [list(plans[i::processes]) for i in range(processes)]
    total = LoadResult()
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_load, urls, s, rhythm, start_wall + 2, seed + i) for i, s in enumerate(shares)]
        for f in futures:
            total.merge(f.result())
    return total


# ---------------------------------------------------------------------------------------------------- the fleet


@dataclass
class Agent:
    index: int
    agent_id: str
    authorization: str
    host_id: str


class Fleet:
    """The enrolled agents of one server, and the tenant they belong to."""

    def __init__(
        self, urls: Sequence[str], database_url: str, account: str, project_id: str, token: str, seed: int
    ) -> None:
        self.urls = list(urls)
        self.url = self.urls[0]
        self.token = token
        self.agents: list[Agent] = []
        self.storage: SqlStorage = open_storage(database_url, migrate=False)
        self.plane = ControlPlane(self.storage)
        self.scope = Scope(self.storage.ensure_account(account), project_id)
        self.rng = random.Random(seed)

    def close(self) -> None:
        self.storage.dispose()

    async def grow(self, n: int, concurrency: int = 16) -> None:
        """Enroll agents until there are n, through POST /agent/v1/enroll with the one shared token."""
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as client:

            async def one(i: int) -> Agent:
                facts = {"name": f"bench-host-{i:06d}", "private_ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"}
                async with gate:
                    reply = await client.post(f"{PREFIX}/enroll", json={"enroll_token": self.token, **facts})
                reply.raise_for_status()
                body = reply.json()
                return Agent(i, body["agent_id"], f"Bearer {body['agent_id']}:{body['agent_secret']}", body["host_id"])

            self.agents += await asyncio.gather(*(one(i) for i in range(len(self.agents), n)))

    def create_tasks(self, chosen: Sequence[Agent], hosts_per_task: int, step: int) -> set[str]:
        """Scan tasks over the chosen hosts, hosts_per_task per task; returns the new roots' task ids."""
        task_ids = set()
        for i in range(0, len(chosen), hosts_per_task):
            batch = chosen[i : i + hosts_per_task]
            request = TaskRequest(
                f"bench step {step} #{i // hosts_per_task}", ScanType.QUICK, [a.host_id for a in batch]
            )
            task_ids.add(self.plane.create_task(self.scope, request).root.task_id)
        return task_ids

    async def take_work(self, chosen: Sequence[Agent], task_ids: set[str], concurrency: int = 16) -> dict[int, str]:
        """Each chosen agent takes its new subtask with GET /work (pending -> dispatched), as a real agent does."""
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=60) as client:

            async def one(agent: Agent) -> tuple[int, str]:
                url = self.urls[agent.index % len(self.urls)] + f"{PREFIX}/work"
                async with gate:
                    reply = await client.get(url, headers={"Authorization": agent.authorization})
                reply.raise_for_status()
                mine = [w["subtask_id"] for w in reply.json()["subtasks"] if w["task_id"] in task_ids]
                if len(mine) != 1:
                    raise RuntimeError(f"agent {agent.index} got {len(mine)} new subtasks, expected 1")
                return agent.index, mine[0]

            return dict(await asyncio.gather(*(one(a) for a in chosen)))

    def mismatches(self, sent: Sequence[Sent]) -> list[str]:
        """Subtasks whose stored counts or status differ from what their agent sent."""
        out = []
        for s in sent:
            sub = self.storage.get_subtask(s.subtask_id)
            if sub is None:
                out.append(f"{s.subtask_id}: gone")
                continue
            want = (s.files_scanned, s.findings, "succeeded" if s.completed else "running")
            got = (sub.files_scanned, sub.viruses_found, sub.status.value)
            if got != want:
                out.append(f"{s.subtask_id}: sent {want}, stored {got}")
        return out


# ---------------------------------------------------------------------------------------------------- CPU meters


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(pid: int) -> float:
    """CPU seconds of a server: its own process and its worker processes (`--workers N`: the parent's children)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return _proc_cpu(pid) + sum(_proc_cpu(int(child)) for child in children)


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


# ---------------------------------------------------------------------------------------------------- steps


@dataclass
class StepResult:
    backend: str
    agents: int
    scanning: int
    seconds: float
    requests: int
    lost: int
    mismatched: int
    p50: dict[str, float]
    p99: dict[str, float]
    client_cpu: float  # percent of one core, all client processes together
    server_cpu: float  # percent of one core, the server processes together
    machine_cpu: float  # percent of the whole machine
    lag_p99: float
    errors: list[str]
    wall: float = 0.0  # seconds the step's load phase really took (late answers make it longer than planned)
    client_busiest: float = 0.0  # the busiest client process, in cores
    replicas: list[tuple[int, float]] = field(default_factory=list)  # per replica: requests, CPU percent of a core
    reach_ms: list[float] = field(default_factory=list)  # create_task -> the idle agent's GET /work returning it

    @property
    def worst_p99(self) -> float:
        return max((p for p in self.p99.values() if not _isnan(p)), default=0.0)

    @property
    def server_cpu_per_request(self) -> float:
        """The server's CPU milliseconds per request: what decides its ceiling on a machine of its own."""
        return self.server_cpu * self.wall / 100 * 1000 / max(self.requests, 1)

    @property
    def held(self) -> bool:
        return self.lost == 0 and self.mismatched == 0 and self.worst_p99 <= P99_LIMIT_MS

    @property
    def client_bound(self) -> bool:
        """The load generator, not the server, was the limit: a client process saturated its core. (Late requests
        alone say nothing: an agent's next report waits for the answer to its last, so a slow server makes them
        late too.)"""
        return self.client_busiest >= CLIENT_SATURATED

    @property
    def verdict(self) -> str:
        return "held" if self.held else "client-bound" if self.client_bound else "NOT HELD"

    def line(self) -> str:
        kinds = " | ".join(
            f"{k} p50 {self.p50[k]:6.1f}ms p99 {self.p99[k]:6.1f}ms" for k in KINDS if not _isnan(self.p50[k])
        )
        replicas = ""
        if len(self.replicas) > 1:
            replicas = " | replicas " + ", ".join(f"{n} req {cpu:.0f}%" for n, cpu in self.replicas)
        reach = ""
        if self.reach_ms:
            reach = f" | idle reach p50 {_quantile(self.reach_ms, 0.5):.0f}ms max {max(self.reach_ms):.0f}ms"
        return (
            f"{self.backend:<10} N={self.agents:<6} scanning {self.scanning:<5}"
            f" {self.requests / self.seconds:7.1f} req/s"
            f" | {kinds} | lost {self.lost} mismatched {self.mismatched}"
            f" | cpu client {self.client_cpu:.0f}% (busiest {100 * self.client_busiest:.0f}%)"
            f" server {self.server_cpu:.0f}% machine {self.machine_cpu:.0f}%"
            f" server {self.server_cpu_per_request:.2f} ms/req lag p99 {self.lag_p99:.0f}ms{replicas}{reach}"
            f" | {self.verdict}"
        )


def _isnan(x: float) -> bool:
    return x != x


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def steps(max_agents: int, first_agents: int = SERIES[0]) -> list[int]:
    return [n for n in SERIES if first_agents <= n < max_agents] + [max_agents]


async def _prepare(fleet: Fleet, n: int, share: float, hosts_per_task: int) -> tuple[list[AgentPlan], list[Agent]]:
    """The step's plans, and the agents left idle (the reach probe's candidates)."""
    await fleet.grow(n)
    chosen = fleet.rng.sample(fleet.agents, round(n * share))
    task_ids = await asyncio.to_thread(fleet.create_tasks, chosen, hosts_per_task, n)
    subtask_of = await fleet.take_work(chosen, task_ids) if chosen else {}
    servers = len(fleet.urls)
    plans = [AgentPlan(a.index, a.authorization, subtask_of.get(a.index), a.index % servers) for a in fleet.agents]
    return plans, [a for a in fleet.agents if a.index not in subtask_of]


async def _reach(fleet: Fleet, idle: Sequence[Agent], step: int, after: float) -> list[float]:
    """How long a started scan takes to reach idle agents: each holds GET /work (long-poll, `wait`), as the agent
    does; after `after` seconds a task is created for them, and the time from its creation to each agent's GET
    returning it is measured. A server without long-poll answers at once: the probe then polls every
    AGENT_POLL_SECONDS, as the agent falls back to doing."""
    if not idle:
        return []
    pools = [Pool(url, 1) for url in fleet.urls]
    loop = asyncio.get_running_loop()
    created: asyncio.Future[float] = loop.create_future()
    task_ids: set[str] = set()

    async def watch(agent: Agent) -> float:
        pool = pools[agent.index % len(pools)]
        seen = ""  # the digest of the last answer, as the agent sends it: held until the work differs
        while True:
            query = f"wait={LONG_POLL_SECONDS:g}" + (f"&seen={seen}" if seen else "")
            status, raw = await pool.once("GET", f"{PREFIX}/work?{query}", agent.authorization)
            if status != 200:
                raise RuntimeError(f"GET /work: HTTP {status} {raw[:120]!r}")
            body = json.loads(raw)
            if created.done() and any(w["task_id"] in task_ids for w in body["subtasks"]):
                return (loop.time() - created.result()) * 1000
            seen = body.get("digest", "")
            if not body.get("long_poll"):  # a server without long-poll: poll as the agent then does
                await asyncio.sleep(AGENT_POLL_SECONDS)

    watchers = [asyncio.ensure_future(watch(a)) for a in idle]
    await asyncio.sleep(after)
    request = TaskRequest(f"bench step {step} reach", ScanType.QUICK, [a.host_id for a in idle])
    task_ids.add((await asyncio.to_thread(fleet.plane.create_task, fleet.scope, request)).root.task_id)
    created.set_result(loop.time())
    try:
        return list(await asyncio.wait_for(asyncio.gather(*watchers), LONG_POLL_SECONDS + AGENT_POLL_SECONDS + 10))
    finally:
        for w in watchers:
            w.cancel()


def run_step(
    backend: str, fleet: Fleet, server_pids: Sequence[int], n: int, args: argparse.Namespace, rhythm: Rhythm
) -> StepResult:
    plans, idle = asyncio.run(_prepare(fleet, n, args.scanning_share, args.hosts_per_task))
    probe = fleet.rng.sample(idle, min(args.reach_agents, len(idle)))
    cpu0, (busy0, total0), wall0 = [_server_cpu(p) for p in server_pids], _machine_busy(), time.monotonic()
    with ThreadPoolExecutor(1) as side:  # the reach probe runs in the middle of the load
        reach = side.submit(lambda: asyncio.run(_reach(fleet, probe, n, rhythm.step_seconds / 2)))
        result = drive(fleet.urls, plans, rhythm, args.client_processes, seed=n)
        reach_ms = reach.result()
    cpu1, (busy1, total1), wall1 = [_server_cpu(p) for p in server_pids], _machine_busy(), time.monotonic()
    wall = max(wall1 - wall0, 1e-9)
    mismatches = fleet.mismatches(result.sent)
    lat = result.latencies
    used = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    return StepResult(
        backend=backend,
        agents=n,
        scanning=len(result.sent),
        seconds=rhythm.step_seconds,
        requests=sum(len(v) for v in lat.values()) + sum(result.lost.values()),
        lost=sum(result.lost.values()),
        mismatched=len(mismatches),
        p50={k: _quantile(lat[k], 0.50) for k in KINDS},
        p99={k: _quantile(lat[k], 0.99) for k in KINDS},
        client_cpu=100 * result.cpu_seconds / wall,
        server_cpu=100 * sum(used) / wall,
        machine_cpu=100 * (busy1 - busy0) / max(total1 - total0, 1e-9),
        lag_p99=_quantile(result.lag_ms, 0.99) if result.lag_ms else 0.0,
        errors=(result.errors + mismatches)[:5],
        wall=wall,
        client_busiest=result.busiest,
        replicas=[(result.per_server.get(i, 0), 100 * u / wall) for i, u in enumerate(used)],
        reach_ms=reach_ms,
    )


# ---------------------------------------------------------------------------------------------------- backends


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """An empty database: an SQLite file in a temporary folder, or a database on a throwaway PostgreSQL cluster."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="fleetscan-fleet-") as folder:
            yield f"sqlite:///{Path(folder) / 'fleetscan.db'}"
        return
    from tests.support.postgres import PostgresServer

    cluster = PostgresServer()
    cluster.start()
    try:
        yield cluster.new_database()
    finally:
        cluster.stop()


def run_backend(backend: str, args: argparse.Namespace, out: Callable[[str], None]) -> list[StepResult]:
    from tests.support.server import ServerProcess

    rhythm = Rhythm(
        args.step_seconds,
        args.heartbeat_seconds,
        args.progress_seconds,
        args.detection_chance,
        connections=args.connections,
    )
    results: list[StepResult] = []
    label = backend if args.replicas == 1 else f"{backend}x{args.replicas}"
    label += f"/w{args.server_workers}" if args.server_workers > 1 else ""
    with fresh_database(backend) as url:
        servers: list[ServerProcess] = []
        fleet: Fleet | None = None
        try:
            for _ in range(args.replicas):  # replicas of one database, each its own process
                servers.append(ServerProcess(url, workers=args.server_workers).start())
            project_id = uuid.uuid4().hex
            account = "bench-" + uuid.uuid4().hex[:8]
            flags = ["--account", account, "--project-id", project_id]
            servers[0].admin("create-key", *flags)
            token = servers[0].admin("enroll-token", *flags)["enroll_token"]
            fleet = Fleet([s.url for s in servers], url, account, project_id, token, seed=args.seed)
            pids = [s.proc.pid for s in servers if s.proc is not None]
            for n in steps(args.max_agents, args.first_agents):
                step = run_step(label, fleet, pids, n, args, rhythm)
                results.append(step)
                out(step.line())
                if not step.held:
                    for error in step.errors:
                        out(f"#   {error}")
                    if not args.keep_going:
                        break
        finally:
            if fleet is not None:
                fleet.close()
            for server in servers:
                server.stop()
    held = [r.agents for r in results if r.held]
    out(f"{label:<10} largest N held: {max(held) if held else 'none'} (of {args.max_agents} tried at most)")
    return results


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--step-seconds", type=float, default=60.0, help="length of each step's load phase")
    p.add_argument("--max-agents", type=int, default=20_000, help="the last step (the series stops before it)")
    p.add_argument("--first-agents", type=int, default=SERIES[0], help="skip the steps of the series below this")
    p.add_argument("--scanning-share", type=float, default=0.25, help="share of agents with a subtask to run")
    p.add_argument("--hosts-per-task", type=int, default=50, help="hosts per created scan task")
    p.add_argument("--heartbeat-seconds", type=float, default=30.0)
    p.add_argument("--progress-seconds", type=float, default=5.0)
    p.add_argument("--detection-chance", type=float, default=0.05, help="chance a report carries a new finding")
    p.add_argument("--client-processes", type=int, default=2, help="client processes sharing the simulated agents")
    p.add_argument("--replicas", type=int, default=1, help="server processes on the one database, agents split")
    p.add_argument("--server-workers", type=int, default=1, help="worker processes per server (`--workers N`)")
    p.add_argument("--reach-agents", type=int, default=20, help="idle agents the reach probe starts a scan for")
    p.add_argument("--connections", type=int, default=64, help="HTTP connections per client process")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-going", action="store_true", help="run every step, also after one that did not hold")
    args = p.parse_args(argv)
    if not 0 <= args.scanning_share <= 1:
        p.error("--scanning-share must be within 0..1")
    if min(args.max_agents, args.hosts_per_task, args.client_processes, args.replicas, args.server_workers) < 1:
        p.error("--max-agents, --hosts-per-task, --client-processes, --replicas, --server-workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] | None = None) -> list[StepResult]:
    args = parse(argv)
    if args.replicas > 1 and args.backend != "postgresql":
        raise SystemExit("--replicas > 1 needs --backend postgresql: replicas share one PostgreSQL database")
    emit = out or (lambda line: print(line, flush=True))
    emit(
        f"# fleetscan fleet benchmark: steps {steps(args.max_agents, args.first_agents)}, "
        f"{args.step_seconds:g} s each, "
        f"heartbeat every {args.heartbeat_seconds:g} s, progress every {args.progress_seconds:g} s for "
        f"{args.scanning_share:.0%} of agents ({args.hosts_per_task} hosts per task), "
        f"{args.client_processes} client process(es) of {args.connections} connections per replica, "
        f"{args.replicas} server replica(s) of {args.server_workers} worker(s), "
        f"{os.cpu_count()} CPUs shared by client and server; "
        f"a step holds when every request type's p99 <= {P99_LIMIT_MS:g} ms and nothing is lost"
    )
    results: list[StepResult] = []
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        results += run_backend(backend, args, emit)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
