from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkhss.v5 import HssClient

from tests.support.agent_process import AgentProcess
from tests.support.server import ServerProcess, Tenant


@pytest.fixture
def hss(server: ServerProcess, tenant: Tenant) -> Any:
    return (
        HssClient.new_builder()
        .with_credentials(BasicCredentials(tenant.access_key_id, tenant.secret, tenant.project_id))
        .with_endpoints([server.url])
        .build()
    )


@pytest.fixture
def agents(server: ServerProcess, tenant: Tenant, tmp_path: Path) -> Iterator[Any]:
    started: list[AgentProcess] = []

    def start(name: str, *extra: str, url: str | None = None) -> AgentProcess:
        agent = AgentProcess(url or server.url, tenant.enroll_token(), tmp_path / "agents" / name, name, *extra)
        started.append(agent.start())
        return agent

    yield start
    for agent in started:
        agent.stop()
