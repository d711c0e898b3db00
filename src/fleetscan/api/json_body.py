"""The JSON response both cloud dialects answer with: orjson, with the bytes the SDKs already read.

A listing page is thousands of objects; the standard library's encoder cost a tenth of the request
(bench/api_list.py). orjson writes the same bytes as Starlette's `JSONResponse` (compact separators,
UTF-8 rather than `\\u` escapes, the same escapes for control characters, the same integers):
tests/api/test_json_body.py compares the two. The differences are out of a dialect's reach, whose answers
hold no floats and no integer wider than storage's int64: a float's exponent has no leading zero
(`1.5e-7`, not `1.5e-07`), a non-finite float is written as null rather than refused, and an integer
beyond 64 bits is refused rather than written.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JsonResponse", "dumps"]

_OPTIONS = orjson.OPT_NON_STR_KEYS  # an int key becomes its string, as the standard library writes it


def dumps(content: Any) -> bytes:
    """`content` as the compact UTF-8 JSON every cloud answer carries."""
    return orjson.dumps(content, option=_OPTIONS)


class JsonResponse(Response):
    """Starlette's JSONResponse, encoded by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
