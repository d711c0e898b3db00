"""The storage under contract and a ControlPlane over it (to set up rows the way the edges do)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleetscan.core.service import ControlPlane
from fleetscan.storage import SqlStorage, open_storage

from .world import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStorage]:
    """The port's implementation itself, no validation layer in front: the contract is storage's."""
    opened = open_storage(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def plane(store: SqlStorage, clock: Clock) -> ControlPlane:
    return ControlPlane(store, clock)
