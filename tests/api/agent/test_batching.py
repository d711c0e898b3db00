"""api/agent/batching.py: requests that arrive while a call is in flight are served together by the next call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from fleetscan.api.agent.batching import Batcher, Outcome


def test_requests_arriving_meanwhile_share_the_next_call_and_keep_their_own_answers() -> None:
    calls: list[list[int]] = []
    gate = threading.Event()

    def serve(keys: Sequence[int]) -> list[Outcome[int]]:
        calls.append(list(keys))
        if len(calls) == 1:
            gate.wait(5)  # the first call is still in flight while the others arrive
        return [(None, ValueError(k)) if k < 0 else (k * 10, None) for k in keys]

    async def main() -> list[object]:
        batcher: Batcher[int, int] = Batcher(serve, max_batch=3)
        first = asyncio.ensure_future(batcher.run(1))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(batcher.run(k)) for k in (2, -3, 4, 5)]
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    answers = asyncio.run(main())
    assert calls == [[1], [2, -3, 4], [5]]  # one call in flight at a time, at most max_batch keys each
    assert answers[:2] == [10, 20] and answers[3:] == [40, 50]
    assert isinstance(answers[2], ValueError)  # an error is its own request's only


def test_a_call_that_fails_fails_every_request_it_served() -> None:
    def serve(keys: Sequence[int]) -> list[Outcome[int]]:
        raise RuntimeError("database gone")

    async def main() -> None:
        batcher: Batcher[int, int] = Batcher(serve, max_batch=10)
        results = await asyncio.gather(batcher.run(1), batcher.run(2), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        with pytest.raises(RuntimeError):
            await batcher.run(3)  # and the next call is made again

    asyncio.run(main())
