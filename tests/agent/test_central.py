"""The agent's copy of the server's signature set: a bad download never replaces the last good one."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fleetscan.agent.central import CentralSignatures
from fleetscan.agent.client import AgentClient


def _body(version: int, files: dict[tuple[str, str], bytes], *, lie: bool = False) -> dict[str, Any]:
    return {
        "version": version,
        "etag": f'"e{version}"',
        "files": [
            {"set": s, "name": n, "kind": "yara", "content_b64": base64.b64encode(c).decode(),
             "sha256": hashlib.sha256(b"other" if lie else c).hexdigest()}
            for (s, n), c in files.items()
        ],
    }


class _Server(AgentClient):
    """The download answered from a table (a unit test of the agent's bookkeeping, no protocol involved)."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        super().__init__("http://127.0.0.1:9")
        self.answers = answers
        self.asked: list[tuple[str, str | None]] = []

    def signatures(self, url: str, etag: str | None) -> dict[str, Any] | None:
        self.asked.append((url, etag))
        return self.answers[url]


def test_a_version_is_stored_then_pointed_at(tmp_path: Path) -> None:
    server = _Server({"/v1": _body(1, {("a", "r.yar"): b"rule r { condition: true }"})})
    central = CentralSignatures(tmp_path, server)
    central.update({"version": 1, "etag": '"e1"', "url": "/v1"})
    held = central.held()
    assert held is not None and held.version == 1 and (held.folder / "a" / "r.yar").exists()
    central.update({"version": 1, "etag": '"e1"', "url": "/v1"})
    assert len(server.asked) == 1  # held: not asked again


@pytest.mark.parametrize(
    "bad",
    [
        _body(2, {("a", "r.yar"): b"x"}, lie=True),  # content that is not its sha256
        _body(2, {("..", "r.yar"): b"x"}),  # a set name that climbs out
        _body(2, {("a", "../../evil.yar"): b"x"}),
    ],
)
def test_a_bad_download_keeps_the_last_good_set(
    tmp_path: Path, bad: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    server = _Server({"/v1": _body(1, {("a", "r.yar"): b"rule r { condition: true }"}), "/v2": bad})
    central = CentralSignatures(tmp_path / "central", server)
    central.update({"version": 1, "etag": '"e1"', "url": "/v1"})
    with caplog.at_level(logging.WARNING, "fleetscan.agent"):
        central.update({"version": 2, "etag": '"e2"', "url": "/v2"})
    assert "central signatures not updated" in caplog.text
    assert json.loads((tmp_path / "central" / "current.json").read_text())["version"] == 1
    assert server.asked[-1] == ("/v2", '"e1"')
    assert not (tmp_path / "central" / "v2").exists() and not list(tmp_path.rglob("evil.yar"))
    assert not [p for p in (tmp_path / "central").iterdir() if p.name.startswith(".download-")]
