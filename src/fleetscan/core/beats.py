"""Heartbeats coalesced: a beat is noted in memory and one writer stores every host's last beat in one batch.

At 20,000 agents beating every 30 s, one UPDATE per beat is most of what the server does. A beat only moves a
host's `last_seen` forward, so the latest one per host is all that must reach the database, and a few seconds'
delay is harmless as long as whoever reads `last_seen` (the online window, the sweeper's offline threshold)
allows for it: `ControlPlane.beat_delay_ms`. A goodbye is not a beat: it is written at once.
"""

from __future__ import annotations

import threading

__all__ = ["Beats", "is_online"]


def is_online(last_seen: int | None, stopped_at: int | None, since: int) -> bool:
    """An agent seen at `since` or later, and not gone since (a goodbye makes it offline at once).

    `since` is `ControlPlane.online_since()`, read once per answer: a listing tests thousands of hosts against
    the same instant, and the rule takes plain values so that a row needs no object to be tested.
    """
    return last_seen is not None and last_seen >= since and (stopped_at is None or stopped_at < last_seen)


class Beats:
    """The beats noted since the last flush: host pk -> the time of its latest beat (ms)."""

    def __init__(self) -> None:
        self._pending: dict[int, int] = {}
        self._lock = threading.Lock()

    def note(self, host_pk: int, now: int) -> None:
        with self._lock:
            if now > self._pending.get(host_pk, 0):
                self._pending[host_pk] = now

    def forget(self, host_pk: int) -> None:
        """A host said goodbye: its pending beat must not be written after it."""
        with self._lock:
            self._pending.pop(host_pk, None)

    def take(self) -> dict[int, int]:
        """Everything noted so far, and a fresh start (the writer stores what it took)."""
        with self._lock:
            taken, self._pending = self._pending, {}
        return taken

    def restore(self, taken: dict[int, int]) -> None:
        """Put back what a failed flush took, without undoing newer beats."""
        for host_pk, at in taken.items():
            self.note(host_pk, at)
