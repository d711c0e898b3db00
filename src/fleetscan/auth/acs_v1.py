"""Alibaba V1 RPC signature (``Signature=`` query parameter, HMAC-SHA1; tea-openapi ``get_rpcsignature``).

The SDK only sends it with ``Config(signature_algorithm='v2')``. The signed material is the set of
parameters from the query plus a form body, minus ``Signature``::

    canon          = "&".join(pct(name) + "=" + pct(value) for name in sorted(params))
    string_to_sign = method + "&%2F&" + pct(canon)
    signature      = base64(HMAC-SHA1(key = secret + "&", string_to_sign))

V1 signs no header and no path, which dictates the extra rules here: the path must be ``/`` (the only one
the SDK uses), a non-empty body must be a form body (otherwise it is unsigned), and if the unsigned
``x-acs-action`` / ``x-acs-version`` headers are present they must agree with the signed ``Action`` /
``Version``, so a handler that routes on the header cannot be steered by an on-path attacker.
Parameters are a map in the SDK, so a name seen twice (within or across query and body) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from fleetscan.auth.encoding import form_pairs, pct_encode, query_pairs
from fleetscan.auth.errors import (
    CLAIM_MISMATCH,
    DUPLICATE_PARAMETER,
    HEADER_PARAM_MISMATCH,
    MALFORMED_AUTHORIZATION,
    MALFORMED_QUERY,
    SIGNATURE_MISMATCH,
    UNSIGNED_BODY,
    UNSIGNED_PATH,
    UNSUPPORTED_ALGORITHM,
    MalformedEncodingError,
    SignatureError,
)
from fleetscan.auth.request import RequestParts, SignatureClaim, check_window, parse_utc

__all__ = ["SCHEME", "V1Signature", "is_form", "parse", "verify"]

SCHEME: Final = "ACS-HMAC-SHA1"

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_DATE_FMT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class V1Signature:
    """The signed parameters (in arrival order, without ``Signature``), the signature, and the claim."""

    claim: SignatureClaim
    params: tuple[tuple[str, str], ...]
    signature: str
    body_is_form: bool


def is_form(req: RequestParts) -> bool:
    """Whether the body is declared ``application/x-www-form-urlencoded`` (parameters ignored)."""
    content_type = req.header("content-type")
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def parse(req: RequestParts) -> V1Signature:
    """Collect the signed parameters and read the claim from them (no secret needed)."""
    body_is_form = is_form(req)
    try:
        query = query_pairs(req.query)
        body = form_pairs(req.body) if (req.body and body_is_form) else []
    except MalformedEncodingError as exc:
        raise SignatureError(MALFORMED_QUERY, str(exc)) from exc

    signatures = [value for name, value in query if name == "Signature"]
    if len(signatures) != 1 or any(name == "Signature" for name, _ in body):
        raise SignatureError(DUPLICATE_PARAMETER if signatures else MALFORMED_AUTHORIZATION, "need one Signature")
    params = tuple(pair for pair in query + body if pair[0] != "Signature")
    values: dict[str, str] = {}
    for name, value in params:
        if name in values:
            raise SignatureError(DUPLICATE_PARAMETER, f"parameter {name!r} is repeated")
        values[name] = value

    method = values.get("SignatureMethod")
    if method != "HMAC-SHA1" or values.get("SignatureType") is not None:
        raise SignatureError(UNSUPPORTED_ALGORITHM, f"SignatureMethod {method!r}")
    if values.get("SignatureVersion") != "1.0":
        raise SignatureError(UNSUPPORTED_ALGORITHM, f"SignatureVersion {values.get('SignatureVersion')!r}")
    access_key_id = values.get("AccessKeyId")
    nonce = values.get("SignatureNonce")
    if not access_key_id or not nonce or not signatures[0]:
        raise SignatureError(MALFORMED_AUTHORIZATION, "AccessKeyId, SignatureNonce and Signature are required")
    signed_at = parse_utc(values.get("Timestamp"), _DATE_RE, _DATE_FMT, "Timestamp")
    claim = SignatureClaim(scheme=SCHEME, access_key_id=access_key_id, signed_at=signed_at, nonce=nonce)
    return V1Signature(claim, params, signatures[0], body_is_form)


def verify(req: RequestParts, claim: SignatureClaim, secret: str, *, now: datetime, window: timedelta) -> None:
    """Verify a V1 request; see the module docstring for the rules beyond the HMAC and why they exist."""
    parsed = parse(req)
    if parsed.claim != claim:
        raise SignatureError(CLAIM_MISMATCH, "the claim is not this request's")
    check_window(claim.signed_at, now, window)
    if req.path != "/":
        raise SignatureError(UNSIGNED_PATH, "V1 signatures do not cover the path; only '/' is accepted")
    if req.body and not parsed.body_is_form:
        raise SignatureError(UNSIGNED_BODY, "a V1 body is signed only as application/x-www-form-urlencoded")
    params = dict(parsed.params)
    for header, param in (("x-acs-action", "Action"), ("x-acs-version", "Version")):
        value = req.header(header)
        if value is not None and value.strip() != params.get(param):
            raise SignatureError(HEADER_PARAM_MISMATCH, f"{header} disagrees with the signed {param}")

    canon = "&".join(f"{pct_encode(name)}={pct_encode(value)}" for name, value in sorted(parsed.params))
    string_to_sign = f"{req.method}&%2F&{pct_encode(canon)}"
    digest = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    expected = base64.b64encode(digest)
    if not hmac.compare_digest(expected, parsed.signature.encode("utf-8")):
        raise SignatureError(SIGNATURE_MISMATCH)
