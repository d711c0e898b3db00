"""Linux paths are bytes: how the agent carries them to the server without losing or breaking any.

The engine hands paths over as ``str`` decoded with ``surrogateescape`` (``os.fsdecode``), so a name that is not
valid UTF-8 holds lone surrogates (``\\udcff``) that no JSON encoder, HTTP body or database text column accepts.
Every path therefore travels twice (docs/agent-protocol.md):

- ``exact``: base64 of the raw bytes, what quarantine and restore act on;
- ``display``: valid Unicode for people and filters. The one rule: decode as UTF-8; each byte that is not part of
  valid UTF-8, and each control character (C0 and DEL), is written ``\\xNN`` (two lowercase hex digits). A name
  that is valid UTF-8 without controls is shown unchanged. Two different names may share a display form (a name
  holding a literal ``\\xff``); their exact forms differ.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

__all__ = ["display", "exact", "from_exact", "raw"]

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def raw(path: str | bytes) -> bytes:
    """The bytes of a path as the engine holds it (``surrogateescape`` str) or as bytes."""
    return path if isinstance(path, bytes) else os.fsencode(path)


def display(path: str | bytes) -> str:
    shown = raw(path).decode("utf-8", "backslashreplace")
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", shown)


def exact(path: str | bytes) -> str:
    return base64.b64encode(raw(path)).decode("ascii")


def from_exact(encoded: str) -> str:
    """The path to hand to ``os`` functions (a ``surrogateescape`` str) from its exact form."""
    try:
        return os.fsdecode(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64 path: {exc}") from exc
