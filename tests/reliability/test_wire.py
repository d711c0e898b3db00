"""The fuzz's own signers sign what the SDKs' signers sign, so a refusal is never the harness's doing."""

from __future__ import annotations

import hashlib

import pytest
from alibabacloud_tea_openapi.utils import Utils as AliUtils
from darabonba.request import DaraRequest  # type: ignore[import-untyped]
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from .mutations import Mutation, apply, fields
from .wire import Call, Credentials, Json, Raw, acs3_authorization, dumps, sdk_hmac_authorization

pytestmark = pytest.mark.reliability

QUERY = [("limit", "10"), ("host_name", "web 01/ü"), ("severity_list", "High"), ("severity_list", "Critical")]


def test_sdk_hmac_matches_the_huawei_sdk() -> None:
    body = b'{"task_name": "t"}'
    headers = {
        "Content-Type": "application/json",
        "Host": "127.0.0.1:8080",
        "X-Project-Id": "p1",
        "X-Sdk-Date": "20261201T120000Z",
    }
    request = SdkRequest(
        method="POST", schema="http", host="127.0.0.1:8080", resource_path="/v5/p1/antivirus/task",
        query_params=list(QUERY), header_params=dict(headers), body=body,
    )  # fmt: skip
    Signer(BasicCredentials("AK", "SK", "p1")).sign(request)
    call = Call("hss", "t", "POST", "/v5/p1/antivirus/task", Credentials("AK", "SK", "p1"))
    ours = sdk_hmac_authorization("POST", "/v5/p1/antivirus/task/", QUERY, headers, body, call)
    assert ours == request.header_params["Authorization"]


def test_acs3_matches_the_alibaba_sdk() -> None:
    headers = {
        "host": "127.0.0.1:8080",
        "x-acs-action": "ListVirusScanTask",
        "x-acs-version": "2018-12-03",
        "x-acs-date": "2026-12-01T12:00:00Z",
        "x-acs-signature-nonce": "abc",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }
    pairs = [("PageSize", "20"), ("MachineName", "web 01/ü"), ("TargetInfo", '[{"a": 1}]')]
    request = DaraRequest()
    request.method, request.pathname, request.query, request.headers = "POST", "/", dict(pairs), dict(headers)
    expected = AliUtils.get_authorization(request, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], "AK", "SK")
    assert acs3_authorization(pairs, headers, b"", "SK", "AK") == expected


def test_json_keeps_what_no_encoder_writes() -> None:
    assert dumps({"a": "\udfff", "b": Raw("[[1]]"), "c": 2**64}) == '{"a":"\\udfff","b":[[1]],"c":18446744073709551616}'


def test_one_mutation_changes_one_field() -> None:
    call = Call("alibaba", "t", "POST", "/", Credentials("k", "s"), query=[("A", "1"), ("T", Json([{"x": "y"}]))])
    assert fields(call) == [("query", "A"), ("query", "T"), ("query", "T", 0), ("query", "T", 0, "x")]
    changed = apply(call, ("query", "T", 0, "x"), Mutation("NUL", "\x00"))
    assert changed.query == [("A", "1"), ("T", Json([{"x": "\x00"}]))]
    assert call.query[1] == ("T", Json([{"x": "y"}]))  # the baseline is left as it was
    repeated = apply(call, ("query", "A"), Mutation("repeat", None, kind="repeat"))
    assert repeated.query[:2] == [("A", "1"), ("A", "1")]
