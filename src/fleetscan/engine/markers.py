"""Byte strings without which some decoders find nothing, looked for in the pattern pass the engine makes anyway.

Every text layer may hold a base64 ``data:`` URI (`decoders.html`) or a uuencoded or BinHex block
(`decoders.mail`), anywhere in it, so every text was searched for them in Python: a tenth of the engine's time on
a server's tree, where almost no text holds one. The compiled signature set holds one rule per marker instead (in
`NAMESPACE`, each a string the decoder's own search cannot do without); yara-x finds them in the pass it makes over
every layer for the signatures, `MatchReader` names the markers that matched, and the walk asks such a decoder
(`Decoder.marker`) only about a layer where its marker was seen. Only files that hold a marker pay for the search.

A set compiled with other markers (an older fleetscan's cache) is rebuilt (`VERSION`); where there was no pattern
pass (a hash-only sweep) nothing is known and every decoder is asked, as before.
"""

from __future__ import annotations

import hashlib

from .decoders.binhex import BANNER

__all__ = ["NAMESPACE", "DATA_URI", "ENCODED_TEXT", "RULES", "VERSION"]

NAMESPACE = "fleetscan_markers"

DATA_URI = "data_uri"
"""``data:`` in any case: `decoders.html`'s regex starts with it (``re.IGNORECASE``)."""
ENCODED_TEXT = "encoded_text"
"""A uuencoded block's ``begin 644 name`` / ``begin-base64 644 name`` line, or BinHex's banner: `decoders.mail`."""

_STRINGS: dict[str, list[tuple[bytes, bool]]] = {  # marker -> [(string, in any case)]
    DATA_URI: [(b"data:", True)],
    ENCODED_TEXT: [(b"begin ", False), (b"begin-base64 ", False), (BANNER, False)],
}


def _string(text: bytes, nocase: bool) -> str:
    return "{ " + text.hex(" ") + " }" if not nocase else '"' + text.decode("ascii") + '" nocase'


RULES = "".join(
    f"rule {name} {{\n  strings:\n"
    + "".join(f"    $m{i} = {_string(*s)}\n" for i, s in enumerate(strings))
    + "  condition:\n    any of them\n}\n"
    for name, strings in _STRINGS.items()
)
"""The YARA source compiled into every set."""

VERSION = hashlib.sha256(RULES.encode()).hexdigest()[:16]
"""Which markers a compiled set holds (kept with its tables)."""
