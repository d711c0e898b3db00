"""Decoders: what turns one layer of content into the layers inside it.

A file is a tree of layers: the bytes on disk, then whatever a decoder finds inside them (an archive's
members, a mail's MIME parts, a PDF's streams, an OLE2 file's streams and VBA source, an HTML page's
`data:` URIs, the normalised text of a UTF-16 script, ...). The engine matches every layer and asks
the decoders below for the layers inside it, depth first, within one `Budget` per top-level file.

A decoder is a pure function of bytes. It never reads the file system and never matches signatures.
It says *whether* it claims content (`claims`, from the first bytes and the layer's name) and then
yields the layers it finds (`decode`). It tells the truth about what it could not open by raising
`Undecodable` with a `SkipReason`: the engine then reports that layer as not scanned, never clean.
A decoder that yields some layers and then fails has those layers matched first: what was expanded
before a failure or a limit is never thrown away. One part it cannot open while the rest goes on (an
encrypted member, one member over a limit) is yielded as `Unopened` in place of its layer.

Each decoder charges what it expands to the budget (`Budget.charge`), so limits on depth, expanded
size, ratio and members hold across decoders and nesting levels alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..limits import Budget
from ..results import SkipReason

__all__ = ["Decoder", "Layer", "Unopened", "Undecodable", "REGISTRY", "register", "claiming"]


@dataclass(frozen=True, slots=True)
class Layer:
    """Content found inside another layer. `name` is what the engine shows after a `!` in a member chain
    (`mail.eml!part2/invoice.zip!x.exe`): a member's path, a MIME part's file name, `stream 12`, ..."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Unopened:
    """One layer inside that the decoder could not open while the rest goes on (an encrypted member, one member
    over the size limit): yielded in place of its `Layer`, reported as not scanned under the decoder's chain."""

    name: str
    reason: SkipReason
    detail: str


class Undecodable(Exception):
    """The decoder recognised its format but could not open (all of) it: encrypted, corrupt or truncated,
    an unsupported method, or one of its own limits. The layer is then reported as not scanned."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Decoder:
    """One format. `claims(head, name)` must be cheap: it runs on every layer (the first 4 KiB and the
    layer's name, which may be empty); `decode(data, name, budget)` yields the layers inside. A decoder that finds
    nothing in a layer without a certain string names its `markers` rule: the engine, which has looked for it in
    its pattern pass, asks the decoder only about layers where it was seen."""

    name: str
    claims: Callable[[bytes, str], bool]
    decode: Callable[[bytes, str, Budget], Iterator[Layer | Unopened]]
    marker: str | None = None


REGISTRY: list[Decoder] = []
"""Every decoder the engine knows, in the order they are asked."""


def register(decoder: Decoder) -> Decoder:
    REGISTRY.append(decoder)
    return decoder


def claiming(head: bytes, name: str) -> list[Decoder]:
    """The decoders that claim a layer, in registry order."""
    return [d for d in REGISTRY if d.claims(head, name)]
