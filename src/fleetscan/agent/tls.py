"""How the agent reaches its server: plain HTTP only to a loopback address (or when told), HTTPS only to the one
server identity it pinned at enrollment.

Pinning (Velociraptor pins its CA the same way, kubeadm a discovery hash): the enrollment token carries the SHA-256
of one certificate, the server's own or its CA's (`tls/pins.py`). Python 3.11's ssl cannot return the chain a
server presented, so the agent, once, before it trusts anything:

1. takes the certificates on offer without verifying them: the server's own from an unverified handshake, and its
   chain from `GET /agent/v1/tls-bundle` over that unverified connection (public data, nothing is sent);
2. keeps the one whose SHA-256 is the pin, or refuses (expected and presented fingerprints in the log);
3. makes a verified handshake with that certificate as its only trust anchor (hostname checked too), and only then
   stores it (`state/server-cert.pem`) and sends the token's secret.

From then on every connection verifies against exactly that certificate: a server presenting any other identity
fails the handshake, before a byte of the agent's credential is sent. The pin survives restarts; a new one comes
only with a new state folder (or by removing `server-cert.pem` and enrolling with a pinned token again).
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..tls import pins
from .log import fields

log = logging.getLogger("fleetscan.agent")


class TransportRefused(ValueError):
    """The server URL's scheme or address is one the agent will not talk to; the message is one line."""


class IdentityRefused(Exception):
    """The server did not prove the pinned identity: nothing of the agent's was sent to it."""

    def __init__(self, server: str, expected: str, presented: list[str], why: str) -> None:
        self.server, self.expected, self.presented, self.why = server, expected, presented, why
        shown = ", ".join(presented) or "no certificate"
        super().__init__(f"server identity refused: expected {expected}, {server} presented {shown}: {why}")

    def log(self) -> None:
        log.error(
            "server identity refused",
            extra=fields(server=self.server, expected=self.expected, presented=self.presented, why=self.why),
        )


def is_https(server: str) -> bool:
    return urlsplit(server).scheme == "https"


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(server: str, *, pinned: bool, insecure_http: bool) -> None:
    """Refuse plain HTTP beyond this machine unless `insecure_http`, and a pinned token over plain HTTP."""
    parts = urlsplit(server)
    if parts.scheme == "https":
        return
    if parts.scheme != "http" or not parts.hostname:
        raise TransportRefused(f"--server {server!r}: not an http:// or https:// URL")
    if pinned:
        raise TransportRefused(f"--server {server}: the enrollment token pins a TLS identity, use https://")
    if not (insecure_http or is_loopback(parts.hostname)):
        raise TransportRefused(
            f"--server {server}: plain HTTP only to a loopback address; use https:// with a pinned enrollment token "
            "(fleetscan admin enroll-token --tls-cert), or --insecure-http"
        )


@dataclass(frozen=True)
class ServerTrust:
    """What an HTTPS connection to the server verifies against; for plain HTTP it is not consulted."""

    context: ssl.SSLContext
    pin: str | None
    """The fingerprint of the one trusted certificate; None before pinning."""

    @classmethod
    def pinned(cls, pem: bytes) -> ServerTrust:
        """Only this certificate is an anchor. PARTIAL_CHAIN lets a pinned server certificate (not only a CA) be one."""
        context = ssl.create_default_context(cadata=pem.decode("ascii"))
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return cls(context, pins.fingerprint(pins.certificates(pem)[0]))

    @classmethod
    def nobody(cls) -> ServerTrust:
        """No anchor at all: every handshake fails. An HTTPS agent is in this state until it has pinned."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return cls(context, None)

    @classmethod
    def anybody(cls) -> ServerTrust:
        """No verification: only to read the certificates on offer, before pinning one of them."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return cls(context, None)


def presented_pem(server: str, timeout: float = 5.0) -> bytes:
    """The certificate the server presents in a handshake (unverified), PEM; empty when it cannot be reached."""
    parts = urlsplit(server)
    try:
        return ssl.get_server_certificate((parts.hostname or "", parts.port or 443), timeout=timeout).encode("ascii")
    except (OSError, ValueError):
        return b""


def _fingerprints(pem: bytes) -> list[str]:
    try:
        return list(dict.fromkeys(pins.fingerprint(c) for c in pins.certificates(pem)))
    except ValueError:
        return []


def refusal(server: str, trust: ServerTrust, exc: BaseException) -> IdentityRefused | None:
    """The IdentityRefused behind a failed connection, when a certificate check is what failed."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    why = getattr(cause, "verify_message", "") or str(cause)
    return IdentityRefused(server, trust.pin or "(nothing pinned yet)", _fingerprints(presented_pem(server)), why)


def choose(server: str, pin: str, offered: bytes) -> bytes:
    """The PEM of the offered certificate whose SHA-256 is `pin` (`offered`: the handshake's certificate and the
    server's bundle), or IdentityRefused naming what was offered."""
    try:
        certs = pins.certificates(offered)
    except ValueError:
        certs = []
    for cert in certs:
        if pins.fingerprint(cert) == pin:
            return pins.as_pem([cert])
    raise IdentityRefused(server, pin, _fingerprints(offered), "no certificate the server offers has the token's pin")
