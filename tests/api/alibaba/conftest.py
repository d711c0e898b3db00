"""Fixtures for the Alibaba dialect: the official SDK client bound to a tenant, and a small fleet."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from alibabacloud_sas20181203 import models as sas
from alibabacloud_sas20181203.client import Client
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi import utils_models
from darabonba.runtime import RuntimeOptions
from tests.support.agent_protocol import ProtocolAgent
from tests.support.server import ServerProcess, Tenant


def sdk(server: ServerProcess, key_id: str, secret: str, **config: Any) -> Client:
    return Client(
        open_api_models.Config(
            access_key_id=key_id, access_key_secret=secret, endpoint=server.endpoint, protocol="http", **config
        )
    )


def call(client: Client, action: str, query: dict[str, Any], version: str = "2018-12-03") -> dict[str, Any]:
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
        info = [{"type": "uuid", "name": a.host_id[:8], "target": a.host_id} for a in agents]
        resp = self.client.start_virus_scan_task(sas.StartVirusScanTaskRequest(target_info=json.dumps(info)))
        task_id = resp.body.scan_task_id
        assert isinstance(task_id, int)
        return task_id

    def subtask(self, agent: ProtocolAgent) -> str:
        """The agent takes its one pending subtask; its id."""
        items = agent.work()
        assert items, "no work"
        subtask_id: str = items[-1]["subtask_id"]
        return subtask_id

    def machine_rows(self, **filters: Any) -> list[sas.ListVirusScanTaskResponseBodyList]:
        resp = self.client.list_virus_scan_task(sas.ListVirusScanTaskRequest(page_size=100, **filters))
        rows: list[sas.ListVirusScanTaskResponseBodyList] = resp.body.list
        return rows


@pytest.fixture
def fleet(server: ServerProcess, tenant: Tenant) -> Fleet:
    return Fleet(server, tenant, sdk(server, tenant.access_key_id, tenant.secret))


MakeFleet = Callable[[], Fleet]


@pytest.fixture
def other_fleet(server: ServerProcess) -> Fleet:
    """A second tenant on the same server: none of its ids may be visible to the first."""
    tenant = Tenant(server)
    return Fleet(server, tenant, sdk(server, tenant.access_key_id, tenant.secret))
