"""`fleetscan admin create-key | create-token | enroll-token | tls-init`: credentials for people, scripts and
agents, and the server's TLS identity."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..core.models import DEFAULT_ENTERPRISE_PROJECT
from ..tls import pins
from ..tls.certs import subject_names, write_lab_pki
from .options import database_options, open_plane


def _emit(as_json: bool, values: dict[str, object]) -> None:
    if as_json:
        click.echo(json.dumps(values))
    else:
        for name, value in values.items():
            click.echo(f"{name}: {value}")


def scope_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(func)
    func = click.option(
        "--enterprise-project-id",
        "enterprise_project_ids",
        multiple=True,
        help="An enterprise project it may see (repeatable); none given: all of the project's.",
    )(func)
    func = click.option("--project-id", required=True, help="The Huawei project_id it is bound to.")(func)
    func = click.option("--account", default="default", show_default=True, help="The account it belongs to.")(func)
    return func


@click.group()
def admin() -> None:
    """Issue access keys, tokens and agent enrollment tokens; make a TLS identity."""


@admin.command("create-key")
@database_options
@scope_options
def create_key(
    data_dir: str,
    database_url: str | None,
    account: str,
    project_id: str,
    enterprise_project_ids: tuple[str, ...],
    as_json: bool,
) -> None:
    """An access key id and secret for either cloud's SDK."""
    key = open_plane(data_dir, database_url).create_access_key(account, project_id, enterprise_project_ids)
    _emit(
        as_json,
        {
            "access_key_id": key.access_key_id,
            "access_key_secret": key.secret,
            "account": account,
            "project_id": project_id,
            "enterprise_project_ids": sorted(enterprise_project_ids),
        },
    )


@admin.command("create-token")
@database_options
@scope_options
@click.option("--ttl", default=86_400, show_default=True, help="Seconds the token stays valid.")
def create_token(
    data_dir: str,
    database_url: str | None,
    account: str,
    project_id: str,
    enterprise_project_ids: tuple[str, ...],
    as_json: bool,
    ttl: int,
) -> None:
    """An X-Auth-Token for the Huawei dialect."""
    value, credential = open_plane(data_dir, database_url).create_credential(
        "auth", account, project_id, enterprise_project_ids, ttl_seconds=ttl
    )
    _emit(as_json, {"token": value, "project_id": project_id, "expires_at": credential.expires_at})


@admin.command("enroll-token")
@database_options
@scope_options
@click.option("--ttl", default=7 * 86_400, show_default=True, help="Seconds the token stays valid.")
@click.option("--group", default=None, help="Host group the enrolled hosts join (created if new).")
@click.option(
    "--host-enterprise-project-id",
    default=DEFAULT_ENTERPRISE_PROJECT,
    show_default=True,
    help="Enterprise project the enrolled hosts belong to.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Pin the server's identity: the SHA-256 of this certificate's first one (the server's certificate, or "
    "the CA's when you pass the CA certificate) goes into the token, and agents refuse any other server.",
)
def enroll_token(
    data_dir: str,
    database_url: str | None,
    account: str,
    project_id: str,
    enterprise_project_ids: tuple[str, ...],
    as_json: bool,
    ttl: int,
    group: str | None,
    host_enterprise_project_id: str,
    tls_cert: Path | None,
) -> None:
    """A token agents enroll with (several agents may share it until it expires)."""
    pin = _pin_of(tls_cert) if tls_cert is not None else None  # a bad file stores no token
    value, credential = open_plane(data_dir, database_url).create_credential(
        "enroll",
        account,
        project_id,
        enterprise_project_ids,
        ttl_seconds=ttl,
        group=group,
        enterprise_project_id=host_enterprise_project_id,
    )
    _emit(
        as_json,
        {
            "enroll_token": value if pin is None else pins.pinned_token(value, pin),
            "project_id": project_id,
            "group_id": credential.group_id,
            "enterprise_project_id": host_enterprise_project_id,
            "expires_at": credential.expires_at,
            "tls_pin": pin,
        },
    )


def _pin_of(path: Path) -> str:
    try:
        return pins.fingerprint(pins.certificates(path.read_bytes())[0])
    except ValueError as exc:
        raise click.BadParameter(f"{path}: no PEM certificate in it ({exc})", param_hint="--tls-cert") from exc


@admin.command("tls-init")
@click.option("--dir", "folder", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--hostname", "hostnames", multiple=True, help="A DNS name agents reach the server by (repeatable).")
@click.option("--ip", "ips", multiple=True, help="An address agents reach the server at (repeatable).")
@click.option(
    "--no-defaults", is_flag=True, help="Leave localhost, 127.0.0.1 and ::1 out of the server certificate."
)
@click.option("--force", is_flag=True, help="Replace existing files (agents pinned to the old ones will refuse).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def tls_init(
    folder: Path, hostnames: tuple[str, ...], ips: tuple[str, ...], no_defaults: bool, force: bool, as_json: bool
) -> None:
    """A private CA and a server certificate it signs: ca.crt, ca.key, server.crt (with the CA), server.key.

    Serve with `fleetscan server --tls-cert DIR/server.crt --tls-key DIR/server.key`; issue tokens with
    `fleetscan admin enroll-token --tls-cert DIR/ca.crt ...`. Keep ca.key offline once the server's certificate
    is made.
    """
    try:
        names, addresses = subject_names(hostnames, ips, defaults=not no_defaults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ip") from exc
    try:
        made = write_lab_pki(folder, names, addresses, force=force)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(
        as_json,
        {
            "ca_cert": str(made.ca_cert),
            "ca_key": str(made.ca_key),
            "server_cert": str(made.server_cert),
            "server_key": str(made.server_key),
            "ca_sha256": made.ca_fingerprint,
            "server_sha256": made.server_fingerprint,
            "subject_alt_names": [*names, *map(str, addresses)],
        },
    )
