"""Server CPU per request of the HTTP stack under uvicorn: asyncio + h11 against uvloop + httptools.

One server process (`fleetscan.cli.server.build_app`, as `fleetscan server --workers 1` builds it) on a fresh
SQLite file serves one enrolled agent's heartbeats, sent back to back over one kept-alive connection, and the
`/healthz` probe (no database). The figure is the server process's own CPU time (user + system, from
/proc/PID/stat) over the requests: what the stack costs beside the application's work. Stacks alternate, each
run twice, so the machine's other load falls on both.

Run from the repository root:  .venv/bin/python -m bench.http_stack
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fleetscan.cli.options import open_plane
from tests.support.postgres import free_port

STACKS = (("asyncio", "h11"), ("uvloop", "httptools"))
SERVE = (
    "import sys, uvicorn; from fleetscan.cli.server import ServeSettings, build_app; "
    "uvicorn.run(build_app(ServeSettings(sys.argv[1], None)), host='127.0.0.1', port=int(sys.argv[2]), "
    "loop=sys.argv[3], http=sys.argv[4], log_level='warning', access_log=False)"
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(loop: str, http: str, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        plane = open_plane(folder, None)
        token, _ = plane.create_credential("enroll", "bench", "bench-project", ttl_seconds=600)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVE, folder, str(port), loop, http])
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=url, timeout=10) as client:
                for _ in range(300):
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                agent = client.post("/agent/v1/enroll", json={"enroll_token": token, "name": "h"}).json()
                auth = {"authorization": f"Bearer {agent['agent_id']}:{agent['agent_secret']}"}
                figures = {}
                for name, send in (
                    ("heartbeat", lambda: client.post("/agent/v1/heartbeat", headers=auth, content=b"")),
                    ("healthz", lambda: client.get("/healthz")),
                ):
                    for _ in range(200):  # warm up
                        send().raise_for_status()
                    before = cpu_seconds(server.pid)
                    for _ in range(requests):
                        send().raise_for_status()
                    figures[name] = (cpu_seconds(server.pid) - before) / requests * 1000
                return figures
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"server CPU ms per request, {args.requests} requests each, one kept-alive connection")
    for round_ in range(args.rounds):
        for loop, http in STACKS:
            figures = measure(loop, http, args.requests)
            shown = "  ".join(f"{name} {ms:.3f}" for name, ms in figures.items())
            print(f"round {round_ + 1}  {loop:>7} + {http:<9}  {shown}", flush=True)


if __name__ == "__main__":
    main()
