"""`fleetscan server` (one replica) and `fleetscan run` (server plus first key, for a person trying it out)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
import uvicorn
from starlette.applications import Starlette

from ..api.edge import DEFAULT_AGENT_BODY_BYTES, DEFAULT_CLOUD_BODY_BYTES, DEFAULT_SIGNATURE_BODY_BYTES, BodyLimits
from ..server.app import create_app
from ..server.http_protocol import OneWriteProtocol
from ..server.leader import Leader
from ..server.metrics import MetricsAccess
from ..server.sweeper import SweepLimits
from .options import database_options, migrate_database, open_plane
from .tls import ServerTls, tls_options
from .workers import RunFolder, die_with_parent, supervise


@dataclass(frozen=True)
class ServeSettings:
    """What a server process needs to build its app: handed whole (pickled) to each worker."""

    data_dir: str
    database_url: str | None
    limits: SweepLimits | None = None
    schedule_interval: float = 5.0
    body_limits: BodyLimits | None = None
    metrics_token: str | None = None
    leader_lock: str | None = None
    """The workers' shared lock (server/leader.py); None: this process is the only one."""
    parent_pid: int | None = None
    """A worker's parent: the worker dies with it. None: no parent to follow, and this process migrates."""
    tls: ServerTls | None = None
    """HTTPS: the certificate and key uvicorn serves, and the bundle agents pin from."""


def build_app(settings: ServeSettings) -> Starlette:
    """The app of one server process (the only one, or one worker: then its parent migrated the database)."""
    if settings.parent_pid is not None:
        die_with_parent(settings.parent_pid)
    plane = open_plane(settings.data_dir, settings.database_url, migrate=settings.parent_pid is None, serving=True)
    limits = settings.limits
    if limits is not None:  # an agent past the offline limit must not still show online
        plane.online_window_ms = min(plane.online_window_ms, int(limits.offline_after_s * 1000))
    return create_app(
        plane,
        limits,
        settings.schedule_interval,
        settings.body_limits,
        settings.tls.bundle if settings.tls else None,
        leader=Leader(settings.leader_lock),
        metrics_access=MetricsAccess(settings.metrics_token),
    )


def _serve(settings: ServeSettings, host: str, port: int, log_level: str, workers: int = 1) -> None:
    """One process, or `workers` of them on one socket (cli/workers.py). uvicorn on uvloop with httptools: they
    halve what the HTTP stack costs per request (`bench/http_stack.py`); each answer in one write
    (`server/http_protocol.py`)."""
    tls = settings.tls
    served: dict[str, Any] = {  # the same for one process and for several
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "loop": "uvloop",
        "http": OneWriteProtocol,
        "ssl_certfile": str(tls.cert) if tls else None,
        "ssl_keyfile": str(tls.key) if tls else None,
    }
    if workers == 1:
        uvicorn.run(build_app(settings), **served)
        return
    migrate_database(settings.data_dir, settings.database_url)  # once, before any worker opens the database
    folder = RunFolder()
    try:
        one = replace(settings, leader_lock=folder.leader_lock, parent_pid=os.getpid())
        supervise(uvicorn.Config(partial(build_app, one), factory=True, workers=workers, **served), folder)
    finally:
        folder.remove()


def body_limit_options(command: Callable[..., None]) -> Callable[..., None]:
    """`--max-body-bytes`, `--max-agent-body-bytes` and `--max-signature-body-bytes`: a larger body is refused
    (413) before it is read."""
    command = click.option(
        "--max-signature-body-bytes",
        default=DEFAULT_SIGNATURE_BODY_BYTES,
        show_default=True,
        type=click.IntRange(min=1024),
        help="Largest signature upload the console's route (/v5/{project_id}/fleetscan/signature-sets) accepts.",
    )(command)
    command = click.option(
        "--max-agent-body-bytes",
        default=DEFAULT_AGENT_BODY_BYTES,
        show_default=True,
        type=click.IntRange(min=1024),
        help="Largest request body the agent protocol accepts (agent reports).",
    )(command)
    return click.option(
        "--max-body-bytes",
        default=DEFAULT_CLOUD_BODY_BYTES,
        show_default=True,
        type=click.IntRange(min=1024),
        help="Largest request body the Alibaba and HSS dialects accept.",
    )(command)


