"""The display and exact forms of a path (docs/agent-protocol.md, Paths): pure functions, tested as such."""

from __future__ import annotations

import os

import pytest

from fleetscan.agent import paths
from fleetscan.agent.findings import clamp
from fleetscan.core.validation import text_problem


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"/srv/plain.txt", "/srv/plain.txt"),
        (b"/srv/caf\xc3\xa9", "/srv/caf\u00e9"),
        (b"/srv/bad-\xff\xfe-eicar.com", "/srv/bad-\\xff\\xfe-eicar.com"),
        (b"/srv/\xc3(", "/srv/\\xc3("),
        (b"/srv/line\nbreak\x7f", "/srv/line\\x0abreak\\x7f"),
    ],
)
def test_display_form(raw: bytes, shown: str) -> None:
    assert paths.display(raw) == shown
    assert paths.display(os.fsdecode(raw)) == shown  # the engine's surrogateescape str
    assert text_problem(shown) is None


def test_exact_form_round_trips_any_bytes() -> None:
    raw = bytes(range(1, 256)).replace(b"/", b"")
    assert os.fsencode(paths.from_exact(paths.exact(os.fsdecode(raw)))) == raw
    with pytest.raises(ValueError):
        paths.from_exact("not base64!")


def test_clamp_names_the_field() -> None:
    clamped: list[str] = []
    assert clamp(10**19, "file_mtime", clamped) == 2**63 - 1
    assert clamp(-5, "file_ctime", clamped) == 0
    assert clamp(7, "file_size", clamped) == 7
    assert clamped == ["file_mtime", "file_ctime"]
