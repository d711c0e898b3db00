"""Helpers for the HSS dialect tests: an SDK client aimed at the test server, raw signed requests, a fleet."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkhss.v5 import HssClient

from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant


def client(server: ServerProcess, ak: str, sk: str, project_id: str) -> HssClient:
    return (
        HssClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project_id))
        .with_endpoints([server.url])
        .build()
    )


def tenant_client(tenant: Tenant) -> HssClient:
    return client(tenant.server, tenant.access_key_id, tenant.secret, tenant.project_id)


def raw_json(response: Any) -> Any:
    """The body exactly as the server sent it, to check JSON types the SDK would coerce."""
    return json.loads(response.raw_content)


def signed(
    tenant: Tenant,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    project_header: str | None = None,
    path_project: str | None = None,
    secret: str | None = None,
    key: tuple[str, str] | None = None,
    after_signing: dict[str, str] | None = None,
) -> httpx.Response:
    """A request signed with SDK-HMAC-SHA256 by the SDK's own signer, for what the SDK itself cannot send."""
    project = path_project or tenant.project_id
    headers = {"Content-Type": "application/json"}
    header = project if project_header is None else project_header
    if header:  # "" sends no X-Project-Id at all
        headers["X-Project-Id"] = header
    request = SdkRequest(
        method=method,
        schema="http",
        host=tenant.server.endpoint,
        resource_path=f"/v5/{project}{path}",
        query_params=list(query or []),
        header_params=headers,
        body=body,
    )
    ak, sk = key or (tenant.access_key_id, secret or tenant.secret)
    Signer(BasicCredentials(ak, sk, project)).sign(request)
    sent = {**request.header_params, **(after_signing or {})}
    return httpx.request(method, tenant.server.url + request.uri, headers=sent, content=body or None, timeout=30)


def refused(call: Any, status: int, code: str) -> ClientRequestException:
    """Run an SDK call that must fail; check it failed the SDK's way, with our status, code and a request id."""
    try:
        call()
    except ClientRequestException as exc:
        assert exc.status_code == status, (exc.status_code, exc.error_code, exc.error_msg)
        assert exc.error_code == code, (exc.error_code, exc.error_msg)
        assert exc.request_id and len(exc.request_id) == 32
        return exc
    raise AssertionError("the call succeeded")


@dataclass
class Fleet:
    """A tenant with enrolled hosts driven through the agent protocol."""

    tenant: Tenant
    agents: dict[str, ProtocolAgent] = field(default_factory=dict)
    tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    def enroll(self, name: str, *extra: str, **facts: str) -> ProtocolAgent:
        if extra not in self.tokens:  # one enrollment token per set of flags: each costs an admin command
            self.tokens[extra] = self.tenant.enroll_token(*extra)
        agent = ProtocolAgent(self.tenant.server.url, self.tokens[extra], name, **facts)
        self.agents[name] = agent
        return agent

    def host_id(self, name: str) -> str:
        return self.agents[name].host_id

    def subtask(self, name: str, task_id: str) -> str:
        """The agent takes its work and returns its subtask of `task_id`."""
        for item in self.agents[name].work():
            if item["task_id"] == task_id:
                return str(item["subtask_id"])
        raise AssertionError(f"{name} has no work for {task_id}")
