"""The status vocabularies as data: every row of the issue's mapping, both directions."""

from __future__ import annotations

import pytest

from fleetscan.api.alibaba import status
from fleetscan.core.states import RootStatus

R = RootStatus

EXPECTED: list[tuple[status.Vocabulary, dict[str, object]]] = [  # type: ignore[type-arg]
    (
        status.LIST_SUBTASK_STATUS,
        {"pending": 1, "dispatched": 1, "running": 1, "succeeded": 2, "failed": 3, "cancelled": 3, "timed_out": 4},
    ),
    (
        status.LIST_ROOT_STATUS,
        {"pending": 1, "running": 1, "succeeded": 2, "failed": 3, "cancelled": 3, "timed_out": 4},
    ),
    (
        status.LATEST_MAIN_STATUS,
        {"pending": 0, "running": 10, "succeeded": 100, "failed": 100, "timed_out": 100, "cancelled": 100},
    ),
    (
        status.SCAN_TASK_PROGRESS,
        {
            "pending": "init",
            "running": "Processing",
            "succeeded": "Success",
            "failed": "Failed",
            "timed_out": "Failed",
            "cancelled": "Failed",
        },
    ),
]


@pytest.mark.parametrize(("vocab", "expected"), EXPECTED, ids=lambda v: getattr(v, "name", ""))
def test_every_row(vocab: status.Vocabulary, expected: dict[str, object]) -> None:  # type: ignore[type-arg]
    assert dict(vocab.rows()) == expected
    for core_value, wire in expected.items():
        state = vocab.core(core_value)
        assert vocab.render(state) == wire
        assert state in vocab.parse(wire)
    for wire in vocab.wire_values():
        assert {s.value for s in vocab.parse(wire)} == {k for k, v in expected.items() if v == wire}
    assert vocab.parse(-1) == frozenset()


def test_all_vocabularies_are_published() -> None:
    assert [v.name for v in status.VOCABULARIES] == [v.name for v, _ in EXPECTED]
    assert all(v.operation and v.field for v in status.VOCABULARIES)


def test_every_published_vocabulary_is_sent() -> None:
    """A vocabulary the adapter never renders would be a documented claim that nothing keeps."""
    from pathlib import Path

    adapter = Path(status.__file__).parent
    code = "".join(p.read_text() for p in adapter.glob("*.py") if p.name != "status.py")
    for name in status.__all__:
        if isinstance(getattr(status, name), status.Vocabulary):
            assert f"status.{name}.render" in code, name


def test_a_vocabulary_must_cover_every_state() -> None:
    with pytest.raises(ValueError, match="timed_out"):
        status.Vocabulary("x", "Op", "F", RootStatus, {s: 1 for s in RootStatus if s is not R.TIMED_OUT})  # type: ignore[misc]
