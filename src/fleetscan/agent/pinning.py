"""Pinning the server's identity at enrollment, before the agent sends anything of its own (agent/tls.py says why
it goes this way: Python 3.11's ssl cannot hand over the chain a server presented)."""

from __future__ import annotations

from collections.abc import Callable

from .client import AgentClient
from .tls import IdentityRefused, ServerTrust, choose, presented_pem


def pin(server: str, expected: str, should_stop: Callable[[], bool]) -> bytes:
    """The PEM of the certificate to trust from now on: offered by the server, its SHA-256 `expected`, and one a
    verified handshake succeeds with as the only anchor. Raises IdentityRefused (logged) otherwise."""
    peek = AgentClient(server, trust=ServerTrust.anybody(), should_stop=should_stop)
    try:
        bundle = peek.tls_bundle(patience=None)  # waits for the server to be up, as enrolling does
    finally:
        peek.close()
    try:
        pem = choose(server, expected, presented_pem(server) + bundle)
    except IdentityRefused as exc:
        exc.log()
        raise
    check = AgentClient(server, trust=ServerTrust.pinned(pem))
    try:
        check.tls_bundle(patience=5)  # the client logs each refusal
    finally:
        check.close()
    return pem
