"""The last line of a decoder built on a third-party parser: whatever it raises becomes ``Undecodable``.

Parsers of hostile input fail in ways no one lists (olefile recursing through a directory cycle, a codec's
IndexError); one such file must cost its own layer a ``corrupt`` verdict, not the walk of the file holding it.
The tests call the unguarded function (``__wrapped__``), so a bug in a decoder still shows there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..limits import ArchiveLimitExceeded, Budget
from ..results import SkipReason
from . import Layer, Undecodable

__all__ = ["guarded"]

DecodeFn = Callable[[bytes, str, Budget], Iterator[Layer]]


def guarded(fmt: str, decode: DecodeFn) -> DecodeFn:
    def run(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
        try:
            yield from decode(data, name, budget)
        except (Undecodable, ArchiveLimitExceeded):
            raise
        except MemoryError as exc:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"out of memory decoding {fmt} at {name or fmt}") from exc
        except Exception as exc:  # noqa: BLE001 - see the module's docstring
            detail = f"{fmt} damaged ({type(exc).__name__}: {exc}) at {name or fmt}"
            raise Undecodable(SkipReason.CORRUPT, detail) from exc

    run.__wrapped__ = decode  # type: ignore[attr-defined]
    run.__doc__ = decode.__doc__
    return run
