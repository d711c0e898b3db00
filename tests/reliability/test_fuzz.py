"""Property-based fuzz over every operation of the three edges, one field changed at a time (issue 8, item 8).

For each operation: its baseline succeeds unmutated (so the harness is right), then hypothesis changes one
field per example and each answer must be below 500, in the edge's own error shape, and, when the request
was not accepted, leave the database as it was. FLEETSCAN_FUZZ_EXAMPLES sets the examples per operation
(small by default to keep `make test` quick; raise it for a longer run by hand). The counts per backend are
printed at the end of the session; FLEETSCAN_FUZZ_REPORT=<file> also writes every distinct failure.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .catalogue import OPERATIONS, Operation
from .harness import Fuzz
from .mutations import one_field
from .tally import Failure

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("FLEETSCAN_FUZZ_EXAMPLES", "30"))


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_baseline_is_accepted(fuzz: Fuzz, operation: Operation) -> None:
    reply = fuzz.world.send(fuzz.baseline(operation))
    assert reply.is_success, f"{operation.name}: the unmutated request got {reply.status_code} {reply.text[:300]}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_one_field_at_a_time(fuzz: Fuzz, operation: Operation) -> None:
    found: dict[tuple[str, str, str, int], Failure] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        call = fuzz.baseline(operation)
        target, mutation = data.draw(one_field(call), label="field and mutation")
        for failure in fuzz.probe(operation, call, target, mutation):
            found.setdefault((failure.field, failure.mutation, failure.problem, failure.status), failure)

    explore()
    assert not found, f"{len(found)} distinct failures:\n" + "\n".join(f.line() for f in found.values())
