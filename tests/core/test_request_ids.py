"""Request ids (`core/ids.py`): cheap, in the shapes the edges always answered, never repeated, not even by a forked
worker whose generator started as a copy of its parent's."""

from __future__ import annotations

import os
import re
import uuid

import pytest

from fleetscan.core import ids


def test_the_shapes_are_random_uuids_as_before() -> None:
    hexed, dashed = ids.request_hex(), ids.request_uuid()
    assert re.fullmatch(r"[0-9a-f]{32}", hexed)  # agent protocol, HSS: uuid4().hex
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", dashed)  # Alibaba
    for text in (hexed, dashed):
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


def test_ids_do_not_repeat() -> None:
    drawn = [ids.request_hex() for _ in range(200_000)]
    assert len(set(drawn)) == len(drawn)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_worker_draws_other_ids_than_its_parent() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            os.write(write, " ".join(ids.request_hex() for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split())
    os.waitpid(child, 0)
    ours = {ids.request_hex() for _ in range(50)}
    assert len(theirs) == 50 and not ours & theirs
