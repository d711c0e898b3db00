"""SHA-256 pins: a certificate's fingerprint, a pinned enrollment token, and the certificates of a PEM bundle.

A pin is the SHA-256 of one certificate's DER bytes, written `sha256:<64 lowercase hex>` (kubeadm's discovery
hash is the same idea over a public key; a whole certificate is what `openssl x509 -fingerprint -sha256` shows, so an
operator can check it by hand). A pinned enrollment token is the server's token, `@`, and the pin:
`<token>@sha256:<hex>`. The server never sees the pin: the agent sends the part before the `@`.
"""

from __future__ import annotations

import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

PREFIX = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")


class BadPin(ValueError):
    """A token's pin is not `sha256:` and 64 lowercase hex digits."""


def fingerprint(cert: x509.Certificate) -> str:
    """`sha256:<hex>` of the certificate's DER encoding."""
    return PREFIX + hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM text, in order; anything else in it (a private key too) is left out.

    Raises ValueError when it holds no certificate.
    """
    return x509.load_pem_x509_certificates(pem)


def as_pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def pinned_token(token: str, pin: str) -> str:
    return f"{token}@{check_pin(pin)}"


def split_token(value: str) -> tuple[str, str | None]:
    """(the token the server knows, the pin or None). Raises BadPin for a malformed pin."""
    token, at, pin = value.partition("@")
    return (token, check_pin(pin)) if at else (token, None)


def check_pin(pin: str) -> str:
    if not (pin.startswith(PREFIX) and _HEX.fullmatch(pin[len(PREFIX) :])):
        raise BadPin(f"a pin is {PREFIX}<64 lowercase hex digits>, not {pin[:80]!r}")
    return pin
