"""A request as the fuzz holds it (`Call`), and the exact bytes it goes out as, signed.

The SDKs cannot send what the fuzz needs (a lone surrogate in a JSON string, a body nested 100,000 deep,
a repeated query key, a NUL in a path id), so requests are built and signed here, from the published
algorithms: SDK-HMAC-SHA256 for HSS (as huaweicloudsdkcore's `Signer`), ACS3-HMAC-SHA256 for Alibaba (as
tea-openapi's `get_authorization`), `Bearer <agent_id>:<secret>` for the agent protocol. test_wire.py checks
both signatures against the SDKs' own signers, and the baseline test that every unmutated request succeeds,
so a refusal seen by the fuzz is the server's answer to the mutation, not a harness mistake.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

ALIBABA_VERSION = "2018-12-03"
MAX_QUERY_BYTES = 6000  # longer Alibaba parameters go in a form body: a request line stays far below 16 KB


@dataclass(frozen=True)
class Raw:
    """JSON text sent verbatim where a value would be (100k-deep nesting, 5,000-digit numbers)."""

    text: str

    def __repr__(self) -> str:
        return f"Raw({self.text[:24]!r}{'...' if len(self.text) > 24 else ''} {len(self.text)} chars)"


@dataclass(frozen=True)
class Json:
    """A query parameter whose value is JSON text (Alibaba `TargetInfo`, `Param`): fuzzed inside too."""

    value: Any


@dataclass(frozen=True)
class Credentials:
    """Who signs: an access key (HSS, Alibaba) or an agent credential (agent routes)."""

    key_id: str
    secret: str
    project_id: str = ""


@dataclass
class Call:
    """One request of one operation. `path` holds `{name}` placeholders filled from `path_params`."""

    edge: str  # "hss" | "alibaba" | "agent"
    op: str
    method: str
    path: str
    credentials: Credentials
    path_params: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, Any]] = field(default_factory=list)
    body: Any = None  # a JSON value, or None for no body
    action: str = ""  # Alibaba's x-acs-action


# ------------------------------------------------------------------------------------------------ encoding
def pct(text: str) -> str:
    """RFC 3986 encoding of the text's UTF-8 bytes; a lone surrogate goes out as its (invalid) 3 bytes."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="~")


def dumps(value: Any) -> str:
    """JSON text with `Raw` inlined; lone surrogates become `\\udfff` escapes, as json.dumps writes them."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Json):
        return json.dumps(dumps(value.value))
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def text_of(value: Any) -> str:
    """A query, path or header value as text: JSON-valued parameters serialised, the rest as given."""
    if isinstance(value, Json):
        return dumps(value.value)
    if isinstance(value, Raw):
        return value.text
    return str(value)


def _segment(text: str) -> str:
    """A path segment on the wire; `.` and `..` escaped so no client or proxy folds them away."""
    return "%2E" * len(text) if text in (".", "..") else pct(text)


def _path(call: Call) -> tuple[str, str]:
    """(wire path, canonical path for SDK-HMAC) of the call."""
    segments = call.path.split("/")
    decoded = [call.path_params[s[1:-1]] if s.startswith("{") and s.endswith("}") else s for s in segments]
    wire = "/".join(_segment(s) for s in decoded)
    canonical = "/".join(pct(s) for s in decoded)
    return wire, canonical if canonical.endswith("/") else canonical + "/"


def _header_value(text: str) -> str | bytes:
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------------------------------------ signers
def sdk_hmac_authorization(
    method: str, canonical_uri: str, pairs: list[tuple[str, str]], headers: Mapping[str, str], body: bytes, call: Call
) -> str:
    """SDK-HMAC-SHA256 (huaweicloudsdkcore `Signer`): every header given is signed."""
    names = sorted(n.lower() for n in headers)
    lowered = {n.lower(): v for n, v in headers.items()}
    canonical = "\n".join(
        [
            method,
            canonical_uri,
            "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(pairs)),
            "".join(f"{n}:{lowered[n].strip()}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    to_sign = f"SDK-HMAC-SHA256\n{lowered['x-sdk-date']}\n{digest}"
    signature = hmac.new(call.credentials.secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"SDK-HMAC-SHA256 Access={call.credentials.key_id}, SignedHeaders={';'.join(names)}, Signature={signature}"


def acs3_authorization(
    pairs: list[tuple[str, str]], headers: Mapping[str, str], body: bytes, secret: str, key: str
) -> str:
    """ACS3-HMAC-SHA256 (tea-openapi `get_authorization`) of a `POST /`: every header given is signed."""
    names = sorted(headers)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(pairs)),
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"ACS3-HMAC-SHA256 Credential={key},SignedHeaders={';'.join(names)},Signature={signature}"


# ------------------------------------------------------------------------------------------------ building
def build(call: Call, base_url: str, endpoint: str) -> httpx.Request:
    """The signed request, byte for byte as it is sent."""
    pairs = [(k, text_of(v)) for k, v in call.query]
    wire_path, canonical_uri = _path(call)
    body = b"" if call.body is None else dumps(call.body).encode("utf-8", "surrogatepass")
    query = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(pairs))
    if call.edge == "hss":
        headers = {
            "Content-Type": "application/json",
            "Host": endpoint,
            "X-Project-Id": call.credentials.project_id,
            "X-Sdk-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        }
        headers["Authorization"] = sdk_hmac_authorization(call.method, canonical_uri, pairs, headers, body, call)
        return _request(call.method, base_url, wire_path, query, headers, body)
    if call.edge == "alibaba":
        signed_pairs = pairs
        if len(query) > MAX_QUERY_BYTES:  # as a form body instead, which the dialect reads the same way
            body, query, signed_pairs = query.encode(), "", []
        headers = {
            "host": endpoint,
            "x-acs-action": call.action,
            "x-acs-version": ALIBABA_VERSION,
            "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        }
        if body:
            headers["content-type"] = "application/x-www-form-urlencoded"
        key, secret = call.credentials.key_id, call.credentials.secret
        headers["Authorization"] = acs3_authorization(signed_pairs, headers, body, secret, key)
        return _request("POST", base_url, "/", query, headers, body)
    agent_headers: dict[str, str | bytes] = {}
    if call.credentials.secret:
        agent_headers["Authorization"] = _header_value(f"Bearer {call.credentials.key_id}:{call.credentials.secret}")
    if call.body is not None:
        agent_headers["Content-Type"] = "application/json"
    return _request(call.method, base_url, wire_path, query, agent_headers, body)


def _request(
    method: str, base_url: str, path: str, query: str, headers: Mapping[str, str | bytes], body: bytes
) -> httpx.Request:
    url = httpx.URL(base_url + path + (f"?{query}" if query else ""))
    raw = [(k.encode("ascii"), v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in headers.items()]
    return httpx.Request(method, url, headers=raw, content=body or None)
