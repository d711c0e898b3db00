"""The garbage collector's pace in a serving process: collect young objects every 10,000 allocations, not 700.

A listing page is tens of thousands of short-lived containers (a row tuple and a rendered dict per host, up to
2,000 hosts a page); with CPython's default threshold the collector ran some seventy times per page and promoted
most of them, and its passes cost a sixth of the page's CPU (bench/api_list.py, hss last-7-days on SQLite: 25.4 ms
of server CPU per request at 700, 20.2 ms at 10,000, 20.2 ms with the collector off). Reference counting still
frees every acyclic object at once; only cycles wait a little longer, which costs a few megabytes at most.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 10_000


def pace_collector() -> None:
    """Set the serving process's thresholds (the older generations keep CPython's defaults)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
