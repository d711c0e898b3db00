"""Alibaba authentication failures answer the OpenAPI gateway's own codes and statuses.

Scripts branch on these codes (an unknown key is not a clock problem), so each is provoked the way
a caller would meet it: through the official SDK where the SDK can send it, otherwise with a request
signed by hand from the published algorithms (helpers.signed for V3, `_v1` below for V1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.api.alibaba.helpers import VERSION, Fleet, sdk, signed

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ACTION = "ListVirusScanTask"


def _code(reply: httpx.Response) -> tuple[str, int]:
    body = reply.json()
    assert body["RequestId"] == reply.headers["x-acs-request-id"]
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    return body["Code"], reply.status_code


def _sdk_refusal(fleet: Fleet, key_id: str, secret: str, **config: str) -> tuple[str, int]:
    with pytest.raises(ClientException) as caught:
        sdk(fleet.server, key_id, secret, **config).get_virus_scan_latest_task_statistic()
    assert caught.value.request_id
    return caught.value.code, caught.value.status_code


def _pct(text: str) -> str:
    return quote(text, safe="~")


def _v1(fleet: Fleet, secret: str, **overrides: str) -> httpx.Response:
    """A V1 (HMAC-SHA1 `Signature=`) `POST /` with the common parameters, any of them overridden."""
    params = {
        "Action": ACTION,
        "Version": VERSION,
        "Format": "json",
        "AccessKeyId": fleet.tenant.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(UTC).strftime(FORMAT),
        **overrides,
    }
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"POST&%2F&{_pct(canonical)}"
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    query = canonical + "&Signature=" + _pct(base64.b64encode(digest).decode())
    return httpx.post(f"{fleet.server.url}/?{query}", headers={"host": fleet.server.endpoint})


def test_unknown_key_is_invalid_access_key_id_not_found(fleet: Fleet) -> None:
    assert _sdk_refusal(fleet, "FSNOSUCHKEY", "whatever") == ("InvalidAccessKeyId.NotFound", 404)
    v1 = ("FSNOSUCHKEY", "whatever")
    assert _sdk_refusal(fleet, *v1, signature_algorithm="v2") == ("InvalidAccessKeyId.NotFound", 404)


def test_wrong_secret_is_signature_does_not_match(fleet: Fleet) -> None:
    t = fleet.tenant
    assert _sdk_refusal(fleet, t.access_key_id, t.secret + "x") == ("SignatureDoesNotMatch", 400)
    v1 = (t.access_key_id, "wrong")
    assert _sdk_refusal(fleet, *v1, signature_algorithm="v2") == ("SignatureDoesNotMatch", 400)
    # A body that is not the one whose hash was signed is the same failure.
    request = signed(fleet.server, t.access_key_id, t.secret, ACTION, [])
    request.headers["x-acs-content-sha256"] = hashlib.sha256(b"other").hexdigest()
    assert _code(httpx.Client().send(request)) == ("SignatureDoesNotMatch", 400)


def test_unreadable_signature_is_incomplete_signature(fleet: Fleet) -> None:
    t = fleet.tenant
    headers = {"x-acs-action": ACTION, "x-acs-version": VERSION}
    for authorization in (
        f"ACS3-HMAC-SHA256 Credential={t.access_key_id}",
        f"ACS3-HMAC-SHA256 Credential={t.access_key_id},SignedHeaders=host,Signature=abc",
    ):
        reply = httpx.post(fleet.server.url + "/", headers={**headers, "Authorization": authorization})
        assert _code(reply) == ("IncompleteSignature", 400)
    assert _code(_v1(fleet, t.secret, SignatureNonce="")) == ("IncompleteSignature", 400)


def test_stale_or_malformed_time(fleet: Fleet) -> None:
    t = fleet.tenant
    for delta in (timedelta(hours=-1), timedelta(hours=1)):
        stale = (datetime.now(UTC) + delta).strftime(FORMAT)
        reply = httpx.Client().send(signed(fleet.server, t.access_key_id, t.secret, ACTION, [], date=stale))
        assert _code(reply) == ("InvalidTimeStamp.Expired", 400)
        assert _code(_v1(fleet, t.secret, Timestamp=stale)) == ("InvalidTimeStamp.Expired", 400)
    for malformed in ("2026-12-01 10:00:00", "yesterday"):
        reply = httpx.Client().send(signed(fleet.server, t.access_key_id, t.secret, ACTION, [], date=malformed))
        assert _code(reply) == ("InvalidTimeStamp.Format", 400)
        assert _code(_v1(fleet, t.secret, Timestamp=malformed)) == ("InvalidTimeStamp.Format", 400)


def test_spent_nonce_is_signature_nonce_used(fleet: Fleet) -> None:
    t = fleet.tenant
    request = signed(fleet.server, t.access_key_id, t.secret, ACTION, [])
    with httpx.Client() as http:
        assert http.send(request).status_code == 200
        assert _code(http.send(request)) == ("SignatureNonceUsed", 400)
    nonce = uuid.uuid4().hex
    assert _v1(fleet, t.secret, SignatureNonce=nonce).status_code == 200
    assert _code(_v1(fleet, t.secret, SignatureNonce=nonce)) == ("SignatureNonceUsed", 400)


def test_other_algorithm_is_invalid_signature_method(fleet: Fleet) -> None:
    t = fleet.tenant
    headers = {"x-acs-action": ACTION, "x-acs-version": VERSION}
    sm3 = f"ACS3-HMAC-SM3 Credential={t.access_key_id},SignedHeaders=host,Signature={'0' * 64}"
    reply = httpx.post(fleet.server.url + "/", headers={**headers, "Authorization": sm3})
    assert _code(reply) == ("InvalidSignatureMethod", 400)
    assert _code(_v1(fleet, t.secret, SignatureMethod="HMAC-SHA256")) == ("InvalidSignatureMethod", 400)


def test_unsigned_is_missing_access_key_id(fleet: Fleet) -> None:
    reply = httpx.post(fleet.server.url + "/", headers={"x-acs-action": ACTION, "x-acs-version": VERSION})
    assert _code(reply) == ("MissingAccessKeyId", 400)
    assert "AccessKeyId is mandatory" in reply.json()["Message"]


def test_a_good_request_still_passes(fleet: Fleet) -> None:
    t = fleet.tenant
    assert httpx.Client().send(signed(fleet.server, t.access_key_id, t.secret, ACTION, [])).status_code == 200
    assert _v1(fleet, t.secret).status_code == 200
