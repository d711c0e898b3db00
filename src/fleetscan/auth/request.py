"""The data the verifiers work on, and small helpers shared by the three schemes.

The verifiers are pure functions of :class:`RequestParts` (exactly what arrived on the wire) so they can be
tested against captured SDK traffic byte for byte, and so the HTTP framework, the database (keys, nonces)
and the clock stay the caller's business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from fleetscan.auth.errors import DUPLICATE_HEADER, EXPIRED, MALFORMED_DATE, SignatureError

Scheme = Literal["ACS3-HMAC-SHA256", "ACS-HMAC-SHA1", "SDK-HMAC-SHA256"]

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class RequestParts:
    """What the HTTP edge hands over, exactly as received.

    ``path`` is the raw path without the query, still percent-encoded; ``query`` the raw query string
    (may be ""). ``headers`` keep their original case and repetitions; their values are ``str`` decoded
    from the wire bytes as latin-1 (the ASGI/Starlette convention, which is lossless), so a verifier can
    recover the exact bytes where a scheme signs them.
    """

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        """All values of header ``name`` (case-insensitive), in arrival order."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def header(self, name: str) -> str | None:
        """The single value of header ``name``, ``None`` if absent.

        Raises ``duplicate_header`` when it is repeated: for a signed header two values would let the
        verifier and the handler read different ones.
        """
        values = self.header_values(name)
        if not values:
            return None
        if len(values) > 1:
            raise SignatureError(DUPLICATE_HEADER, f"header {name!r} occurs {len(values)} times")
        return values[0]


@dataclass(frozen=True)
class SignatureClaim:
    """Who the request says it is from; parsed without any secret.

    The caller uses ``access_key_id`` to look up the secret and ``nonce`` (Alibaba only) for its replay
    store, then calls :func:`fleetscan.auth.verify`. ``signed_at`` is an aware UTC datetime.
    """

    scheme: Scheme
    access_key_id: str
    signed_at: datetime
    nonce: str | None


def parse_utc(value: str | None, pattern: re.Pattern[str], fmt: str, what: str) -> datetime:
    """Parse a signing time in the scheme's one exact format into an aware UTC datetime.

    The regex comes first because ``strptime`` is lenient (single-digit fields, surrounding spaces), and a
    lenient parse would let several spellings of one time pass; these strings are signed verbatim.
    """
    if value is None:
        raise SignatureError(MALFORMED_DATE, f"{what} is missing")
    if not pattern.fullmatch(value):
        raise SignatureError(MALFORMED_DATE, f"{what} {value!r} is not in the format {fmt}")
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=UTC)
    except ValueError as exc:
        raise SignatureError(MALFORMED_DATE, f"{what} {value!r}: {exc}") from exc


def check_window(signed_at: datetime, now: datetime, window: timedelta) -> None:
    """Refuse a signing time more than ``window`` away from ``now``, in the past or the future.

    Both directions matter: a far-future date would otherwise outlive the nonce store's retention.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    skew = abs(now - signed_at)
    if skew > window:
        raise SignatureError(EXPIRED, f"signed at {signed_at.isoformat()}, {skew} away from now")


def header_for_canonical(value: str) -> str:
    """Normalise a header value the way both SDKs do before signing: ``str.strip()``."""
    return value.strip()


def is_lower_hex(value: str, length: int) -> bool:
    """Whether ``value`` is exactly ``length`` lower-case hex digits (the SDKs' ``hexdigest`` output)."""
    return len(value) == length and all(c in "0123456789abcdef" for c in value)