@click.command()
@database_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--offline-after", default=300.0, show_default=True, help="Seconds of agent silence before its scans fail."
)
@click.option(
    "--scan-timeout", default=86_400.0, show_default=True, help="Seconds a host's scan may run before it times out."
)
@click.option("--sweep-interval", default=15.0, show_default=True, help="Seconds between checks for the two above.")
@click.option(
    "--schedule-interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between looks for due scheduled scans (HSS policies, Alibaba cycle tasks).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes serving the one socket.  [default: one per core]",
)
@click.option(
    "--metrics-token",
    envvar="FLEETSCAN_METRICS_TOKEN",
    default=None,
    help="Serve /metrics to whoever sends `Authorization: Bearer TOKEN`. Without it, to loopback clients only.",
)
@body_limit_options
@tls_options
def server(
    data_dir: str,
    database_url: str | None,
    host: str,
    port: int,
    log_level: str,
    offline_after: float,
    scan_timeout: float,
    sweep_interval: float,
    schedule_interval: float,
    workers: int | None,
    metrics_token: str | None,
    max_body_bytes: int,
    max_agent_body_bytes: int,
    max_signature_body_bytes: int,
    tls: ServerTls | None,
) -> None:
    """Serve both API dialects and the agent protocol (migrates an empty database first).

    Over HTTPS with `--tls-cert` and `--tls-key` (`fleetscan admin tls-init` makes a pair for a first deployment).
    """
    settings = ServeSettings(
        data_dir,
        database_url,
        SweepLimits(offline_after, scan_timeout, sweep_interval),
        schedule_interval,
        BodyLimits(max_body_bytes, max_agent_body_bytes, max_signature_body_bytes),
        metrics_token or None,
        tls=tls,
    )
    _serve(settings, host, port, log_level, workers or os.cpu_count() or 1)


@click.command()
@database_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--project-id", default="fleetscan-demo", show_default=True)
@click.option("--agent/--no-agent", "with_agent", default=True, show_default=True, help="Also run an agent here.")
@body_limit_options
def run(
    data_dir: str,
    database_url: str | None,
    host: str,
    port: int,
    project_id: str,
    with_agent: bool,
    max_body_bytes: int,
    max_agent_body_bytes: int,
    max_signature_body_bytes: int,
) -> None:
    """The server, a ready access key and a local agent for this machine: everything to try fleetscan."""
    plane = open_plane(data_dir, database_url)
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "run.json"
    if saved.exists():  # the same key across restarts, so scripts written against it keep working
        demo = json.loads(saved.read_text())
    else:
        key = plane.create_access_key("default", project_id)
        demo = {"access_key_id": key.access_key_id, "access_key_secret": key.secret, "project_id": project_id}
        saved.write_text(json.dumps(demo))
        saved.chmod(0o600)
    url = f"http://{host}:{port}"
    console_token, _ = plane.create_credential("auth", "default", demo["project_id"], ttl_seconds=86_400)
    console = f"{url}/console/#" + urlencode({"project": demo["project_id"], "token": console_token})
    agent: subprocess.Popen[bytes] | None = None
    if with_agent:
        token, _ = plane.create_credential("enroll", "default", demo["project_id"], ttl_seconds=3600)
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleetscan",
                "agent",
                "--server",
                url,
                "--token",
                token,
                "--state-dir",
                str(folder / "agent"),
                "--poll-interval",  # a person trying it out should not wait for their first scan
                "2",
                "--log-level",
                "warning",
                "--insecure-http",  # the agent is on this machine: its traffic never leaves it
            ]
        )
    click.echo(RUN_BANNER.format(url=url, endpoint=f"{host}:{port}", data_dir=data_dir, console=console, **demo))

    def stop_agent(*_: object) -> None:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            agent.wait(timeout=30)

    def stop_all(*_: object) -> None:
        stop_agent()
        sys.exit(0)

    # uvicorn re-raises SIGTERM/SIGINT once it has shut down: these handlers then take the agent down with us.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_all)
    try:
        caps = BodyLimits(max_body_bytes, max_agent_body_bytes, max_signature_body_bytes)
        _serve(ServeSettings(data_dir, database_url, body_limits=caps), host, port, "warning")
    finally:
        stop_agent()


RUN_BANNER = """
fleetscan is running at {url}  (data in {data_dir}; a local agent enrolls this machine)
  console:           {console}  (signs in with a fresh 24h token)
  access key id:     {access_key_id}
  access key secret: {access_key_secret}
  project id:        {project_id}

Start a first scan from the CLI (in another shell):
  .venv/bin/fleetscan task start --data-dir {data_dir} --project-id {project_id} --all-hosts --scan-type quick
  .venv/bin/fleetscan task list  --data-dir {data_dir} --project-id {project_id}

With the Alibaba SDK (pip install alibabacloud-sas20181203):
  from alibabacloud_tea_openapi.models import Config
  from alibabacloud_sas20181203.client import Client
  from alibabacloud_sas20181203 import models as sas
  c = Client(Config(access_key_id="{access_key_id}", access_key_secret="{access_key_secret}",
                    endpoint="{endpoint}", protocol="http"))
  c.create_virus_scan_once_task(sas.CreateVirusScanOnceTaskRequest(scan_type="user", scan_path=["/tmp"]))
  print(c.list_virus_scan_task(sas.ListVirusScanTaskRequest(root_task=True)).body)

With the Huawei SDK (pip install huaweicloudsdkhss):
  from huaweicloudsdkcore.auth.credentials import BasicCredentials
  from huaweicloudsdkhss.v5 import *
  c = (HssClient.new_builder().with_endpoints(["{url}"])
       .with_credentials(BasicCredentials("{access_key_id}", "{access_key_secret}", "{project_id}")).build())
  hosts = c.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=10)).data_list
  c.create_anti_virus_task(CreateAntiVirusTaskRequest(body=CreateAntiVirusTaskRequestInfo(
      task_name="first", scan_type="quick", action="manual", host_ids=[h.host_id for h in hosts])))
  print(c.list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False)))
"""
