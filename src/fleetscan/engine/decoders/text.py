"""ClamAV's text normalisation, as a layer of every text file.

ClamAV matches text files twice: as they are, and as ``text_normalize_buffer`` (libclamav/textnorm.c) rewrites
them: ASCII upper case folded to lower case, every run of whitespace (space, tab, line breaks, form feeds) made one
space, and every other byte dropped (NUL, the other control bytes, and everything from 0x80 up). A file is text for
this when the first 1,024 bytes hold none of the bytes ``textdet.c`` calls binary, or it is UTF-16 (``td_isutf16``).
Dropping NULs and high bytes is how ClamAV reads UTF-16 too: a UTF-16LE PowerShell script's ``I\\0E\\0X\\0``
becomes ``iex``. This module does exactly that, with two C-speed calls (``bytes.translate`` and one regex).

Text over the member-size limit (64 MiB) is matched as it is only; ClamAV stops normalising at 5 MB
(``MaxScriptNormalize``). Binary files are not claimed (so they are never matched a second time): ClamAV's own
UTF-16 test accepts almost any binary without a BOM, so without one UTF-16 is taken only when nearly every other
byte is NUL.

The copy costs a second pattern pass over every text, so it is made only as far as the loaded signatures can use
it (`signatures.text_pass`): not at all when none can match it, without collapsing whitespace runs when none that
can sees a space (`FOLD_DECODER`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ..limits import Budget
from . import Decoder, Layer, register

__all__ = ["DECODER", "FOLD_DECODER", "NORMALISED", "is_text", "normalise"]

#: The name of the normalised layer. Other text decoders do not claim it: its letters are folded, so base64 or
#: quoted-printable inside it no longer decodes to what the file holds.
NORMALISED = "normalised text"

#: How much of a layer ClamAV looks at to decide it is text (CL_FILE_MBUFF_SIZE).
TEXT_PROBE = 1024

# textdet.c's text_chars: F (binary) for these, T/I/X (text) for the rest.
_BINARY = bytes([*range(0x00, 0x07), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_TEXTUAL = bytes(b for b in range(256) if b not in _BINARY)

# textnorm.c's char_action: A-Z add 32, HT LF VT FF CR and space are whitespace, 0x21-0x7f copied, the rest skipped.
_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_FOLD = bytes.maketrans(_UPPER + b"\t\n\x0b\x0c\r", _UPPER.lower() + b"     ")
_DROP = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x80, 0x100)])
_SPACES = re.compile(rb"  +")


def _utf16(head: bytes) -> bool:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    if len(head) < 16:
        return False
    even, odd = head[0::2], head[1::2]
    for zeros, chars in ((odd, even), (even, odd)):  # LE: high bytes (odd offsets) NUL; BE: the other way round
        if (zeros.count(0) * 10 >= len(zeros) * 9 and chars.count(0) * 10 <= len(chars)
                and not chars.replace(b"\x00", b"").translate(None, _TEXTUAL)):
            return True
    return False


_last: tuple[bytes, bool] = (b"", False)


def is_text(head: bytes) -> bool:
    """ClamAV's CL_TYPE_TEXT_ASCII/UTF8 (no binary byte in the first KiB), or UTF-16 as said above.

    Four decoders ask it of the same head, one after the other (`decoders.claiming` passes them one object): the
    last answer is kept with the head it was for, and given again for that very object."""
    global _last
    last = _last
    if head is last[0]:
        return last[1]
    probe = head[:TEXT_PROBE]
    answer = bool(probe) and (not probe.translate(None, _TEXTUAL) or _utf16(probe))
    _last = (head, answer)
    return answer


def normalise(data: bytes, *, collapse: bool = True) -> bytes:
    """``text_normalize_buffer`` over the whole buffer; with ``collapse=False`` whitespace runs stay runs of spaces
    (`signatures.text_pass.TextPass.FOLD`: enough when no signature that can match the copy matches a space)."""
    out = data.translate(_FOLD, _DROP)
    if collapse and b"  " in out:
        return _SPACES.sub(b" ", out)  # a regex pass costs five times a search
    return out


def _claims(head: bytes, name: str) -> bool:
    return name != NORMALISED and is_text(head)


def _decoder(collapse: bool) -> Callable[[bytes, str, Budget], Iterator[Layer]]:
    def decode(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
        if len(data) > budget.limits.max_member_size:
            return  # ClamAV normalises up to MaxScriptNormalize (5 MB); past the member size, neither do we
        out = normalise(data, collapse=collapse)
        if out and out != data:  # already normal (lower-case, single spaces): matching it again finds nothing new
            budget.charge(len(out), f"{name}!{NORMALISED}" if name else NORMALISED)
            yield Layer(NORMALISED, out)

    return decode


DECODER = register(Decoder("text", _claims, _decoder(collapse=True)))
FOLD_DECODER = Decoder("text", _claims, _decoder(collapse=False))
"""The same pass without collapsing whitespace runs, which the engine puts in `DECODER`'s place when its signature
set allows it (`TextPass.FOLD`); with `TextPass.SKIP` it leaves the pass out."""
