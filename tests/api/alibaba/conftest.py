"""Fixtures for the Alibaba dialect: a tenant's fleet with its SDK client, and a second, foreign tenant."""

from __future__ import annotations

import pytest

from tests.api.alibaba.helpers import Fleet, sdk
from tests.support.server import ServerProcess, Tenant


@pytest.fixture
def fleet(server: ServerProcess, tenant: Tenant) -> Fleet:
    return Fleet(server, tenant, sdk(server, tenant.access_key_id, tenant.secret))


@pytest.fixture
def foreign(server: ServerProcess) -> Fleet:
    """Another tenant on the same server: none of its ids may be visible to `fleet`."""
    tenant = Tenant(server)
    return Fleet(server, tenant, sdk(server, tenant.access_key_id, tenant.secret))
