"""The one exception the verifiers raise, plus the encoding error they translate into it.

A single exception class keeps the HTTP edge simple: it catches ``SignatureError`` and maps ``reason``
to the dialect's error body. ``reason`` is a stable, machine-readable token (the constants below), so
the edge and the tests never parse free text.
"""

from __future__ import annotations

from typing import Final

MALFORMED_AUTHORIZATION: Final = "malformed_authorization"
"""The Authorization header (or, for V1, the common signature parameters) cannot be parsed."""
UNSUPPORTED_ALGORITHM: Final = "unsupported_algorithm"
"""A signature scheme, method or version the server does not implement (e.g. ACS3-HMAC-SM3)."""
SIGNATURE_MISMATCH: Final = "signature_mismatch"
"""The recomputed signature differs from the one sent."""
EXPIRED: Final = "expired"
"""The signing time is outside +-window of the server clock (in either direction)."""
MALFORMED_DATE: Final = "malformed_date"
"""The signing time header/parameter is missing or not in the scheme's exact format."""
BODY_HASH_MISMATCH: Final = "body_hash_mismatch"
"""The declared body hash (x-acs-content-sha256 / X-Sdk-Content-Sha256) is not the body's real hash."""
UNSIGNED_BODY: Final = "unsigned_body"
"""A non-empty body the signature does not cover (Huawei UNSIGNED-PAYLOAD, V1 non-form body)."""
UNSIGNED_PATH: Final = "unsigned_path"
"""V1 signatures do not cover the path, so only the RPC path "/" is accepted."""
MISSING_SIGNED_HEADER: Final = "missing_signed_header"
"""A header that must be signed is not in SignedHeaders, or a signed header is absent from the request."""
DUPLICATE_HEADER: Final = "duplicate_header"
"""A signed header (or Authorization) occurs more than once, which would make its value ambiguous."""
DUPLICATE_PARAMETER: Final = "duplicate_parameter"
"""A parameter occurs twice where the scheme signs a map (ACS3 query, V1 query + form body)."""
MALFORMED_QUERY: Final = "malformed_query"
"""Bad percent-encoding, invalid UTF-8, or a parameter name that would make the canonical form ambiguous."""
MALFORMED_PATH: Final = "malformed_path"
"""Bad percent-encoding or invalid UTF-8 in the path (Huawei canonicalises the decoded path)."""
HEADER_PARAM_MISMATCH: Final = "header_param_mismatch"
"""V1: the unsigned x-acs-action / x-acs-version headers disagree with the signed Action / Version."""
CLAIM_MISMATCH: Final = "claim_mismatch"
"""The claim passed to verify() is not the one this request carries."""


class SignatureError(Exception):
    """Raised when a request's signature cannot be read or does not authenticate the request.

    ``reason`` is one of the module-level constants; ``detail`` is human-readable context for logs
    only (never echo it to the client: it may help an attacker tune a forgery).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class MalformedEncodingError(ValueError):
    """Raised by the percent-decoding helpers on input no conforming client would send.

    Decoding is strict (no silent U+FFFD replacement) because two different wire strings that decode to
    the same text would both verify against one signature.
    """
