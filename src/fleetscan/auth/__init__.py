"""Request-signature verification for the two cloud API dialects fleetscan speaks.

Usage at the HTTP edge (the edge owns keys, nonces and the clock; this package is pure)::

    claim = read_claim(parts)            # None: unsigned request; SignatureError: malformed
    secret = keys.lookup(claim.access_key_id)
    verify(parts, claim, secret, now=clock.now())
    nonces.remember(claim.nonce)         # Alibaba only; Huawei has no nonce

Schemes: ACS3-HMAC-SHA256 (Alibaba default), the older Alibaba V1 ``Signature=`` HMAC-SHA1 (reported as
``ACS-HMAC-SHA1``), and Huawei SDK-HMAC-SHA256. For V1 only the query/form parameters are signed, so the
edge must dispatch on the signed ``Action`` parameter (the verifier refuses a disagreeing header).
For Huawei the caller must still check ``X-Project-Id`` equals the path's project (it is verified signed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fleetscan.auth import acs3, acs_v1, sdk_hmac
from fleetscan.auth.encoding import pct_encode, percent_decode, query_pairs
from fleetscan.auth.errors import (
    MALFORMED_AUTHORIZATION,
    MALFORMED_QUERY,
    UNSUPPORTED_ALGORITHM,
    MalformedEncodingError,
    Reason,
    SignatureError,
)
from fleetscan.auth.request import RequestParts, Scheme, SignatureClaim

__all__ = [
    "DEFAULT_WINDOW",
    "MalformedEncodingError",
    "Reason",
    "RequestParts",
    "Scheme",
    "SignatureClaim",
    "SignatureError",
    "pct_encode",
    "percent_decode",
    "query_pairs",
    "read_claim",
    "verify",
]

DEFAULT_WINDOW = timedelta(minutes=15)


def _authorization(req: RequestParts) -> str | None:
    """The one Authorization header value, or None; two of them are malformed, not a choice to make."""
    values = req.header_values("authorization")
    if len(values) > 1:
        raise SignatureError(MALFORMED_AUTHORIZATION, "Authorization occurs more than once")
    return values[0] if values else None


def _has_v1_signature(req: RequestParts) -> bool:
    """Whether the query carries V1's ``Signature`` parameter (the SDK never puts it in the body)."""
    try:
        return any(name == "Signature" for name, _ in query_pairs(req.query))
    except MalformedEncodingError as exc:
        raise SignatureError(MALFORMED_QUERY, str(exc)) from exc


def read_claim(req: RequestParts) -> SignatureClaim | None:
    """Who the request says it is from, read without any secret; ``None`` if it carries no signature.

    An Authorization header wins over a ``Signature`` query parameter (ACS3 signs the whole query, so a
    parameter of that name is just data there). Raises :class:`SignatureError` when the signature is
    present but unreadable, or uses an algorithm fleetscan does not implement (``unsupported_algorithm``).
    """
    authorization = _authorization(req)
    if authorization is not None:
        scheme = authorization.strip().partition(" ")[0]
        if scheme == acs3.ALGORITHM:
            return acs3.parse(req, authorization).claim
        if scheme == sdk_hmac.ALGORITHM:
            return sdk_hmac.parse(req, authorization).claim
        if not scheme:
            raise SignatureError(MALFORMED_AUTHORIZATION, "empty Authorization header")
        raise SignatureError(UNSUPPORTED_ALGORITHM, f"Authorization scheme {scheme[:40]!r}")
    if _has_v1_signature(req):
        return acs_v1.parse(req).claim
    return None


def verify(
    req: RequestParts,
    claim: SignatureClaim,
    secret: str,
    *,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> None:
    """Check that ``req`` is signed with ``secret`` as ``claim`` says, and signed within ``window`` of ``now``.

    Returns ``None`` on success and raises :class:`SignatureError` otherwise. The request is parsed again
    and must yield ``claim`` itself (``claim_mismatch``). Replay (nonce) and key lookup are the caller's.
    ``now`` must be timezone-aware (a naive one raises ``ValueError``: that is a bug, not a bad request).
    """
    if claim.scheme == acs_v1.SCHEME:
        acs_v1.verify(req, claim, secret, now=now, window=window)
        return
    authorization = _authorization(req)
    if authorization is None:
        raise SignatureError(MALFORMED_AUTHORIZATION, "no Authorization header")
    if claim.scheme == acs3.ALGORITHM:
        acs3.verify(req, authorization, claim, secret, now=now, window=window)
    elif claim.scheme == sdk_hmac.ALGORITHM:
        sdk_hmac.verify(req, authorization, claim, secret, now=now, window=window)
    else:
        raise SignatureError(UNSUPPORTED_ALGORITHM, f"scheme {claim.scheme!r}")
