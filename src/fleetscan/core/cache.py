"""A small time-bounded memo for facts a request needs on every call and that almost never change.

An agent's credential and the owner of a subtask are read on every report; caching them for a few seconds takes
a database round trip off each request. The bound is what keeps it honest: nothing here is the truth, a replica
that lost its cache answers the same, and a change in the database reaches every replica within `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live `ttl` seconds; past `size` entries the oldest go first. Thread-safe (handlers run in a pool)."""

    def __init__(self, ttl: float, size: int = 200_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None or found[0] < self.clock():
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self.clock() + self.ttl, value)
            while len(self._entries) > self.size:  # dicts keep insertion order: the first key is the oldest
                del self._entries[next(iter(self._entries))]

    def keys(self) -> list[K]:
        """A snapshot of the keys held (live or expired): what a bulk check of the entries goes through."""
        with self._lock:
            return list(self._entries)

    def drop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
