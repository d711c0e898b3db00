"""Shared fixtures: a real PostgreSQL, real server processes on SQLite and on PostgreSQL, one tenant per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer
from tests.support.server import ServerProcess, Tenant


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fresh_url(backend: str, pg: pytest.FixtureRequest, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'fleetscan.db'}"
    postgres: PostgresServer = pg.getfixturevalue("postgres")
    return postgres.new_database()


@pytest.fixture(scope="session")
def server(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server process per backend for the whole session; tests keep apart by tenant."""
    proc = ServerProcess(_fresh_url(backend, request, tmp_path_factory.mktemp(backend))).start()
    yield proc
    proc.stop()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of its own, for tests that start their own servers."""
    return _fresh_url(backend, request, tmp_path)


@pytest.fixture
def tenant(server: ServerProcess) -> Tenant:
    return Tenant(server)


# Folders whose tests run real agents, browsers or benchmarks: the fast tier (`make test-fast`) leaves them out.
_SLOW_FOLDERS = ("agent", "console", "bench")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: real agents, browsers or benchmarks (left out of make test-fast)")
    config.addinivalue_line("markers", "reliability: the property-based fuzz of every edge")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(root).parts
        if parts and parts[0] in _SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
