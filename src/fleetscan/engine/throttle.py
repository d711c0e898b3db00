"""CPU and I/O caps for scans that run on production servers.

Each worker process gets its share of the budget: ``cpu_share`` as a fraction of one core (enforced by sleeping
so that CPU time over wall time stays under it) and ``bytes_per_second`` as a token bucket on bytes read.
"""

from __future__ import annotations

import time

__all__ = ["Throttle", "split_cpu_share"]


def split_cpu_share(cpu_share: float | None, cores: int, max_workers: int | None = None) -> tuple[int, float | None]:
    """Turn "a share of the machine's cores" into (worker count, per-worker fraction of a core).

    A share of 0.5 on 2 cores is one worker at full speed; 0.25 on 2 cores is one worker at half speed.
    """
    cores = max(1, cores)
    if cpu_share is None or cpu_share >= 1.0:
        n = cores if max_workers is None else max(1, min(cores, max_workers))
        return n, None
    if cpu_share <= 0:
        raise ValueError("cpu_share must be positive")
    budget = cpu_share * cores
    n = max(1, int(budget))
    if max_workers is not None:
        n = max(1, min(n, max_workers))
    per = budget / n
    return n, (None if per >= 1.0 else per)


class Throttle:
    __slots__ = ("cpu_share", "rate", "_t0", "_c0", "_tokens", "_last")

    def __init__(self, cpu_share: float | None = None, bytes_per_second: float | None = None) -> None:
        self.cpu_share = cpu_share
        self.rate = bytes_per_second
        self._t0 = time.monotonic()
        self._c0 = time.process_time()
        self._tokens = 0.0
        self._last = self._t0

    @property
    def active(self) -> bool:
        return self.cpu_share is not None or self.rate is not None

    def account(self, nbytes: int) -> None:
        """Called after each unit of work; sleeps as long as needed to stay within both caps."""
        now = time.monotonic()
        sleep = 0.0
        if self.rate is not None:
            # Allow a burst of one second's worth, then pay for what was read.
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate) - nbytes
            self._last = now
            if self._tokens < 0:
                sleep = -self._tokens / self.rate
        if self.cpu_share is not None:
            cpu = time.process_time() - self._c0
            wall = now - self._t0
            need = cpu / self.cpu_share - wall
            sleep = max(sleep, need)
        if sleep > 0:
            time.sleep(min(sleep, 5.0))
