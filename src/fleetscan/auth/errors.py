"""The one exception the verifiers raise, plus the encoding error they translate into it.

A single exception class keeps the HTTP edge simple: it catches ``SignatureError`` and maps ``reason``
to the dialect's error body through a table. ``reason`` is a :class:`Reason`, a stable token, so the
edge and the tests never parse free text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Reason(StrEnum):
    """Why a request is not authenticated: a stable token each edge maps through its own table.

    The verifiers raise the first group; the edge (`api/security.py`) adds the ones only it can
    know, needing keys, nonces or tokens. Values are plain strings, so logs and old comparisons
    read the same.
    """

    MALFORMED_AUTHORIZATION = "malformed_authorization"
    """The Authorization header (or, for V1, the common signature parameters) cannot be parsed."""
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    """A signature scheme, method or version the server does not implement (e.g. ACS3-HMAC-SM3)."""
    SIGNATURE_MISMATCH = "signature_mismatch"
    """The recomputed signature differs from the one sent."""
    EXPIRED = "expired"
    """The signing time is outside +-window of the server clock (in either direction)."""
    MALFORMED_DATE = "malformed_date"
    """The signing time header/parameter is missing or not in the scheme's exact format."""
    BODY_HASH_MISMATCH = "body_hash_mismatch"
    """The declared body hash (x-acs-content-sha256 / X-Sdk-Content-Sha256) is not the body's real hash."""
    UNSIGNED_BODY = "unsigned_body"
    """A non-empty body the signature does not cover (Huawei UNSIGNED-PAYLOAD, V1 non-form body)."""
    UNSIGNED_PATH = "unsigned_path"
    """V1 signatures do not cover the path, so only the RPC path "/" is accepted."""
    MISSING_SIGNED_HEADER = "missing_signed_header"
    """A header that must be signed is not in SignedHeaders, or a signed header is absent from the request."""
    DUPLICATE_HEADER = "duplicate_header"
    """A signed header (or Authorization) occurs more than once, which would make its value ambiguous."""
    DUPLICATE_PARAMETER = "duplicate_parameter"
    """A parameter occurs twice where the scheme signs a map (ACS3 query, V1 query + form body)."""
    MALFORMED_QUERY = "malformed_query"
    """Bad percent-encoding, invalid UTF-8, or a parameter name that would make the canonical form ambiguous."""
    MALFORMED_PATH = "malformed_path"
    """Bad percent-encoding or invalid UTF-8 in the path (Huawei canonicalises the decoded path)."""
    HEADER_PARAM_MISMATCH = "header_param_mismatch"
    """V1: the unsigned x-acs-action / x-acs-version headers disagree with the signed Action / Version."""
    CLAIM_MISMATCH = "claim_mismatch"
    """The claim passed to verify() is not the one this request carries."""
    # ---- known only to the edge
    UNSIGNED = "unsigned"
    """No signature and no token at all."""
    UNKNOWN_ACCESS_KEY = "unknown_access_key"
    """The signature names an access key id that does not exist."""
    REPLAYED_NONCE = "replayed_nonce"
    """The signature nonce was spent already (by this replica or another)."""
    UNKNOWN_TOKEN = "unknown_or_expired_token"
    """An X-Auth-Token that is unknown or past its expiry."""


MALFORMED_AUTHORIZATION: Final = Reason.MALFORMED_AUTHORIZATION
UNSUPPORTED_ALGORITHM: Final = Reason.UNSUPPORTED_ALGORITHM
SIGNATURE_MISMATCH: Final = Reason.SIGNATURE_MISMATCH
EXPIRED: Final = Reason.EXPIRED
MALFORMED_DATE: Final = Reason.MALFORMED_DATE
BODY_HASH_MISMATCH: Final = Reason.BODY_HASH_MISMATCH
UNSIGNED_BODY: Final = Reason.UNSIGNED_BODY
UNSIGNED_PATH: Final = Reason.UNSIGNED_PATH
MISSING_SIGNED_HEADER: Final = Reason.MISSING_SIGNED_HEADER
DUPLICATE_HEADER: Final = Reason.DUPLICATE_HEADER
DUPLICATE_PARAMETER: Final = Reason.DUPLICATE_PARAMETER
MALFORMED_QUERY: Final = Reason.MALFORMED_QUERY
MALFORMED_PATH: Final = Reason.MALFORMED_PATH
HEADER_PARAM_MISMATCH: Final = Reason.HEADER_PARAM_MISMATCH
CLAIM_MISMATCH: Final = Reason.CLAIM_MISMATCH


class SignatureError(Exception):
    """Raised when a request's signature cannot be read or does not authenticate the request.

    ``reason`` is a :class:`Reason`; ``detail`` is human-readable context for logs
    only (never echo it to the client: it may help an attacker tune a forgery).
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class MalformedEncodingError(ValueError):
    """Raised by the percent-decoding helpers on input no conforming client would send.

    Decoding is strict (no silent U+FFFD replacement) because two different wire strings that decode to
    the same text would both verify against one signature.
    """
