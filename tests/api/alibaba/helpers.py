"""Test helpers for the Alibaba dialect: the SDK client, a generic SDK call, a fleet, and a raw signer.

The raw signer builds an ACS3-HMAC-SHA256 request by hand (from the published algorithm, not from
the server's code) so tests can send what the SDK never would: a form body, duplicate parameters,
the same nonce twice.
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
import pytest
from alibabacloud_sas20181203 import models as sas
from alibabacloud_sas20181203.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions  # type: ignore[import-untyped]

from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant

VERSION = "2018-12-03"


def sdk(server: ServerProcess, key_id: str, secret: str, **config: Any) -> Client:
    return Client(
        open_api_models.Config(
            access_key_id=key_id, access_key_secret=secret, endpoint=server.endpoint, protocol="http", **config
        )
    )


def call(client: Client, action: str, query: Mapping[str, Any], version: str = VERSION) -> dict[str, Any]:
    """Any action through the SDK's generic call_api, signed as the SDK signs every call."""
    params = utils_models.Params(
        action=action,
        version=version,
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = utils_models.OpenApiRequest(query={k: str(v) for k, v in query.items()})
    result: dict[str, Any] = client.call_api(params, request, RuntimeOptions())
    return result


def refused(client: Client, action: str, query: Mapping[str, Any], version: str = VERSION) -> ClientException:
    """Call and expect the SDK's ClientException (a 4xx answer); return it."""
    with pytest.raises(ClientException) as caught:
        call(client, action, query, version)
    assert caught.value.request_id, "every error carries a RequestId"
    return caught.value


def pct(text: str) -> str:
    return quote(text, safe="~")


def signed(
    server: ServerProcess,
    key_id: str,
    secret: str,
    action: str,
    pairs: list[tuple[str, str]],
    *,
    body: bytes = b"",
    content_type: str | None = None,
    version: str = VERSION,
    nonce: str | None = None,
    date: str | None = None,
) -> httpx.Request:
    """An ACS3-HMAC-SHA256 signed `POST /`, with `pairs` in the query (sent in the given order).

    `date` replaces the signing time (`x-acs-date`, signed as given), to send a stale or malformed one.
    """
    query = "&".join(f"{pct(k)}={pct(v)}" for k, v in pairs)
    canonical_query = "&".join(f"{k}={pct(v)}" for k, v in sorted(pairs))
    headers = {
        "host": server.endpoint,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if content_type:
        headers["content-type"] = content_type
    names = sorted(headers)
    canonical = "\n".join(
        [
            "POST",
            "/",
            canonical_query,
            "".join(f"{n}:{headers[n]}\n" for n in names),
            ";".join(names),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    url = f"{server.url}/" + (f"?{query}" if query else "")
    return httpx.Request("POST", url, headers=headers, content=body)


@dataclass
class Fleet:
    """A tenant, its SDK client and the agents it enrolled."""

    server: ServerProcess
    tenant: Tenant
    client: Client
    agents: dict[str, ProtocolAgent] = field(default_factory=dict)

    def enroll(self, name: str, private_ip: str = "", public_ip: str = "", *extra: str) -> ProtocolAgent:
        token = self.tenant.enroll_token(*extra)
        agent = ProtocolAgent(self.server.url, token, name, private_ip=private_ip, public_ip=public_ip)
        self.agents[name] = agent
        return agent

    def start(self, *agents: ProtocolAgent) -> int:
        info = [{"type": "uuid", "name": "", "target": a.host_id} for a in agents]
        resp = self.client.start_virus_scan_task(sas.StartVirusScanTaskRequest(target_info=json.dumps(info)))
        task_id = resp.body.scan_task_id
        assert isinstance(task_id, int)
        return task_id

    def take(self, agent: ProtocolAgent) -> str:
        """The agent takes its newest unfinished subtask; its id."""
        items = agent.work()
        assert items, "no work"
        subtask_id: str = items[-1]["subtask_id"]
        return subtask_id

    def tasks(self, **filters: Any) -> list[sas.ListVirusScanTaskResponseBodyList]:
        filters.setdefault("page_size", 100)
        resp = self.client.list_virus_scan_task(sas.ListVirusScanTaskRequest(**filters))
        rows: list[sas.ListVirusScanTaskResponseBodyList] = resp.body.list
        return rows

    def progress(self, task_id: int) -> str:
        req = sas.DescribeScanTaskProgressRequest(task_id=task_id)
        value: str = self.client.describe_scan_task_progress(req).body.scan_task_progress
        return value
