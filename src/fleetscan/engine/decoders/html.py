"""Base64 ``data:`` URIs in HTML, CSS, JavaScript and any other text, each decoded as a layer.

``<a href="data:application/octet-stream;base64,TVqQ...">`` carries a whole executable (ClamAV's own
``clam.exe.html``); web shells and phishing pages hide payloads the same way in CSS ``url(data:...)`` and in
scripts. The claim is the text probe (a data URI may sit anywhere, so the name and the head prove nothing);
decoding is one regex pass, so a text file without a data URI costs a ``memchr`` for a colon and at most two
``find``s.
Tiny payloads (icons, spacer GIFs) are decoded too: a hash signature may be for a tiny file.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

from .. import markers
from ..limits import Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, register
from .guard import guarded
from .text import NORMALISED, is_text

__all__ = ["MAX_URIS", "decode_data_uris"]

#: Data URIs decoded per layer; more is a limit (the ones before it are matched).
MAX_URIS = 10_000

_URI = re.compile(
    rb"data:[\w.+-]*/?[\w.+-]*(?:;[\w.+-]+=(?:[^;,\s\"'<>]*|\"[^\"]*\"))*;base64,"  # media type, parameters
    rb"((?:[A-Za-z0-9+/_-]++|\\?\r?\n[ \t]*+)++=*)",  # base64, across line breaks (CSS escapes them with a \\)
    re.IGNORECASE,
)
_JUNK = re.compile(rb"[\s\\]+")


def decode_data_uris(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    if b":" not in data or (data.find(b"ata:") < 0 and data.find(b"ATA:") < 0):
        return  # the common case: no colon (one memchr, a tenth of a search), or no data:, Data:, DATA:, dATA:
    for n, match in enumerate(_URI.finditer(data), 1):
        where = f"{name}!data URI {n}" if name else f"data URI {n}"
        if n > MAX_URIS:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"more than {MAX_URIS} data URIs at {where}")
        text = _JUNK.sub(b"", match.group(1)).rstrip(b"=")
        if not text:
            continue
        text = text.replace(b"-", b"+").replace(b"_", b"/")  # the URL-safe alphabet too
        try:
            out = binascii.a2b_base64(text + b"=" * (-len(text) % 4))
        except binascii.Error as exc:  # one character too many: keep what decodes, say it was damaged
            out = binascii.a2b_base64(text[: len(text) // 4 * 4]) if len(text) >= 4 else b""
            if out:
                budget.charge(len(out), where)
                yield Layer(f"data URI {n}", out)
            raise Undecodable(SkipReason.CORRUPT, f"bad base64 in {where}: {exc}") from exc
        budget.charge(len(out), where)
        yield Layer(f"data URI {n}", out)


def _claims(head: bytes, name: str) -> bool:
    """Any text: a data URI may sit past the head, and a text file without one costs ``decode`` one search."""
    return name != NORMALISED and is_text(head)


DECODER = register(Decoder("html", _claims, guarded("data URI", decode_data_uris), marker=markers.DATA_URI))
