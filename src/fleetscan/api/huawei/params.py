"""Reading HSS query strings and JSON bodies: presence, types and every bound of the pages, nothing else.

The SDK validates nothing on the client side, so every bound is enforced here, and a bad value is
refused with 400 HSS.0001 naming the parameter before anything is looked up or changed.

Query conventions, as the SDK sends them: arrays as repeated keys (`a=x&a=y`; a comma list `a=x,y` is
accepted too), booleans as `true`/`false` (nothing else), integers in ASCII decimal. A scalar given twice is
refused rather than guessed at. Unknown parameters are ignored, as newer SDKs may send more.

Every string, in the query or anywhere in a body, holds to `core.validation`'s text rule: names, ids, paths
and filters the strict one (no NUL, no control character, no lone surrogate), free text (a memo) the free
one. Every integer is bounded, by the page or else by int64, and a body is JSON as `load_json` reads it
(depth capped, no NaN, no integer beyond 64 bits), so nothing a backend cannot store gets past here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from ...core.validation import INT64_MAX, check_int, check_text, load_json, parse_int, text_problem
from .errors import invalid

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_DATETIME = "%Y-%m-%d %H:%M:%S"
DAY_MS = 86_400_000
MAX_TIMESTAMP_SPAN_MS = 2 * DAY_MS  # the Chinese page's limit on millisecond begin/end pairs


def _strict(name: str, value: str) -> str:
    """A query value is a name, id or filter: the strict text rule, whatever its length bound."""
    problem = text_problem(value)
    if problem is not None:
        raise invalid(name, problem)
    return value


def check_public_ip(name: str, value: str) -> str:
    """An IPv4 address of 7..15 characters or an IPv6 address of 15..39 characters, as the pages bound it."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise invalid(name, "must be an IPv4 or IPv6 address") from None
    lo, hi = (7, 15) if address.version == 4 else (15, 39)
    if not lo <= len(value) <= hi:
        raise invalid(name, f"an IPv{address.version} address must be {lo} to {hi} characters")
    return value


def check_sha256(name: str, value: str) -> str:
    if not _SHA256.match(value):
        raise invalid(name, "must be a sha256 hash (64 hexadecimal characters)")
    return value.lower()


def parse_time(name: str, value: str) -> tuple[int, bool]:
    """`YYYY-MM-DD HH:MM:SS` (UTC, the English page) or a millisecond timestamp (the Chinese page).

    Returns (milliseconds, whether it was given as a timestamp).
    """
    if _DIGITS.fullmatch(value):
        return parse_int(name, value, 0, INT64_MAX), True
    if not value.isascii():  # strptime's `%Y` would read full-width digits
        raise invalid(name, "must be 'YYYY-MM-DD HH:MM:SS' (UTC) or a millisecond timestamp")
    try:
        parsed = datetime.strptime(value, _DATETIME).replace(tzinfo=UTC)
    except ValueError:
        raise invalid(name, "must be 'YYYY-MM-DD HH:MM:SS' (UTC) or a millisecond timestamp") from None
    return int(parsed.timestamp() * 1000), False


class Query:
    def __init__(self, raw: str) -> None:
        self.values: dict[str, list[str]] = {}
        for key, value in parse_qsl(raw, keep_blank_values=True):
            self.values.setdefault(key, []).append(value)

    def one(self, name: str, *, required: bool = False) -> str | None:
        found = self.values.get(name)
        if not found:
            if required:
                raise invalid(name, "is required")
            return None
        if len(found) > 1:
            raise invalid(name, "must be given once")
        return _strict(name, found[0])

    def text(self, name: str, lo: int, hi: int, *, required: bool = False) -> str | None:
        value = self.one(name, required=required)
        return None if value is None else check_text(name, value, min_len=lo, max_len=hi)

    def integer(self, name: str, lo: int, hi: int, *, required: bool = False, default: int | None = None) -> int | None:
        value = self.one(name, required=required)
        return default if value is None else parse_int(name, value, lo, hi)

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        value = self.one(name, required=required)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise invalid(name, "must be true or false")
        return value == "true"

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        value = self.one(name)
        options = tuple(allowed)
        if value is not None and value not in options:
            raise invalid(name, f"must be one of {', '.join(options)}")
        return value

    def many(self, name: str) -> list[str] | None:
        """Repeated keys and comma lists alike; None when absent."""
        found = self.values.get(name)
        if found is None:
            return None
        items = [item.strip() for value in found for item in value.split(",")]
        if any(not item for item in items):
            raise invalid(name, "must not contain empty values")
        return [_strict(name, item) for item in items]

    def choices(self, name: str, allowed: Iterable[str]) -> frozenset[str] | None:
        items = self.many(name)
        if items is None:
            return None
        options = tuple(allowed)
        wrong = [i for i in items if i not in options]
        if wrong:
            raise invalid(name, f"{wrong[0]!r} is not one of {', '.join(options)}")
        return frozenset(items)

    def public_ip(self, name: str = "public_ip") -> str | None:
        value = self.one(name)
        return None if value is None else check_public_ip(name, value)

    def sha256(self, name: str) -> str | None:
        value = self.one(name)
        return None if value is None else check_sha256(name, value)


