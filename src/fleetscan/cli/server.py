"""`fleetscan server` (one replica) and `fleetscan run` (server plus first key, for a person trying it out)."""

from __future__ import annotations

import click
import uvicorn

from ..server.app import create_app
from ..server.sweeper import SweepLimits
from .options import database_options, open_plane


def _serve(
    data_dir: str, database_url: str | None, host: str, port: int, log_level: str, limits: SweepLimits | None = None
) -> None:
    plane = open_plane(data_dir, database_url)
    uvicorn.run(create_app(plane, limits), host=host, port=port, log_level=log_level, access_log=False)


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
def server(
    data_dir: str,
    database_url: str | None,
    host: str,
    port: int,
    log_level: str,
    offline_after: float,
    scan_timeout: float,
    sweep_interval: float,
) -> None:
    """Serve both API dialects and the agent protocol (migrates an empty database first)."""
    _serve(data_dir, database_url, host, port, log_level, SweepLimits(offline_after, scan_timeout, sweep_interval))


@click.command()
@database_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--project-id", default="fleetscan-demo", show_default=True)
def run(data_dir: str, database_url: str | None, host: str, port: int, project_id: str) -> None:
    """Start the server with a ready access key, and print how to call it."""
    plane = open_plane(data_dir, database_url)
    key = plane.create_access_key("default", project_id)
    url = f"http://{host}:{port}"
    click.echo(
        f"""
fleetscan is starting at {url}
  console:           {url}/console
  access key id:     {key.access_key_id}
  access key secret: {key.secret}
  project id:        {project_id}

Alibaba SDK:
  Client(Config(access_key_id='{key.access_key_id}', access_key_secret='{key.secret}',
                endpoint='{host}:{port}', protocol='http')).list_virus_scan_task(ListVirusScanTaskRequest())
Huawei SDK:
  HssClient.new_builder().with_credentials(BasicCredentials('{key.access_key_id}', '<secret>', '{project_id}'))
          .with_endpoints(['{url}']).build()
"""
    )
    _serve(data_dir, database_url, host, port, "warning")
