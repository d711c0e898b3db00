"""`--tls-cert` and `--tls-key` for a server command: read and checked once, before anything listens."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..tls import pins


@dataclass(frozen=True)
class ServerTls:
    cert: Path
    key: Path
    bundle: bytes
    """The certificates of `cert` (never a key that shares its file), served on `GET /agent/v1/tls-bundle`."""


def load(cert: Path | None, key: Path | None) -> ServerTls | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise click.UsageError("--tls-cert and --tls-key go together")
    try:
        bundle = pins.as_pem(pins.certificates(cert.read_bytes()))
    except ValueError as exc:
        raise click.BadParameter(f"{cert}: no PEM certificate in it ({exc})", param_hint="--tls-cert") from exc
    return ServerTls(cert, key, bundle)


def tls_options(command: Callable[..., None]) -> Callable[..., None]:
    """Adds the two options and hands the command one `tls: ServerTls | None`."""

    @functools.wraps(command)
    def wrapper(*args: Any, tls_cert: Path | None, tls_key: Path | None, **kwargs: Any) -> None:
        command(*args, tls=load(tls_cert, tls_key), **kwargs)

    path = click.Path(dir_okay=False, exists=True, path_type=Path)
    wrapper = click.option(
        "--tls-key", type=path, default=None, help="The server certificate's private key (PEM)."
    )(wrapper)
    return click.option(
        "--tls-cert",
        type=path,
        default=None,
        help="Serve HTTPS with this certificate (PEM: the server's own first, then its chain up to the CA agents "
        "pin, as `fleetscan admin tls-init` writes it).",
    )(wrapper)