@dataclass(frozen=True)
class TimeRange:
    start_from: int | None = None
    start_to: int | None = None


def time_range(query: Query, now: int) -> TimeRange:
    """last_days (1..90) wins over begin_time/end_time, which are ignored then, as the page says.

    begin_time and end_time come together, in the same form, end not before begin. Given as millisecond
    timestamps (the Chinese page's form) they may be at most 2 days apart, as that page says; given as
    `YYYY-MM-DD HH:MM:SS` (the English page's form) there is no such limit, as that page has none.
    """
    last_days = query.integer("last_days", 1, 90)
    if last_days is not None:
        return TimeRange(start_from=now - last_days * DAY_MS)
    begin = query.one("begin_time")
    end = query.one("end_time")
    if begin is None and end is None:
        return TimeRange()
    if begin is None or end is None:
        missing = "begin_time" if begin is None else "end_time"
        raise invalid(missing, "begin_time and end_time must be given together")
    begin_ms, begin_stamp = parse_time("begin_time", begin)
    end_ms, end_stamp = parse_time("end_time", end)
    if begin_stamp != end_stamp:
        raise invalid("end_time", "begin_time and end_time must use the same format")
    if end_ms < begin_ms:
        raise invalid("end_time", "must not be earlier than begin_time")
    if begin_stamp and end_ms - begin_ms > MAX_TIMESTAMP_SPAN_MS:
        raise invalid("end_time", "millisecond timestamps may be at most 2 days apart")
    return TimeRange(start_from=begin_ms, start_to=end_ms)


class Body:
    """A JSON object (a body, or an object inside one). Unknown keys are ignored; a known key of the wrong
    type is a 400 naming it, as `parent.name` inside an array of objects."""

    def __init__(self, data: dict[str, Any], parent: str = "") -> None:
        self.data = data
        self.parent = parent

    @classmethod
    def parse(cls, raw: bytes) -> Body:
        data = load_json("body", raw or b"{}")
        if not isinstance(data, dict):
            raise invalid("body", "must be a JSON object")
        return cls(data)

    def _name(self, name: str) -> str:
        return f"{self.parent}.{name}" if self.parent else name

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise invalid(self._name(name), "is required")
        return value

    def text(self, name: str, lo: int, hi: int, *, required: bool = False, free: bool = False) -> str | None:
        """A name, id or path; `free` text (a memo) may hold tabs and line breaks."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(self._name(name), "must be a string")
        return check_text(self._name(name), value, min_len=lo, max_len=hi, free=free)

    def dirs(self, name: str) -> tuple[str, ...]:
        """`scan_dir` / `ignore_dir`: directories separated by `;`. Empty is absent: SDK users send `""`."""
        value = self.text(name, 0, 4096)
        return tuple(d.strip() for d in (value or "").split(";") if d.strip())

    def choice(self, name: str, allowed: Iterable[str], *, required: bool = False) -> str | None:
        value = self._get(name, required)
        options = tuple(allowed)
        if value is not None and value not in options:
            raise invalid(self._name(name), f"must be one of {', '.join(options)}")
        return value if value is None else str(value)

    def integer(self, name: str, lo: int, hi: int, *, required: bool = False) -> int | None:
        value = self._get(name, required)
        return None if value is None else check_int(self._name(name), value, lo, hi)

    def boolean(self, name: str) -> bool | None:
        value = self._get(name, False)
        if value is not None and not isinstance(value, bool):
            raise invalid(self._name(name), "must be true or false")
        return value

    def strings(self, name: str, lo: int, hi: int, *, required: bool = False, max_items: int = 10_000) -> list[str]:
        value = self._array(name, str, "strings", required=required, max_items=max_items)
        for item in value:
            check_text(self._name(name), item, min_len=lo, max_len=hi)
        return list(dict.fromkeys(value))

    def integers(self, name: str, lo: int, hi: int) -> list[int]:
        value = self._array(name, int, "integers", required=False, max_items=10_000)
        for item in value:
            if isinstance(item, bool) or not lo <= item <= hi:
                raise invalid(self._name(name), f"items must be {lo} to {hi}")
        return list(dict.fromkeys(value))

    def objects(self, name: str, *, required: bool, max_items: int) -> list[Body]:
        """An array of objects, each read as a Body whose errors name `name.field`."""
        value = self._array(name, dict, "objects", required=required, max_items=max_items)
        return [Body(item, self._name(name)) for item in value]

    def _array(self, name: str, kind: type, noun: str, *, required: bool, max_items: int) -> list[Any]:
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
            raise invalid(self._name(name), f"must be an array of {noun}")
        if required and not value:
            raise invalid(self._name(name), "must not be empty")
        if len(value) > max_items:
            raise invalid(self._name(name), f"may hold at most {max_items} items")
        return value


__all__ = [
    "Body",
    "Query",
    "TimeRange",
    "check_public_ip",
    "check_sha256",
    "parse_time",
    "time_range",
]
