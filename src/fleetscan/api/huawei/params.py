"""Reading HSS query strings and JSON bodies: presence, types and every bound of the pages, nothing else.

The SDK validates nothing on the client side, so every bound is enforced here, and a bad value is
refused with 400 HSS.0001 naming the parameter before anything is looked up or changed.

Query conventions, as the SDK sends them: arrays as repeated keys (`a=x&a=y`; a comma list `a=x,y` is
accepted too), booleans as `true`/`false` (nothing else), integers in decimal. A scalar given twice is
refused rather than guessed at. Unknown parameters are ignored, as newer SDKs may send more.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid

_INT = re.compile(r"^-?[0-9]{1,19}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DATETIME = "%Y-%m-%d %H:%M:%S"
DAY_MS = 86_400_000
MAX_TIMESTAMP_SPAN_MS = 2 * DAY_MS  # the Chinese page's limit on millisecond begin/end pairs


def check_length(name: str, value: str, lo: int, hi: int) -> str:
    if not lo <= len(value) <= hi:
        raise invalid(name, f"length must be {lo} to {hi} characters")
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
    if value.isdigit() and len(value) <= 19:
        return int(value), True
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
        return found[0]

    def text(self, name: str, lo: int, hi: int, *, required: bool = False) -> str | None:
        value = self.one(name, required=required)
        return None if value is None else check_length(name, value, lo, hi)

    def integer(self, name: str, lo: int, hi: int, *, required: bool = False, default: int | None = None) -> int | None:
        value = self.one(name, required=required)
        if value is None:
            return default
        if not _INT.match(value):
            raise invalid(name, "must be an integer")
        number = int(value)
        if not lo <= number <= hi:
            raise invalid(name, f"must be {lo} to {hi}")
        return number

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
        return items

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
    """A JSON object body. Unknown keys are ignored; a known key of the wrong type is a 400."""

    def __init__(self, raw: bytes) -> None:
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise invalid("body", "must be a JSON object") from None
        if not isinstance(data, dict):
            raise invalid("body", "must be a JSON object")
        self.data: dict[str, Any] = data

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise invalid(name, "is required")
        return value

    def text(self, name: str, lo: int, hi: int, *, required: bool = False) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(name, "must be a string")
        return check_length(name, value, lo, hi)

    def choice(self, name: str, allowed: Iterable[str], *, required: bool = False) -> str | None:
        value = self._get(name, required)
        options = tuple(allowed)
        if value is not None and value not in options:
            raise invalid(name, f"must be one of {', '.join(options)}")
        return value if value is None else str(value)

    def strings(self, name: str, lo: int, hi: int, *, required: bool = False, max_items: int = 10_000) -> list[str]:
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(name, "must be an array of strings")
        if required and not value:
            raise invalid(name, "must not be empty")
        if len(value) > max_items:
            raise invalid(name, f"may hold at most {max_items} items")
        for item in value:
            check_length(name, item, lo, hi)
        return list(dict.fromkeys(value))

    def integers(self, name: str, lo: int, hi: int) -> list[int]:
        value = self._get(name, False)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise invalid(name, "must be an array of integers")
        for item in value:
            if not lo <= item <= hi:
                raise invalid(name, f"items must be {lo} to {hi}")
        return list(dict.fromkeys(value))
