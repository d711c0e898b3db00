"""Fixtures for the signature tests: the 31 requests the real SDKs sent to a capture server.

The captures carry fake credentials only; they are real wire traffic, which is why they are the primary
test vectors rather than requests built by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fleetscan.auth import RequestParts

CAPTURES = Path("/work/shared/research/api/captures.jsonl")

ALI_AK = "FakeAliAccessKeyId"
ALI_SECRET = "FakeAliSecret/+=~"
HW_AK = "FAKEHWAK0000000000"
HW_SECRET = "FakeHuaweiSK0123456789"


@dataclass(frozen=True)
class Capture:
    """One captured request and the secret it was signed with."""

    index: int
    route: str
    req: RequestParts
    secret: str

    @property
    def id(self) -> str:
        return f"{self.index:02d}-{self.route}"


def load_captures() -> list[Capture]:
    """Read captures.jsonl into RequestParts exactly as the HTTP edge would build them."""
    captures: list[Capture] = []
    for index, line in enumerate(CAPTURES.read_text(encoding="utf-8").splitlines()):
        data = json.loads(line)
        assert data["raw_path"] == data["path"] + (f"?{data['query_raw']}" if data["query_raw"] else "")
        req = RequestParts(
            method=data["method"],
            path=data["path"],
            query=data["query_raw"],
            headers=tuple((name, value) for name, value in data["headers"]),
            body=data["body"].encode("utf-8"),
        )
        secret = ALI_SECRET if data["route"].startswith("ali:") else HW_SECRET
        captures.append(Capture(index, data["route"], req, secret))
    return captures


ALL_CAPTURES = load_captures()
