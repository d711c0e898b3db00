"""The reliability fuzz's fixtures: per backend, a server on a database of its own, and the session's counts.

Its own server, not the session's shared one: the database digest must see only what the fuzz does. The
scheduler and the sweeper are slowed to once a day (each runs once at start, before anything exists), so
no background pass can change the database between the two digests around a request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.digest import Digest
from tests.support.server import ServerProcess

from .harness import Fuzz
from .tally import TALLY
from .world import World

QUIET = ("--schedule-interval", "86400", "--sweep-interval", "86400")


@pytest.fixture(scope="session")
def fuzz(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-sqlite') / 'fleetscan.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    server = ServerProcess(url, *QUIET).start()
    world = World(server)
    digest = Digest(url)
    try:
        yield Fuzz(world, digest, TALLY.of(backend))
    finally:
        world.close()
        digest.close()
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in TALLY.summary():
        terminalreporter.write_line(line)
