"""When the agent sends a progress report: the first batch at once, then at gaps doubling up to the interval."""

from __future__ import annotations

from fleetscan.agent.scanning import report_due
from fleetscan.engine import Progress


def _at(elapsed: float, files_done: int = 1) -> Progress:
    return Progress(files_done, 0, 10, 0, True, elapsed, 0, 0, None, None)


def test_the_first_batch_is_reported_at_once() -> None:
    assert not report_due(_at(0.3, files_done=0), None, interval=60)  # nothing scanned yet: nothing to say
    assert report_due(_at(0.3), None, interval=60)
    assert report_due(_at(61, files_done=0), None, interval=60)  # a first file that takes long: still reported


def test_gaps_double_up_to_the_interval() -> None:
    times, last = [], None
    for tenth in range(1, 2000):
        now = tenth / 10
        if report_due(_at(now), last, interval=30):
            times.append(now)
            last = now
    gaps = [round(b - a, 1) for a, b in zip(times, times[1:], strict=False)]
    assert times[0] == 0.1 and gaps[:4] == [1.0, 1.1, 2.2, 4.4]
    assert 30 <= gaps[-1] <= max(gaps) <= 30.1  # never more than the interval (one 0.1 s step of slack)
