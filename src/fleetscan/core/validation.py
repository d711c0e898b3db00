"""The one rule for text and numbers, applied at every edge and again in front of storage.

Every string that reaches the core must be storable by both backends and readable by every client:
valid Unicode scalar values (a JSON `\\udfff` escape decodes to a lone surrogate, which neither UTF-8
nor PostgreSQL can hold), never NUL (PostgreSQL text refuses it, SQLite would keep it and hand it
back), and, where the string is a name, a path, an id or a filter, no other C0 control or DEL either.
Every integer must fit the column it lands in: a signed 64-bit integer unless the field says less.
Integers written as text are ASCII decimal only (`str.isdigit` would take `²` and `٣`).

A value that breaks the rule is refused with `InvalidParameter` naming the field; nothing is cut short
or coerced. Each edge maps that error to its own wire shape.
"""

from __future__ import annotations

import json
import math
import re
from typing import Final

from .errors import InvalidParameter

__all__ = [
    "CONTROL",
    "INT32_MAX",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_JSON_DEPTH",
    "NUL",
    "SURROGATE",
    "check_int",
    "check_text",
    "check_tree",
    "load_json",
    "parse_int",
    "text_problem",
]

INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
MAX_JSON_DEPTH: Final = 32
_DECIMAL = re.compile(r"-?[0-9]{1,20}", re.ASCII)
# What `text_problem` answers, named so that an edge can word each in its own languages.
SURROGATE: Final = "must be valid Unicode (it holds a lone surrogate)"
NUL: Final = "must not contain NUL"
CONTROL: Final = "must not contain control characters"
# Tab, newline and carriage return are fine in free text (a memo, a reason); no other control is.
_FREE_TEXT_CONTROLS: Final = frozenset("\t\n\r")


# Any character either rule may refuse; one regex search finds none in clean text at C speed, so the rule
# costs little on long values (a report's checkpoint, every path of a report) at every edge and in storage.
_SUSPECT = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def text_problem(value: str, *, free: bool = False) -> str | None:
    """Why `value` cannot be stored, or None. `free` text may hold tabs and line breaks."""
    first = _SUSPECT.search(value)
    if first is None:
        return None
    for char in value[first.start() :]:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return SURROGATE
        if code == 0:
            return NUL
        if (code < 0x20 or code == 0x7F) and not (free and char in _FREE_TEXT_CONTROLS):
            return CONTROL
    return None


def check_text(name: str, value: str, *, max_len: int, min_len: int = 0, free: bool = False) -> str:
    """`value` unchanged, or InvalidParameter: length in characters and the text rule above."""
    if not min_len <= len(value) <= max_len:
        raise InvalidParameter(name, f"length must be {min_len} to {max_len} characters")
    problem = text_problem(value, free=free)
    if problem is not None:
        raise InvalidParameter(name, problem)
    return value


def check_int(name: str, value: int, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, "must be an integer")
    if not lo <= value <= hi:
        raise InvalidParameter(name, f"must be {lo} to {hi}")
    return value


def parse_int(name: str, text: str, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
    """An integer written in ASCII decimal, bounded; nothing else is an integer."""
    if not _DECIMAL.fullmatch(text):
        raise InvalidParameter(name, "must be an integer written in decimal digits")
    return check_int(name, int(text), lo, hi)


def check_tree(name: str, value: object, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """Walk a parsed JSON value: depth, keys and strings by the text rule, integers within int64, finite numbers.

    Strings inside a tree are held to the free-text rule; the field that uses one applies its own,
    stricter rule when it reads it. A refusal names where it found the value (`body.host_ids[0]`), so a
    caller learns which field to fix. Iterative, so a deep tree cannot exhaust the stack.
    """
    stack: list[tuple[object, int, str]] = [(value, 1, name)]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidParameter(name, f"JSON may be nested at most {max_depth} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    _tree_text(where, key)
                    stack.append((child, depth + 1, f"{where}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{where}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, str):
            _tree_text(where, item)
        elif isinstance(item, int) and not isinstance(item, bool):
            if not INT64_MIN <= item <= INT64_MAX:
                raise InvalidParameter(where, "holds an integer beyond 64 bits")
        elif isinstance(item, float) and not math.isfinite(item):
            # `1e400` parses to inf without passing parse_constant, and no JSON writer can give it back.
            raise InvalidParameter(where, "holds a number beyond a double")
    return value


def _tree_text(where: str, value: str) -> None:
    problem = text_problem(value, free=True)
    if problem is not None:
        raise InvalidParameter(where, problem)


def _no_constant(token: str) -> object:
    raise ValueError(f"{token} is not JSON")


def load_json(name: str, raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> object:
    """Parse JSON and hold the result to `check_tree`. NaN and Infinity are not JSON and are refused."""
    try:
        value: object = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidParameter(name, f"JSON may be nested at most {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter(name, "must be valid JSON") from None
    return check_tree(name, value, max_depth=max_depth)
