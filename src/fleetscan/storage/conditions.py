"""WHERE-clause pieces every listing shares, written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from .schema import hosts


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """A substring match, as both consoles filter text; LIKE's own wildcards in `text` match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")  # type: ignore[no-any-return]


def host_conditions(
    *,
    host_id: str | None = None,
    name: str | None = None,
    private_ip: str | None = None,
    public_ip: str | None = None,
) -> list[ColumnElement[bool]]:
    """The host filters of every listing: exact host id, substrings of name and addresses."""
    conds: list[ColumnElement[bool]] = []
    if host_id:
        conds.append(hosts.c.host_id == host_id)
    if name:
        conds.append(contains(hosts.c.name, name))
    if private_ip:
        conds.append(contains(hosts.c.private_ip, private_ip))
    if public_ip:
        conds.append(contains(hosts.c.public_ip, public_ip))
    return conds
