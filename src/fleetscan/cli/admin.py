"""`fleetscan admin create-key | create-token | enroll-token`: credentials for people, scripts and agents."""

from __future__ import annotations

import json

import click

from ..core.models import DEFAULT_ENTERPRISE_PROJECT
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
    """Issue access keys, tokens and agent enrollment tokens."""


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
) -> None:
    """A token agents enroll with (several agents may share it until it expires)."""
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
            "enroll_token": value,
            "project_id": project_id,
            "group_id": credential.group_id,
            "enterprise_project_id": host_enterprise_project_id,
            "expires_at": credential.expires_at,
        },
    )
