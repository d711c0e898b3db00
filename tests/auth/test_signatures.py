"""Signature verifiers against real SDK traffic: captured requests, tampering, and fresh SDK signatures.

No mocks: the positive vectors are requests the official SDKs sent (``captures.jsonl``) or requests signed
just now by the SDKs' own signer functions, so a verifier that passes here accepts what the SDKs send.
The helpers live in this module (not a conftest) so that other test packages' conftests cannot collide.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from alibabacloud_tea_openapi.utils import Utils as AliUtils
from darabonba.core import DaraCore
from darabonba.request import DaraRequest
from darabonba.utils.form import Form as DaraForm
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

from fleetscan.auth import (
    MalformedEncodingError,
    RequestParts,
    SignatureClaim,
    SignatureError,
    pct_encode,
    percent_decode,
    query_pairs,
    read_claim,
    verify,
)

# Requests the official SDKs sent, signed with known fake secrets (research notes, api/captures.jsonl).
CAPTURES = Path(__file__).parent / "data" / "captures.jsonl"
ALI_AK = "FakeAliAccessKeyId"
ALI_SECRET = "FakeAliSecret/+=~"
HW_AK = "FAKEHWAK0000000000"
HW_SECRET = "FakeHuaweiSK0123456789"
PROJECT = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Capture:
    """One captured request and the secret it was signed with."""

    index: int
    route: str
    req: RequestParts
    secret: str


def _load_captures() -> list[Capture]:
    """Read captures.jsonl into RequestParts exactly as the HTTP edge would build them."""
    captures: list[Capture] = []
    for index, line in enumerate(CAPTURES.read_text(encoding="utf-8").splitlines()):
        data = json.loads(line)
        assert data["raw_path"] == data["path"] + (f"?{data['query_raw']}" if data["query_raw"] else "")
        req = RequestParts(
            method=data["method"],
            path=data["path"],
            query=data["query_raw"],
            headers=tuple((name, value) for name, value in data["headers"]),
            body=data["body"].encode("utf-8"),
        )
        secret = ALI_SECRET if data["route"].startswith("ali:") else HW_SECRET
        captures.append(Capture(index, data["route"], req, secret))
    return captures


CAPTURED = _load_captures()
IDS = [f"{c.index:02d}-{c.route}" for c in CAPTURED]


def _claim(req: RequestParts) -> SignatureClaim:
    """The claim of a request that must carry one (keeps the tests free of Optional handling)."""
    claim = read_claim(req)
    assert claim is not None
    return claim


def _refused(req: RequestParts, secret: str, now: datetime) -> bool:
    """Whether the server would refuse ``req``: unreadable, unsigned, or failing verification."""
    try:
        claim = read_claim(req)
        if claim is None:
            return True
        verify(req, claim, secret, now=now)
    except SignatureError:
        return True
    return False


def _reason(req: RequestParts, secret: str, now: datetime | None = None) -> str:
    """The refusal reason (fails the test if the request is accepted)."""
    with pytest.raises(SignatureError) as info:
        claim = _claim(req)
        verify(req, claim, secret, now=now or claim.signed_at)
    return info.value.reason


def _flip(text: str, i: int) -> str:
    """``text`` with the character at ``i`` changed by one bit: never an equivalent spelling.

    XOR 0x01 keeps the length and cannot turn a hex digit into its other case (that is 0x20), so the
    result is a genuinely different request, not another encoding of the same one.
    """
    return text[:i] + chr(ord(text[i]) ^ 0x01) + text[i + 1 :]


def _set_header(req: RequestParts, name: str, value: str | None) -> RequestParts:
    """Replace (or with None, drop) every header ``name``, keeping position and original case."""
    headers: list[tuple[str, str]] = []
    for key, old in req.headers:
        if key.lower() == name.lower():
            if value is not None:
                headers.append((key, value))
        else:
            headers.append((key, old))
    return replace(req, headers=tuple(headers))


def _signed_header_names(req: RequestParts) -> list[str]:
    """SignedHeaders of an Authorization header; for V1 the headers the verifier ties to signed params."""
    auth = req.header("authorization")
    if auth is None:
        return ["x-acs-action", "x-acs-version"]
    return auth.split("SignedHeaders=")[1].split(",")[0].split(";")


def _tampered(req: RequestParts) -> Iterator[tuple[str, RequestParts]]:
    """Every single-byte change of the signed material: query, signed header values, body, path, signature."""
    for i in range(len(req.query)):
        yield f"query[{i}]", replace(req, query=_flip(req.query, i))
    for name in _signed_header_names(req):
        value = req.header(name)
        assert value is not None
        for i in range(len(value)):
            yield f"{name}[{i}]", _set_header(req, name, _flip(value, i))
    for i in range(len(req.body)):
        body = bytearray(req.body)
        body[i] ^= 0x01
        yield f"body[{i}]", replace(req, body=bytes(body))
    for i in range(len(req.path)):
        yield f"path[{i}]", replace(req, path=_flip(req.path, i))
    auth = req.header("authorization")
    if auth is not None:
        # Every byte except the key id's: it is not in the string to sign by design of both schemes; a
        # changed id selects another secret at the caller, which is what makes it fail in production.
        start = auth.index("SignedHeaders=")
        for i in range(start, len(auth)):
            yield f"authorization[{i}]", _set_header(req, "authorization", _flip(auth, i))


# --- the 31 captures -------------------------------------------------------------------------------------


def test_capture_set_covers_all_three_schemes() -> None:
    schemes = [_claim(c.req).scheme for c in CAPTURED]
    assert len(CAPTURED) == 31
    assert {s: schemes.count(s) for s in set(schemes)} == {
        "ACS3-HMAC-SHA256": 16,
        "ACS-HMAC-SHA1": 2,
        "SDK-HMAC-SHA256": 13,
    }


@pytest.mark.parametrize("cap", CAPTURED, ids=IDS)
def test_capture_verifies(cap: Capture) -> None:
    claim = _claim(cap.req)
    assert claim.signed_at.tzinfo is UTC
    assert claim.access_key_id == (HW_AK if claim.scheme == "SDK-HMAC-SHA256" else ALI_AK)
    assert (claim.nonce is None) == (claim.scheme == "SDK-HMAC-SHA256")
    verify(cap.req, claim, cap.secret, now=claim.signed_at)


@pytest.mark.parametrize("cap", CAPTURED, ids=IDS)
def test_every_single_byte_tamper_is_refused(cap: Capture) -> None:
    now = _claim(cap.req).signed_at
    count = 0
    for where, tampered in _tampered(cap.req):
        assert _refused(tampered, cap.secret, now), f"accepted after tampering {where}"
        count += 1
    assert count >= len(cap.req.query) + len(cap.req.body) + len(cap.req.path)


@pytest.mark.parametrize("cap", CAPTURED, ids=IDS)
def test_wrong_secret_is_refused(cap: Capture) -> None:
    assert _reason(cap.req, cap.secret + "x") == "signature_mismatch"
    assert _reason(cap.req, cap.secret[:-1]) == "signature_mismatch"


@pytest.mark.parametrize("cap", CAPTURED, ids=IDS)
def test_clock_window(cap: Capture) -> None:
    signed_at = _claim(cap.req).signed_at
    for minutes in (16, -16):
        assert _reason(cap.req, cap.secret, signed_at + timedelta(minutes=minutes)) == "expired"
    for minutes in (14, -14, 15, -15):
        verify(cap.req, _claim(cap.req), cap.secret, now=signed_at + timedelta(minutes=minutes))
    verify(cap.req, _claim(cap.req), cap.secret, now=signed_at + timedelta(minutes=30), window=timedelta(hours=1))
    with pytest.raises(ValueError):
        verify(cap.req, _claim(cap.req), cap.secret, now=signed_at.replace(tzinfo=None))


ACS3 = [c for c in CAPTURED if _claim(c.req).scheme == "ACS3-HMAC-SHA256"]
V1 = [c for c in CAPTURED if _claim(c.req).scheme == "ACS-HMAC-SHA1"]
HUAWEI = [c for c in CAPTURED if _claim(c.req).scheme == "SDK-HMAC-SHA256"]


@pytest.mark.parametrize(
    "name", ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"]
)
def test_acs3_required_header_dropped(name: str) -> None:
    for cap in ACS3:
        req = _set_header(cap.req, name, None)
        expected = "malformed_date" if name == "x-acs-date" else "missing_signed_header"
        assert _reason(req, ALI_SECRET, _claim(cap.req).signed_at) == expected


def test_acs3_body_added_to_bodyless_request() -> None:
    for cap in ACS3:
        if cap.req.body:
            continue
        with_body = replace(cap.req, body=b"PageSize=200")
        assert _reason(with_body, ALI_SECRET) == "body_hash_mismatch"
        forged = _set_header(with_body, "x-acs-content-sha256", hashlib.sha256(b"PageSize=200").hexdigest())
        assert _refused(forged, ALI_SECRET, _claim(cap.req).signed_at)


def test_acs3_form_body_verifies_and_hash_is_checked() -> None:
    (cap,) = [c for c in ACS3 if c.req.body]
    assert cap.req.body == b"TacticId=TA0002+x"
    assert _reason(replace(cap.req, body=b""), ALI_SECRET) == "body_hash_mismatch"


def test_huawei_unsigned_content_sha256_cannot_launder_a_new_body() -> None:
    """A verifier that trusted an *unsigned* X-Sdk-Content-Sha256 would accept any body with this trick."""
    (cap,) = [c for c in HUAWEI if c.req.body]
    trick = replace(cap.req, body=b'{"task_name": "evil"}')
    trick = replace(trick, headers=(*trick.headers, ("X-Sdk-Content-Sha256", hashlib.sha256(cap.req.body).hexdigest())))
    assert _reason(trick, HW_SECRET) == "missing_signed_header"


def test_huawei_project_and_host_must_be_signed() -> None:
    cap = HUAWEI[0]
    assert _reason(_set_header(cap.req, "X-Project-Id", None), HW_SECRET) == "missing_signed_header"
    assert _reason(_set_header(cap.req, "X-Project-Id", "f" * 32), HW_SECRET) == "signature_mismatch"


def test_v1_rules_for_what_it_does_not_sign() -> None:
    cap = V1[0]
    assert _reason(replace(cap.req, path="/admin"), ALI_SECRET) == "unsigned_path"
    assert _reason(_set_header(cap.req, "x-acs-action", "DeleteEverything"), ALI_SECRET) == "header_param_mismatch"
    json_body = _set_header(replace(cap.req, body=b"{}"), "content-type", "application/json")
    assert _reason(json_body, ALI_SECRET) == "unsigned_body"
    repeated = replace(cap.req, query=cap.req.query + "&PageSize=200")
    assert _reason(repeated, ALI_SECRET) == "duplicate_parameter"
    # The unsigned headers may be absent altogether (other SDKs do not send them).
    bare = _set_header(_set_header(cap.req, "x-acs-action", None), "x-acs-version", None)
    verify(bare, _claim(bare), ALI_SECRET, now=_claim(bare).signed_at)


def test_read_claim_edge_cases() -> None:
    cap = ACS3[0]
    assert read_claim(_set_header(cap.req, "authorization", None)) is None
    sm3 = cap.req.header("authorization")
    assert sm3 is not None
    with pytest.raises(SignatureError) as info:
        read_claim(_set_header(cap.req, "authorization", sm3.replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3")))
    assert info.value.reason == "unsupported_algorithm"
    for bad in ("ACS3-HMAC-SHA256", "ACS3-HMAC-SHA256 Credential=a", sm3.replace(",Signature=", ",Sig=")):
        with pytest.raises(SignatureError) as info:
            read_claim(_set_header(cap.req, "authorization", bad))
        assert info.value.reason == "malformed_authorization"
    doubled = replace(cap.req, headers=(*cap.req.headers, ("Authorization", sm3)))
    with pytest.raises(SignatureError):
        read_claim(doubled)
    # A claim from another request is refused even with the right secret.
    with pytest.raises(SignatureError) as info:
        verify(ACS3[1].req, _claim(cap.req), ALI_SECRET, now=_claim(cap.req).signed_at)
    assert info.value.reason == "claim_mismatch"


def test_duplicate_signed_header_is_refused() -> None:
    cap = ACS3[0]
    host = cap.req.header("host")
    assert host is not None
    doubled = replace(cap.req, headers=(*cap.req.headers, ("Host", host)))
    assert _reason(doubled, ALI_SECRET) == "duplicate_header"


# --- encoding --------------------------------------------------------------------------------------------


def test_query_pairs_is_form_decoding_keeping_order_and_repeats() -> None:
    assert query_pairs("") == []
    assert query_pairs("b=2&a=x+y%2B&b=1&&flag&=v") == [("b", "2"), ("a", "x y+"), ("b", "1"), ("flag", ""), ("", "v")]
    assert query_pairs("n=%E6%B5%8B%20~") == [("n", "测 ~")]
    for bad in ("a=%", "a=%zz", "a=%FF", "a=%C3", "a=\u00e9", "a=b c"):
        with pytest.raises(MalformedEncodingError):
            query_pairs(bad)


def test_pct_encode_matches_rfc3986_unreserved() -> None:
    assert pct_encode("aZ09-_.~ +*/=&测") == "aZ09-_.~%20%2B%2A%2F%3D%26%E6%B5%8B"
    assert percent_decode("a+b%2F", plus_is_space=False) == "a+b/"


# --- fresh signatures from the SDKs' own signer functions ------------------------------------------------

_ALPHABET = list("abcXYZ019 +*~/&=%-_.,:;!'()?#[]@$") + ["测", "试", "é", "ü", "✓", "\U0001f600"]


def _text(rng: random.Random, low: int = 0, high: int = 12) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(low, high)))


def _name(rng: random.Random) -> str:
    """A parameter name as a generated client could produce it (never containing a separator)."""
    base = rng.choice(["PageSize", "Name", "StatusList.1", "StatusList.2", "Tag.1.Key", "x"])
    return base + _text(rng, 0, 3).replace("&", "-").replace("=", "-")


def _wire_from_dara(request: DaraRequest) -> tuple[str, str]:
    """Path and query as the Alibaba SDK puts them on the wire (its own URL composer)."""
    url = DaraCore.compose_url(request)
    target = url.split("127.0.0.1:8080", 1)[1]
    path, _, query = target.partition("?")
    return path, query


def _alibaba_v3(rng: random.Random, body: dict[str, Any] | None, signed_at: datetime) -> RequestParts:
    query = {_name(rng): _text(rng) for _ in range(rng.randint(0, 6))}
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = query
    request.headers = {
        "host": "127.0.0.1:8080",
        "x-acs-version": "2018-12-03",
        "x-acs-action": "ListVirusScanTask",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2 caf\u00e9",
        "x-acs-date": signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": f"{rng.getrandbits(128):032x}",
        "accept": "application/json",
    }
    payload = b""
    if body is not None:
        payload = AliUtils.to_form(body).encode("utf-8")
        request.body = payload.decode()
        request.headers["content-type"] = "application/x-www-form-urlencoded"
    request.headers["x-acs-content-sha256"] = AliUtils.hash(payload, "ACS3-HMAC-SHA256").hex()
    request.headers["x-acs-credentials-provider"] = "static_ak"
    request.headers["Authorization"] = AliUtils.get_authorization(
        request, "ACS3-HMAC-SHA256", request.headers["x-acs-content-sha256"], ALI_AK, ALI_SECRET
    )
    path, wire_query = _wire_from_dara(request)
    return RequestParts("POST", path, wire_query, tuple(request.headers.items()), payload)


def _alibaba_v1(rng: random.Random, body: dict[str, Any] | None, signed_at: datetime) -> RequestParts:
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = {
        "Action": "ListVirusScanTask",
        "Format": "json",
        "Version": "2018-12-03",
        "Timestamp": signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SignatureNonce": f"{rng.getrandbits(128):032x}",
        **{_name(rng): _text(rng) for _ in range(rng.randint(0, 6))},
    }
    request.headers = {"host": "127.0.0.1:8080", "x-acs-version": "2018-12-03", "x-acs-action": "ListVirusScanTask"}
    payload = b""
    if body is not None:
        payload = DaraForm.to_form_string(AliUtils.query(body)).encode("utf-8")
        request.headers["content-type"] = "application/x-www-form-urlencoded"
    request.query["SignatureMethod"] = "HMAC-SHA1"
    request.query["SignatureVersion"] = "1.0"
    request.query["AccessKeyId"] = ALI_AK
    signed = DaraCore.merge({}, request.query, AliUtils.query(body))
    request.query["Signature"] = AliUtils.get_rpcsignature(signed, "POST", ALI_SECRET)
    path, wire_query = _wire_from_dara(request)
    return RequestParts("POST", path, wire_query, tuple(request.headers.items()), payload)


def _huawei(rng: random.Random, body: dict[str, Any] | None, signed_at: datetime) -> RequestParts:
    # Like the generated clients: one typed value per name, arrays expanded to repeated names ("multi").
    params: list[tuple[str, object]] = []
    for key in rng.sample(["limit", "task_name", "host_task_status", "event_types", "n a+m~e*/", "名"], 4):
        if key == "event_types":
            params.extend((key, v) for v in rng.sample([10, 9, 2, 100], rng.randint(1, 4)))
        elif key == "host_task_status":
            params.extend((key, _text(rng)) for _ in range(rng.randint(1, 3)))
        else:
            params.append((key, rng.choice([_text(rng), True, False, rng.randint(0, 1000)])))
    headers = {
        "User-Agent": "huaweicloud-usdk-python/3.0; os/Linux##1_SMP impl/CPython \u6d4b\u8bd5 caf\u00e9 \u00e0",
        "Content-Type": "application/json",
        "X-Sdk-Date": signed_at.strftime("%Y%m%dT%H%M%SZ"),
        "X-Custom-Note": _text(rng, 1) + "x",
    }
    segment = rng.choice(["antivirus", "a b+c~d*测"])
    request = SdkRequest(
        method=rng.choice(["GET", "POST", "PUT", "DELETE"]),
        schema="http",
        host="127.0.0.1:8080",
        resource_path=f"/v5/{PROJECT}/{quote(segment, safe='')}/task",
        query_params=params,
        header_params=headers,
        body=json.dumps(body, ensure_ascii=False) if body is not None else "",
    )
    signed = BasicCredentials(HW_AK, HW_SECRET, PROJECT).sign_request(request)
    path, _, wire_query = signed.uri.partition("?")
    payload = signed.body if isinstance(signed.body, bytes) else b""
    # The signer leaves header values as UTF-8 bytes decoded as latin-1: exactly what the edge receives.
    return RequestParts(signed.method, path, wire_query, tuple(signed.header_params.items()), payload)


SIGNERS: dict[str, Callable[[random.Random, dict[str, Any] | None, datetime], RequestParts]] = {
    "acs3": _alibaba_v3,
    "v1": _alibaba_v1,
    "huawei": _huawei,
}


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("kind", sorted(SIGNERS))
def test_fresh_sdk_signatures_verify(kind: str, seed: int) -> None:
    rng = random.Random(f"{kind}-{seed}")
    signed_at = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**6))
    body: dict[str, Any] | None = None
    if seed % 2:
        body = (
            {"TacticId": _text(rng, 1), "Items": [_text(rng), _text(rng)]}
            if kind != "huawei"
            else {
                "task_name": _text(rng, 1),
                "host_ids": [_text(rng), "h2"],
            }
        )
    req = SIGNERS[kind](rng, body, signed_at)
    claim = _claim(req)
    assert claim.signed_at == signed_at
    secret = HW_SECRET if kind == "huawei" else ALI_SECRET
    verify(req, claim, secret, now=signed_at + timedelta(minutes=14))
    assert not _refused(req, secret, signed_at)
    # ...and the same request is still tamper-evident, with a sample of positions to keep it fast.
    for where, tampered in list(_tampered(req))[:: max(1, len(req.query) // 8)]:
        assert _refused(tampered, secret, signed_at), f"{kind} accepted after tampering {where}"
    assert _refused(req, secret + "x", signed_at)


def test_huawei_integer_arrays_in_sdk_order() -> None:
    """``[10, 9]`` is signed and sent as ``9&10`` (numeric order), which text sorting alone would break."""
    request = SdkRequest(
        method="GET",
        schema="http",
        host="127.0.0.1:8080",
        resource_path=f"/v5/{PROJECT}/event/events",
        query_params=[("event_types", 10), ("event_types", 9), ("limit", 10)],
        header_params={"Content-Type": "application/json", "X-Sdk-Date": "20261123T080000Z"},
        body="",
    )
    signed = BasicCredentials(HW_AK, HW_SECRET, PROJECT).sign_request(request)
    path, _, query = signed.uri.partition("?")
    assert query == "event_types=9&event_types=10&limit=10"
    req = RequestParts("GET", path, query, tuple(signed.header_params.items()), b"")
    verify(req, _claim(req), HW_SECRET, now=_claim(req).signed_at)


def test_acs3_missing_required_header_even_if_validly_signed() -> None:
    """A genuine signature that simply does not cover x-acs-signature-nonce is still refused."""
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = {"PageSize": "20"}
    request.headers = {
        "host": "127.0.0.1:8080",
        "x-acs-version": "2018-12-03",
        "x-acs-action": "ListVirusScanTask",
        "x-acs-date": "2026-11-23T08:00:00Z",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }
    auth = AliUtils.get_authorization(request, "ACS3-HMAC-SHA256", hashlib.sha256(b"").hexdigest(), ALI_AK, ALI_SECRET)
    headers = (*request.headers.items(), ("x-acs-signature-nonce", "n1"), ("Authorization", auth))
    req = RequestParts("POST", "/", "PageSize=20", headers, b"")
    assert _reason(req, ALI_SECRET) == "missing_signed_header"
