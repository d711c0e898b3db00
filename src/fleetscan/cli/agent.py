"""`fleetscan agent`: the host agent, as a service would run it."""

from __future__ import annotations

from pathlib import Path

import click

from ..agent.log import setup
from ..agent.runner import Agent, AgentSettings
from ..agent.tls import TransportRefused
from ..tls.pins import BadPin


@click.command()
@click.option(
    "--server",
    required=True,
    envvar="FLEETSCAN_SERVER",
    help="The server's URL: https://scan.example:8443, or http:// to a loopback address.",
)
@click.option(
    "--token",
    envvar="FLEETSCAN_ENROLL_TOKEN",
    default=None,
    help="Enrollment token (needed once); for https://, one that pins the server (enroll-token --tls-cert).",
)
@click.option(
    "--insecure-http",
    is_flag=True,
    envvar="FLEETSCAN_INSECURE_HTTP",
    help="Allow plain HTTP to a server that is not on a loopback address: the agent's secret and its work travel "
    "in the clear.",
)
@click.option(
    "--state-dir",
    required=True,
    envvar="FLEETSCAN_STATE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the agent keeps its credential, checkpoints and unsent reports.",
)
@click.option("--name", default=None, help="Host name to enroll with (default: this host's name).")
@click.option("--public-ip", default="", help="The host's public address, if it has one.")
@click.option("--root", default=None, help="Scan a mounted filesystem as if it were '/' (paths shown as inside it).")
@click.option("--signatures", multiple=True, help="Extra signature files or folders (YARA, ClamAV, hash lists).")
@click.option("--poll-interval", default=10.0, show_default=True, help="Seconds between asking for work when idle.")
@click.option("--report-interval", default=3.0, show_default=True, help="Seconds between progress reports.")
@click.option("--heartbeat-interval", default=30.0, show_default=True)
@click.option("--workers", default=None, type=int, help="Scanning processes (default: the engine's choice).")
@click.option("--max-bytes-per-second", default=None, type=float, help="Cap the scan's reading rate.")
@click.option("--cpu-share", default=None, type=float, help="Cap the scan's CPU use, as a share of the cores (0-1).")
@click.option(
    "--clamd",
    envvar="FLEETSCAN_CLAMD",
    default=None,
    metavar="SOCKET",
    help="clamd's unix socket or host:port, for PE packers, installers and other formats only libclamav opens.",
)
@click.option("--log-level", default="info", show_default=True)
def agent(
    server: str,
    token: str | None,
    insecure_http: bool,
    state_dir: Path,
    name: str | None,
    public_ip: str,
    root: str | None,
    signatures: tuple[str, ...],
    poll_interval: float,
    report_interval: float,
    heartbeat_interval: float,
    workers: int | None,
    max_bytes_per_second: float | None,
    cpu_share: float | None,
    clamd: str | None,
    log_level: str,
) -> None:
    """Enroll this host (once), then take its scan subtasks, scan, and report until stopped."""
    setup(log_level)
    if clamd is not None:
        from ..engine.clamd import parse_address

        try:
            parse_address(clamd)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--clamd") from exc
    settings = AgentSettings(
        server=server,
        state_dir=state_dir,
        token=token,
        name=name,
        public_ip=public_ip,
        root=root,
        signatures=list(signatures),
        poll_interval=poll_interval,
        report_interval=report_interval,
        heartbeat_interval=heartbeat_interval,
        workers=workers,
        bytes_per_second=max_bytes_per_second,
        cpu_share=cpu_share,
        clamd=clamd,
        insecure_http=insecure_http,
    )
    try:
        runner = Agent(settings)
    except (TransportRefused, BadPin) as exc:
        raise click.ClickException(str(exc)) from exc
    runner.install_signal_handlers()
    runner.run()
