"""ACS3-HMAC-SHA256: the signature the Alibaba Cloud SDKs send by default (tea-openapi ``get_authorization``).

Canonical request (``\\n``-joined)::

    method, raw path, canonical query, canonical headers (each "name:value\\n"), SignedHeaders, body SHA-256

* the query is decoded, sorted by name, and re-joined as ``name=pct(value)``; the SDK does *not* encode
  the name, so names that could fake a separator (``&``, ``=``, control characters) are refused here;
* each signed header is ``lower(name):value.strip()``, taken in SignedHeaders order;
* string to sign = ``"ACS3-HMAC-SHA256\\n" + hex(sha256(canonical request))``, signed with HMAC-SHA256
  keyed by the AccessKey secret, hex-encoded.

The SDK builds the query from a dict, so a repeated name never comes from it and is refused rather than
guessed at. The canonical request is built as text and encoded as UTF-8, exactly like the SDK, which
signs its own header strings and then sends them latin-1 encoded; since the edge hands headers over
latin-1-decoded, the strings compared are the SDK's own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from fleetscan.auth.encoding import pct_encode, query_pairs
from fleetscan.auth.errors import (
    BODY_HASH_MISMATCH,
    CLAIM_MISMATCH,
    DUPLICATE_HEADER,
    DUPLICATE_PARAMETER,
    MALFORMED_AUTHORIZATION,
    MALFORMED_QUERY,
    MISSING_SIGNED_HEADER,
    SIGNATURE_MISMATCH,
    MalformedEncodingError,
    SignatureError,
)
from fleetscan.auth.request import RequestParts, SignatureClaim, check_window, is_lower_hex, parse_utc

__all__ = [
    "ALGORITHM",
    "REQUIRED_SIGNED_HEADERS",
    "Acs3Authorization",
    "canonical_query",
    "parse",
    "parse_auth_fields",
    "parse_signed_headers",
    "verify",
]

ALGORITHM: Final = "ACS3-HMAC-SHA256"

REQUIRED_SIGNED_HEADERS: frozenset[str] = frozenset(
    {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
)
"""Headers that must be covered: without them a signature could be replayed against another host,
action, version or body, or its date and nonce (the replay defences) could be swapped."""

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_DATE_FMT = "%Y-%m-%dT%H:%M:%SZ"
_HEADER_NAME_RE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")


@dataclass(frozen=True)
class Acs3Authorization:
    """The parsed ``Authorization`` header plus the claim it yields."""

    claim: SignatureClaim
    signed_headers: tuple[str, ...]
    signature: str


def parse_signed_headers(raw: str) -> tuple[str, ...]:
    """Validate a SignedHeaders list: lower-case header tokens, strictly ascending, no duplicates.

    Both SDKs emit exactly this form; insisting on it means one signature has one reading.
    """
    names = tuple(raw.split(";"))
    if not all(_HEADER_NAME_RE.fullmatch(n) for n in names):
        raise SignatureError(MALFORMED_AUTHORIZATION, f"bad SignedHeaders {raw!r}")
    if any(a >= b for a, b in zip(names, names[1:], strict=False)):
        raise SignatureError(MALFORMED_AUTHORIZATION, "SignedHeaders must be sorted and unique")
    return names


def parse_auth_fields(rest: str, expected: tuple[str, ...]) -> dict[str, str]:
    """Parse ``k=v`` fields separated by commas (optionally followed by spaces), each exactly once."""
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not value or name not in expected or name in fields:
            raise SignatureError(MALFORMED_AUTHORIZATION, f"unexpected Authorization field {part.strip()!r}")
        fields[name] = value
    if set(fields) != set(expected):
        raise SignatureError(MALFORMED_AUTHORIZATION, f"Authorization needs {', '.join(expected)}")
    return fields


def parse(req: RequestParts, authorization: str) -> Acs3Authorization:
    """Read the claim of an ACS3 request (no secret needed). ``authorization`` is the header's value."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != ALGORITHM:
        raise SignatureError(MALFORMED_AUTHORIZATION, f"not an {ALGORITHM} header")
    fields = parse_auth_fields(rest, ("Credential", "SignedHeaders", "Signature"))
    signature = fields["Signature"].lower()
    if not is_lower_hex(signature, 64):
        raise SignatureError(MALFORMED_AUTHORIZATION, "Signature must be 64 hex digits")
    signed_at = parse_utc(req.header("x-acs-date"), _DATE_RE, _DATE_FMT, "x-acs-date")
    nonce = req.header("x-acs-signature-nonce")
    if not nonce:
        raise SignatureError(MISSING_SIGNED_HEADER, "x-acs-signature-nonce is missing")
    claim = SignatureClaim(scheme=ALGORITHM, access_key_id=fields["Credential"], signed_at=signed_at, nonce=nonce)
    return Acs3Authorization(claim, parse_signed_headers(fields["SignedHeaders"]), signature)


