"""Reading Alibaba RPC parameters: the query merged with a form body, typed and bounded.

The SDKs send everything as strings: integers and longs in decimal, booleans as `True`/`False`
(Python) or `true`/`false` (others), lists as `Name.1`, `Name.2`, ... Nothing is validated on the
client side, so every getter here checks type and bounds and raises InvalidParameter (or
MissingParameter) naming the parameter, before any operation looks at it. Unknown names are
ignored: the common parameters (Format, Timestamp, SignatureNonce, ...) arrive here too.

Text holds to `core.validation`'s rule: every parameter here is a name, id, path or filter, so the
strict one (no NUL, no control character, no lone surrogate). A JSON-valued parameter is read by
`load_json` (depth capped, no NaN, no integer beyond 64 bits, no NUL or lone surrogate anywhere in
it), and the names and paths inside it are held to the strict rule by the operation that reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, TypeVar

from ...core.errors import InvalidParameter
from ...core.validation import CONTROL, NUL, SURROGATE, load_json, text_problem
from .errors import invalid, missing
from .lang import DEFAULT_CONTENT_LANG, LANGS, Lang

INT_MAX: Final = 2**31 - 1  # Alibaba's `integer` is a Java int
LONG_MAX: Final = 2**63 - 1  # and `long` a Java long
_DECIMAL = re.compile(r"-?[0-9]{1,20}")
_INDEXED = re.compile(r"([A-Za-z][A-Za-z0-9]*)\.(.*)")
_TEXT_REASONS: Final = {SURROGATE: "unicode", NUL: "control", CONTROL: "control"}  # lang.py reasons

C = TypeVar("C", bound=str)


def is_name(value: str) -> bool:
    """Whether `value` may be a name, path or id: the strict text rule (see core/validation.py)."""
    return text_problem(value) is None


def check_name(name: str, value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise invalid(name, _TEXT_REASONS[problem])
    return value


def parse_json(name: str, text: str) -> object:
    """JSON text by `load_json`; a refusal names where in the value it found the fault."""
    try:
        return load_json(name, text)
    except InvalidParameter as exc:
        problem = exc.message.removeprefix(f"{exc.parameter}: ")
        reason = _TEXT_REASONS.get(problem)
        if reason is not None:
            raise invalid(exc.parameter, reason) from None
        raise invalid(exc.parameter, "core", detail=problem) from None


class Params:
    """The request's parameters by name, each given at most once."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for name, value in pairs:
            if name in self.values:
                raise invalid(name, "duplicate")
            self.values[name] = value

    def raw(self, name: str) -> str | None:
        return self.values.get(name)

    # ------------------------------------------------------------------ scalars
    def text(self, name: str, *, max_len: int = 256, min_len: int = 1, required: bool = False) -> str | None:
        """A string; an empty value counts as absent (the SDK never sends empty strings for None)."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        if not min_len <= len(value) <= max_len:
            raise invalid(name, "length", lo=min_len, hi=max_len)
        return check_name(name, value)

    def choice(self, name: str, choices: tuple[C, ...], *, required: bool = False) -> C | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        for option in choices:
            if value == option:
                return option
        raise invalid(name, "choice", choices=", ".join(choices))

    def integer(self, name: str, lo: int, hi: int, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        return _to_int(name, value, lo, hi)

    def boolean(self, name: str) -> bool | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise invalid(name, "bool")

    def lang(self) -> Lang:
        return self.choice("Lang", LANGS) or DEFAULT_CONTENT_LANG

    def page(self, *, required: bool = False, max_size: int = 100) -> tuple[int, int]:
        """(CurrentPage, PageSize): CurrentPage 1..2^31-1 (default 1), PageSize 1..max_size (default 20)."""
        current = self.integer("CurrentPage", 1, INT_MAX, required=required)
        size = self.integer("PageSize", 1, max_size, required=required)
        return (current or 1), (size or 20)

    # ------------------------------------------------------------------ lists (Name.N)
    def _indexed(self, name: str, max_items: int) -> list[str] | None:
        items: dict[int, str] = {}
        for key, value in self.values.items():
            if key == name:
                raise invalid(name, "array_name", array=name, max=max_items)
            matched = _INDEXED.fullmatch(key)
            if matched is None or matched.group(1) != name:
                continue
            index = matched.group(2)
            if not index.isascii() or not index.isdigit() or index.startswith("0") or len(index) > 6:
                raise invalid(key, "array_name", array=name, max=max_items)
            if int(index) > max_items:
                raise invalid(key, "array_name", array=name, max=max_items)
            items[int(index)] = value
        if not items:
            return None
        if sorted(items) != list(range(1, len(items) + 1)):
            raise invalid(name, "array_gap")
        return [items[i] for i in range(1, len(items) + 1)]

    def int_list(self, name: str, lo: int, hi: int, *, max_items: int) -> list[int] | None:
        values = self._indexed(name, max_items)
        if values is None:
            return None
        return [_to_int(f"{name}.{i}", v, lo, hi) for i, v in enumerate(values, 1)]

    def text_list(self, name: str, *, max_len: int, max_items: int) -> list[str] | None:
        values = self._indexed(name, max_items)
        if values is None:
            return None
        for i, value in enumerate(values, 1):
            if not 1 <= len(value) <= max_len:
                raise invalid(f"{name}.{i}", "length", lo=1, hi=max_len)
            check_name(f"{name}.{i}", value)
        return values

    # ------------------------------------------------------------------ JSON strings
    def json_value(self, name: str, *, max_len: int, required: bool = False) -> object | None:
        value = self.text(name, max_len=max_len, required=required)
        return None if value is None else parse_json(name, value)


def _to_int(name: str, value: str, lo: int, hi: int) -> int:
    if not _DECIMAL.fullmatch(value):
        raise invalid(name, "int_range", lo=lo, hi=hi)
    number = int(value)
    if not lo <= number <= hi:
        raise invalid(name, "int_range", lo=lo, hi=hi)
    return number
