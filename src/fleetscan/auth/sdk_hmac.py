"""SDK-HMAC-SHA256: the signature of the Huawei Cloud SDKs (huaweicloudsdkcore ``signer.Signer``).

Canonical request (``\\n``-joined)::

    METHOD, canonical URI, canonical query, canonical headers (each "name:value\\n"), SignedHeaders, payload hash

* URI: percent-decode the path, split on ``/``, ``pct`` each segment, re-join, and end it with ``/``;
* query: decoded ``(name, value)`` pairs, repeated names kept, sorted, joined as ``pct(name)=pct(value)``;
* payload hash: the empty-string SHA-256 for an empty body, else the ``X-Sdk-Content-Sha256`` header if
  present, else SHA-256 of the body;
* string to sign = ``"SDK-HMAC-SHA256\\n" + X-Sdk-Date + "\\n" + hex(sha256(canonical request))``, signed with
  HMAC-SHA256 keyed by the SK, hex-encoded.

The SDK sorts ``(name, value)`` tuples *before* turning values into text, so an ``int`` array such as
``event_types=[10, 9]`` is sent (and signed) as ``9&10``, not in text order; it also sends that exact
order on the wire. The wire order is therefore tried as well as the text-sorted order; both are built from
the same decoded pairs, so either way the handler sees exactly what was signed.

Header values are signed as UTF-8 bytes and sent as those bytes, so they are compared as the raw bytes
received (the latin-1 encoding of the edge's strings), trimmed of ASCII whitespace only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from fleetscan.auth.acs3 import parse_auth_fields, parse_signed_headers
from fleetscan.auth.encoding import pct_encode, percent_decode, query_pairs
from fleetscan.auth.errors import (
    BODY_HASH_MISMATCH,
    CLAIM_MISMATCH,
    DUPLICATE_HEADER,
    MALFORMED_AUTHORIZATION,
    MALFORMED_PATH,
    MALFORMED_QUERY,
    MISSING_SIGNED_HEADER,
    SIGNATURE_MISMATCH,
    UNSIGNED_BODY,
    MalformedEncodingError,
    SignatureError,
)
from fleetscan.auth.request import EMPTY_SHA256, RequestParts, SignatureClaim, check_window, is_lower_hex, parse_utc

__all__ = ["ALGORITHM", "REQUIRED_SIGNED_HEADERS", "SdkAuthorization", "parse", "verify"]

ALGORITHM: Final = "SDK-HMAC-SHA256"

REQUIRED_SIGNED_HEADERS: frozenset[str] = frozenset({"host", "x-project-id"})
"""``x-project-id`` must be signed (the caller checks it equals the path's project) and so must ``host``
(the SDK always signs it; without it a signature could be replayed against another deployment)."""

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_DATE_RE = re.compile(r"\d{8}T\d{6}Z")
_DATE_FMT = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SdkAuthorization:
    """The parsed ``Authorization`` header, the raw ``X-Sdk-Date`` (signed verbatim) and the claim."""

    claim: SignatureClaim
    signed_headers: tuple[str, ...]
    signature: str
    sdk_date: str


def parse(req: RequestParts, authorization: str) -> SdkAuthorization:
    """Read the claim of a Huawei request (no secret needed). ``authorization`` is the header's value."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != ALGORITHM:
        raise SignatureError(MALFORMED_AUTHORIZATION, f"not an {ALGORITHM} header")
    fields = parse_auth_fields(rest, ("Access", "SignedHeaders", "Signature"))
    signature = fields["Signature"].lower()
    if not is_lower_hex(signature, 64):
        raise SignatureError(MALFORMED_AUTHORIZATION, "Signature must be 64 hex digits")
    sdk_date = req.header("x-sdk-date")
    signed_at = parse_utc(sdk_date, _DATE_RE, _DATE_FMT, "X-Sdk-Date")
    claim = SignatureClaim(scheme=ALGORITHM, access_key_id=fields["Access"], signed_at=signed_at, nonce=None)
    # parse_utc raised if the header was missing, so sdk_date is the exact signed string here.
    return SdkAuthorization(claim, parse_signed_headers(fields["SignedHeaders"]), signature, sdk_date or "")


def canonical_uri(path: str) -> str:
    """Decode the path, re-encode each segment with ``pct``, and make it end with ``/`` (as the SDK does)."""
    try:
        decoded = percent_decode(path, plus_is_space=False)
    except MalformedEncodingError as exc:
        raise SignatureError(MALFORMED_PATH, str(exc)) from exc
    uri = "/".join(pct_encode(segment) for segment in decoded.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_queries(query: str) -> list[str]:
    """The canonical query in text-sorted order, plus the wire order if that differs (see module doc)."""
    try:
        pairs = query_pairs(query)
    except MalformedEncodingError as exc:
        raise SignatureError(MALFORMED_QUERY, str(exc)) from exc

    def join(ordered: list[tuple[str, str]]) -> str:
        return "&".join(f"{pct_encode(name)}={pct_encode(value)}" for name, value in ordered)

    candidates = [join(sorted(pairs))]
    wire = join(pairs)
    if wire != candidates[0]:
        candidates.append(wire)
    return candidates


def _header_bytes(value: str) -> bytes:
    """The received header value as its wire bytes, trimmed like the SDK's ``str.strip()`` of the text."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:  # the edge already decoded it as UTF-8
        raw = value.encode("utf-8")
    return raw.strip(b" \t\r\n\x0b\x0c")


def payload_hash(req: RequestParts, signed: set[str]) -> str:
    """The payload hash the SDK signed, refusing bodies the signature would not actually cover."""
    if not req.body:
        return EMPTY_SHA256
    body_hash = hashlib.sha256(req.body).hexdigest()
    declared = req.header("x-sdk-content-sha256")
    if declared is None:
        return body_hash
    if "x-sdk-content-sha256" not in signed:
        # Otherwise an attacker could add this header to make the verifier use a stale body hash.
        raise SignatureError(MISSING_SIGNED_HEADER, "X-Sdk-Content-Sha256 must be signed")
    declared = declared.strip()
    if declared == UNSIGNED_PAYLOAD:
        raise SignatureError(UNSIGNED_BODY, "UNSIGNED-PAYLOAD bodies are not accepted")
    if not hmac.compare_digest(declared.encode("utf-8"), body_hash.encode()):
        raise SignatureError(BODY_HASH_MISMATCH, "X-Sdk-Content-Sha256 is not the SHA-256 of the body")
    return declared


def verify(
    req: RequestParts, authorization: str, claim: SignatureClaim, secret: str, *, now: datetime, window: timedelta
) -> None:
    """Verify a Huawei request: claim identity, clock window, signed-header policy, payload, then the HMAC."""
    parsed = parse(req, authorization)
    if parsed.claim != claim:
        raise SignatureError(CLAIM_MISMATCH, "the claim is not this request's")
    check_window(claim.signed_at, now, window)
    signed = set(parsed.signed_headers)
    required = REQUIRED_SIGNED_HEADERS | ({"content-type"} if req.body else set())
    missing = required - signed
    if missing:
        raise SignatureError(MISSING_SIGNED_HEADER, f"not signed: {', '.join(sorted(missing))}")
    body_hash = payload_hash(req, signed)

    header_lines = bytearray()
    for name in parsed.signed_headers:
        values = req.header_values(name)
        if not values:
            raise SignatureError(MISSING_SIGNED_HEADER, f"signed header {name!r} is absent")
        if len(values) > 1:
            raise SignatureError(DUPLICATE_HEADER, f"signed header {name!r} is repeated")
        header_lines += name.encode("ascii") + b":" + _header_bytes(values[0]) + b"\n"

    head = f"{req.method}\n{canonical_uri(req.path or '/')}\n".encode()
    tail = f"\n{';'.join(parsed.signed_headers)}\n{body_hash}".encode()
    key = secret.encode("utf-8")
    for query in canonical_queries(req.query):
        canonical_request = head + query.encode("ascii") + b"\n" + bytes(header_lines) + tail
        digest = hashlib.sha256(canonical_request).hexdigest()
        string_to_sign = f"{ALGORITHM}\n{parsed.sdk_date}\n{digest}".encode()
        expected = hmac.new(key, string_to_sign, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected.encode(), parsed.signature.encode()):
            return
    raise SignatureError(SIGNATURE_MISMATCH)
