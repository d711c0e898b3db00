"""The cloud dialects' JSON bodies: orjson must write the bytes Starlette's JSONResponse wrote, for what they answer.

The SDKs parse these bodies (and a few callers compare raw bytes, as the raw JSON keeps fleetscan's own fields),
so the switch of encoder must change no byte of a dialect's answer: strings with any character the text rule
lets through (control characters escaped as before, everything else raw UTF-8), int64 integers, booleans,
null, lists and objects (key order is kept, not sorted). Unit tests of a pure function: no server needed.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from fleetscan.api.json_body import JsonResponse, dumps

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # any character but a lone surrogate
SCALARS = st.none() | st.booleans() | INT64 | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


def starlette_bytes(content: Any) -> bytes:
    return JSONResponse(content).body


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_orjson_writes_the_bytes_starlette_wrote(value: Any) -> None:
    assert dumps(value) == starlette_bytes(value)
    assert JsonResponse(value).body == starlette_bytes(value)


def test_a_listing_body_and_its_headers_are_unchanged() -> None:
    body = {
        "total_num": 2,
        "data_list": [
            {
                "task_id": "a" * 32,
                "task_name": "nächtlicher Scan \u4e2d\u6587 \"quoted\" \\ back\tslash\n\u0001\u001f\u007f\u2028",
                "start_time": 1_764_547_200_000,
                "whether_paid_task": False,
                "host_info_list": [{"scan_progress": "50%", "end_time": None, "not_scanned": []}],
            }
        ],
        "1": {"EndTime": -(2**63)},
    }
    ours, theirs = JsonResponse(body, status_code=201, headers={"X-Request-Id": "r"}), JSONResponse(
        body, status_code=201, headers={"X-Request-Id": "r"}
    )
    assert ours.body == theirs.body
    assert ours.status_code == 201
    assert ours.headers.items() == theirs.headers.items()  # content-type application/json and content-length too
    assert json.loads(ours.body) == body


def test_an_int_key_is_written_as_its_string() -> None:
    assert dumps({1: "a", "b": 2}) == starlette_bytes({1: "a", "b": 2}) == b'{"1":"a","b":2}'
