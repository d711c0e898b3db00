"""RFC 3986 percent-encoding and query parsing shared by all three signature schemes.

Every scheme canonicalises *decoded* parameters and re-encodes them, so the verifier and the server's
parameter parser must decode the wire exactly the same way: otherwise what was verified is not what the
handler acts on. That is why this module exists once and the server reuses :func:`query_pairs`.

Decoding is strict. ``urllib.parse.unquote`` silently maps bad UTF-8 to U+FFFD and leaves stray ``%``
alone, so several distinct wire strings would decode to one value and share one signature; here they
raise :class:`MalformedEncodingError` instead.
"""

from __future__ import annotations

from urllib.parse import quote

from fleetscan.auth.errors import MalformedEncodingError

__all__ = ["pct_encode", "percent_decode", "query_pairs", "form_pairs"]

_HEX = frozenset(b"0123456789abcdefABCDEF")


def pct_encode(text: str) -> str:
    """Percent-encode ``text`` as UTF-8, leaving only the RFC 3986 unreserved set ``A-Za-z0-9-_.~``.

    This is ``quote(text, safe='~')``, the exact function all three SDK signers use (note: ``/`` *is*
    encoded, and space is ``%20``, never ``+``).
    """
    return quote(text, safe="~", encoding="utf-8", errors="strict")


def percent_decode(text: str, *, plus_is_space: bool) -> str:
    """Decode ``%XX`` escapes to UTF-8 text, strictly.

    ``plus_is_space`` selects form decoding (query strings and form bodies, where ``+`` means space) as
    opposed to path decoding (where ``+`` is a literal plus). Raw characters must be printable ASCII:
    request targets are ASCII on the wire and the SDKs escape everything else, so anything else is
    either a broken client or an attempt to smuggle an alternative spelling past the signature.
    """
    raw = bytearray()
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or not all(ord(c) < 128 and ord(c) in _HEX for c in pair):
                raise MalformedEncodingError(f"bad percent escape at offset {i}")
            raw.append(int(pair, 16))
            i += 3
            continue
        code = ord(ch)
        if code < 0x21 or code > 0x7E:
            raise MalformedEncodingError(f"raw character {ch!r} at offset {i} must be percent-encoded")
        raw.append(0x20 if (ch == "+" and plus_is_space) else code)
        i += 1
    try:
        return raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise MalformedEncodingError(f"invalid UTF-8 after percent-decoding: {exc}") from exc


def query_pairs(query: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded ``(name, value)`` pairs, form-style.

    ``+`` is a space, order and repeated names are kept (Huawei sends arrays as repeated names), empty
    segments (``a=1&&b=2``) are skipped and a segment without ``=`` is a name with an empty value,
    matching ``urllib.parse.parse_qsl(keep_blank_values=True)`` but strict about malformed escapes.
    Only ``&`` separates pairs (not ``;``), as in every SDK.
    """
    pairs: list[tuple[str, str]] = []
    if not query:
        return pairs
    for segment in query.split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        pairs.append((percent_decode(name, plus_is_space=True), percent_decode(value, plus_is_space=True)))
    return pairs


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` body the same way as a query string.

    The SDKs build form bodies with ``urlencode``, which yields pure ASCII; any other byte is refused.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedEncodingError("form body is not ASCII") from exc
    return query_pairs(text)
