"""Server CPU per agent request of the HTTP path: what a heartbeat costs beside the database.

One `fleetscan server --workers 1` process on a fresh SQLite file; 200 agents enrolled over the protocol, then
heartbeats (cached credential, noted in memory: no database, no thread) sent over `--connections` kept-alive
connections (the fleet benchmark's bare client, bench/wire.py), and refusals (a path nobody serves: the edge's
own 404). The figure is the server process's own CPU time (user + system, from /proc/PID/stat) over the requests.

`--source DIR` (repeatable) runs the server from another checkout's `src` folder too (e.g. one made with
`git archive`), alternating with this one each round, so that the machine's other load falls on both.

Run from the repository root:  .venv/bin/python -m bench.agent_http [--source /tmp/before/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fleetscan.cli.options import open_plane
from tests.support.postgres import free_port

from .http_stack import cpu_seconds
from .wire import Pool

HERE = str(Path(__file__).resolve().parents[1] / "src")


async def drive(url: str, agents: list[str], requests: int, connections: int, path: str, rate: float = 0) -> None:
    """`requests` sent over `connections`, back to back, or `rate` a second in all (as a fleet's agents do)."""
    pool = Pool(url, connections)
    left = requests
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def one_connection(offset: int) -> None:
        nonlocal left
        i = 0
        while left > 0:
            left -= 1
            i += 1
            if rate:
                await asyncio.sleep(max(0.0, started + (i * connections + offset) / rate - loop.time()))
            status, _ = await pool.call("POST", path, agents[(i * connections + offset) % len(agents)])
            if status not in (200, 404):
                raise RuntimeError(f"{path}: {status}")

    try:
        await asyncio.gather(*(one_connection(c) for c in range(connections)))
    finally:
        pool.close()


def measure(source: str, requests: int, connections: int, rate: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        plane = open_plane(folder, None)
        token, _ = plane.create_credential("enroll", "bench", "bench-project", ttl_seconds=600)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": source}
        command = [sys.executable, "-m", "fleetscan", "server", "--data-dir", folder, "--port", str(port)]
        server = subprocess.Popen([*command, "--workers", "1", "--log-level", "warning"], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=url, timeout=10) as client:
                for _ in range(300):
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                agents = []
                for i in range(200):
                    agent = client.post("/agent/v1/enroll", json={"enroll_token": token, "name": f"h{i}"}).json()
                    agents.append(f"Bearer {agent['agent_id']}:{agent['agent_secret']}")
            figures = {}
            for name, path in (("heartbeat", "/agent/v1/heartbeat"), ("refusal", "/agent/v1/nowhere")):
                asyncio.run(drive(url, agents, 2000, connections, path))  # warm up
                before = cpu_seconds(server.pid)
                asyncio.run(drive(url, agents, requests, connections, path, rate))
                figures[name] = (cpu_seconds(server.pid) - before) / requests * 1000
            return figures
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0, help="requests a second (0: as fast as answered)")
    parser.add_argument("--source", action="append", default=[], help="another checkout's src folder")
    args = parser.parse_args()
    sources = [HERE, *args.source]
    pace = f"{args.rate:g} a second" if args.rate else "back to back"
    print(f"server CPU ms per request, {args.requests} requests each over {args.connections} connections, {pace}")
    for round_ in range(args.rounds):
        for source in sources:
            figures = measure(source, args.requests, args.connections, args.rate)
            shown = "  ".join(f"{name} {ms:.3f}" for name, ms in figures.items())
            print(f"round {round_ + 1}  {source:<40}  {shown}", flush=True)


if __name__ == "__main__":
    main()
