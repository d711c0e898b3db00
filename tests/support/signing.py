"""Requests signed by the Alibaba SDK's own signer, for tests that must send the very same bytes twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alibabacloud_tea_openapi.utils import Utils as AliUtils
from darabonba.core import DaraCore
from darabonba.request import DaraRequest


def acs3_request(endpoint: str, action: str, query: dict[str, str], ak: str, secret: str) -> tuple[str, dict[str, str]]:
    """(path with query, headers) of a `POST /` the SDK would send, ready to send as is, or again."""
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = query
    request.headers = {
        "host": endpoint,
        "x-acs-version": "2018-12-03",
        "x-acs-action": action,
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "accept": "application/json",
        "x-acs-content-sha256": AliUtils.hash(b"", "ACS3-HMAC-SHA256").hex(),
        "x-acs-credentials-provider": "static_ak",
    }
    request.headers["Authorization"] = AliUtils.get_authorization(
        request, "ACS3-HMAC-SHA256", request.headers["x-acs-content-sha256"], ak, secret
    )
    url = DaraCore.compose_url(request)
    return url.split(endpoint, 1)[1], dict(request.headers)
