"""The fuzz's own instruments: the digest sees a real change and ignores what a refused request may touch."""

from __future__ import annotations

import pytest

from .catalogue import BY_NAME
from .harness import Fuzz
from .mutations import Mutation

pytestmark = pytest.mark.reliability


def test_digest_ignores_nonces_and_last_seen_and_sees_a_task(fuzz: Fuzz) -> None:
    space = fuzz.world.space("digest check")
    agent = space.agent()
    before = fuzz.digest.snapshot()
    assert agent.heartbeat().status_code == 200  # last_seen only
    space.ali("ListVirusScanTask")  # a signed Alibaba call spends a nonce
    assert before.changes(fuzz.digest.snapshot()) == []
    space.task()
    changed = before.changes(fuzz.digest.snapshot())
    assert any(line.startswith("root_tasks:") for line in changed)
    assert any(line.startswith("subtasks:") for line in changed)


def test_a_refused_request_is_counted_and_changes_nothing(fuzz: Fuzz) -> None:
    operation = BY_NAME["CreateAntiVirusTask"]
    call = fuzz.baseline(operation)
    sent = fuzz.counts.sent
    failures = fuzz.probe(operation, call, ("body", "scan_type"), Mutation("not a scan type", "sideways"))
    assert failures == []
    assert fuzz.counts.sent == sent + 1