def canonical_query(query: str) -> str:
    """Decode the query and rebuild it as the SDK does: sorted by name, ``name=pct(value)``, names raw."""
    try:
        pairs = query_pairs(query)
    except MalformedEncodingError as exc:
        raise SignatureError(MALFORMED_QUERY, str(exc)) from exc
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise SignatureError(DUPLICATE_PARAMETER, f"query parameter {name!r} is repeated")
        seen.add(name)
        if not name or any(c in "&=" or ord(c) < 0x20 or ord(c) == 0x7F for c in name):
            # The name goes into the canonical query unencoded, so these would make it ambiguous.
            raise SignatureError(MALFORMED_QUERY, f"query parameter name {name!r} is not signable")
    return "&".join(f"{name}={pct_encode(value)}" for name, value in sorted(pairs))


def verify(
    req: RequestParts, authorization: str, claim: SignatureClaim, secret: str, *, now: datetime, window: timedelta
) -> None:
    """Verify an ACS3 request: claim identity, clock window, signed-header policy, body hash, then the HMAC.

    The request is re-parsed rather than trusting ``claim``, so a claim from another request cannot be
    paired with this one.
    """
    parsed = parse(req, authorization)
    if parsed.claim != claim:
        raise SignatureError(CLAIM_MISMATCH, "the claim is not this request's")
    check_window(claim.signed_at, now, window)
    signed = set(parsed.signed_headers)
    missing = REQUIRED_SIGNED_HEADERS - signed
    if missing:
        raise SignatureError(MISSING_SIGNED_HEADER, f"not signed: {', '.join(sorted(missing))}")

    body_hash = hashlib.sha256(req.body).hexdigest()
    declared = req.header("x-acs-content-sha256")
    if declared is None:
        raise SignatureError(MISSING_SIGNED_HEADER, "signed header 'x-acs-content-sha256' is absent")
    if not hmac.compare_digest(declared.strip().encode("utf-8"), body_hash.encode()):
        raise SignatureError(BODY_HASH_MISMATCH, "x-acs-content-sha256 is not the SHA-256 of the body")
    if req.body and "content-type" not in signed:
        # The same bytes mean different things as form or JSON; the SDK always signs content-type with a body.
        raise SignatureError(MISSING_SIGNED_HEADER, "content-type must be signed when there is a body")

    lines: list[str] = []
    for name in parsed.signed_headers:
        values = req.header_values(name)
        if not values:
            raise SignatureError(MISSING_SIGNED_HEADER, f"signed header {name!r} is absent")
        if len(values) > 1:
            raise SignatureError(DUPLICATE_HEADER, f"signed header {name!r} is repeated")
        lines.append(f"{name}:{values[0].strip()}\n")

    canonical_request = "\n".join(
        [
            req.method,
            req.path or "/",
            canonical_query(req.query),
            "".join(lines),
            ";".join(parsed.signed_headers),
            body_hash,
        ]
    )
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"
    expected = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), parsed.signature.encode()):
        raise SignatureError(SIGNATURE_MISMATCH)
