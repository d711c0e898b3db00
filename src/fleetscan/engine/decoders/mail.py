"""Mail: mbox files and single messages (``.eml``), every MIME part a layer.

The stdlib's ``email`` parser with the ``compat32`` policy (the lenient one, which keeps going on the malformed mail
malware arrives in) splits the parts, nested multiparts and ``message/rfc822`` parts included, and decodes base64
and quoted-printable. What it does quietly wrong is done here: uuencoded parts (it returns the encoded text when one
line is bad), ``begin 644`` blocks and BinHex inside text parts (old clients and ClamAV's test files put them there;
the ``encoded-text`` decoder claims them in every text layer), and damage it only records as a defect (bad base64),
which becomes ``Undecodable(corrupt)`` after the part's bytes were yielded. A TNEF ``winmail.dat`` part is a layer
like any other; :mod:`.tnef` opens it.

Layers are named by the part's file name, else ``part N``; an mbox's messages ``message N``. A text file that is not
mail but holds a uuencoded or BinHex block (a ``.uu``, a ``.hqx``, a mail's text part) is opened the same way.
"""

from __future__ import annotations

import binascii
import email
import email.errors
import email.policy
import re
from collections.abc import Iterator
from email.message import Message

from .. import markers
from ..limits import Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, register
from .binhex import BANNER, decode_binhex
from .guard import guarded
from .text import NORMALISED, is_text

__all__ = ["MAX_MESSAGES", "MAX_PARTS", "decode_mail", "decode_encoded_text", "is_mail"]

#: Messages per mbox and parts per message; past them the rest is a named limit.
MAX_MESSAGES = 100_000
MAX_PARTS = 10_000

_MAIL_HEADERS = (b"\nfrom:", b"\nto:", b"\nsubject:", b"\nreceived:", b"\nmime-version:", b"\ncontent-type:",
                 b"\nmessage-id:", b"\nreturn-path:", b"\ndate:", b"\ndelivered-to:", b"\nreply-to:", b"\ncc:")
_FIRST_HEADER = re.compile(rb"(?:From \S[^\r\n]*\r?\n)?[!-9;-~]+:")
_MBOX_FROM = re.compile(rb"(?:\A|\n\r?\n)From [^\r\n]*\r?\n")
_UU_BEGIN = re.compile(rb"^begin(?:-base64)? [0-7]{3,4} ([^\r\n]*)\r?$", re.MULTILINE)
_UU_CTE = ("x-uuencode", "uuencode", "uue", "x-uue")
_UU_ALPHABET = bytes(range(0x20, 0x61))
_BASE64_DEFECTS = (email.errors.InvalidBase64PaddingDefect, email.errors.InvalidBase64CharactersDefect,
                   email.errors.InvalidBase64LengthDefect)


def is_mail(head: bytes) -> bool:
    """Headers first (an mbox ``From `` line allowed), and at least two of the headers mail has."""
    if not _FIRST_HEADER.match(head):
        return False
    probe = b"\n" + head[:2048].lower()
    return sum(h in probe for h in _MAIL_HEADERS) >= 2


# -- uuencode and BinHex inside text ------------------------------------------------------------------------------


def _uu_line(line: bytes) -> bytes:
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Encoders that pad lines or leave trailing spaces out: decode the length the line says (as the old uu module).
        nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
        return binascii.a2b_uu(line[:nbytes])


def _uudecode(lines: list[bytes], where: str) -> tuple[bytes, str | None]:
    """The bytes of a uuencoded block (the lines after ``begin``), and a problem if it was damaged or cut short.
    A zero-length line (a lone backquote) ends the data, so a block whose ``end`` line was lost is still whole."""
    out: list[bytes] = []
    for n, line in enumerate(lines):
        line = line.rstrip(b"\r\n")
        if line.strip() == b"end":
            return b"".join(out), None
        if not line:
            continue
        size = (line[0] - 32) & 63
        if size == 0:
            return b"".join(out), None
        if len(line) < 1 + (size * 4 + 2) // 3:
            return b"".join(out), f"uuencoded line {n + 1} cut short in {where} (truncated)"
        try:
            out.append(_uu_line(line))
        except binascii.Error as exc:
            return b"".join(out), f"bad uuencoded line {n + 1} in {where}: {exc}"
    return b"".join(out), f"uuencoded data without 'end' in {where} (truncated)"


def _looks_uuencoded(lines: list[bytes]) -> bool:
    """Whether the first line after ``begin`` is a uuencoded line (its length character matches its length, every
    character in the alphabet), so that prose that happens to say "begin 644 x" is not taken for damaged data."""
    line = next((x.rstrip(b"\r") for x in lines if x.strip()), b"")
    if not line or line.strip() == b"end" or line.translate(None, _UU_ALPHABET):
        return False
    expected = 1 + ((((line[0] - 32) & 63) + 2) // 3) * 4
    return expected - 1 <= len(line) <= expected + 2  # trailing spaces dropped, or a checksum character added


def _embedded(text: bytes, where: str, budget: Budget) -> Iterator[Layer]:
    """The ``begin 644 name`` blocks and the BinHex file in a text, as layers; damage raised after yielding."""
    problem = None
    begins = list(_UU_BEGIN.finditer(text))
    for k, match in enumerate(begins):
        name = match.group(1).strip().decode("latin-1") or "uuencoded"
        block = text[match.end() + 1 : begins[k + 1].start() if k + 1 < len(begins) else len(text)].split(b"\n")
        if not _looks_uuencoded(block[:3]):
            continue
        data, trouble = _uudecode(block, f"{where}!{name}")
        if data:
            budget.charge(len(data), f"{where}!{name}")
            yield Layer(name, data)
        problem = problem or trouble
    found = decode_binhex(text, budget.limits.max_member_size) if BANNER in text else None
    if found is not None:
        _, forks, trouble = found
        for name, data in forks:
            budget.charge(len(data), f"{where}!{name}")
            yield Layer(name, data)
        problem = problem or trouble
    if problem:
        raise Undecodable(SkipReason.CORRUPT, problem)


def decode_encoded_text(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    # Most text has neither: one search each; BinHex data starts with a colon, so a text without one (one memchr,
    # a tenth of a search) cannot hold it.
    if data.find(b"begin ") >= 0 or (b":" in data and data.find(BANNER) >= 0):
        yield from _embedded(data, name or "text", budget)


def _claims_encoded(head: bytes, name: str) -> bool:
    """Any text but a whole mail (whose text parts are layers of their own): a block may start past the head."""
    return name != NORMALISED and is_text(head) and not is_mail(head)


# -- MIME -------------------------------------------------------------------------------------------------------


def _message(data: bytes, where: str, budget: Budget) -> Iterator[Layer]:
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    problem = None
    n = 0
    for part in msg.walk():
        if part.is_multipart():
            for extra in (part.preamble, part.epilogue):
                if extra and ("begin " in extra or "BinHex" in extra):
                    yield from _embedded(extra.encode("latin-1", "replace"), where, budget)
            continue
        n += 1
        label = _part_name(part, n)
        here = f"{where}!{label}"
        if n > MAX_PARTS:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"more than {MAX_PARTS} MIME parts at {here}")
        cte = str(part.get("content-transfer-encoding", "")).strip().lower()
        if cte in _UU_CTE:
            raw = part.get_payload(decode=False)
            encoded = raw.encode("latin-1", "replace") if isinstance(raw, str) else b""
            if _UU_BEGIN.search(encoded):
                yield from _embedded(encoded, here, budget)
                continue
        before = len(part.defects)
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        budget.charge(len(payload), here)
        yield Layer(label, payload)
        if cte == "base64" and any(isinstance(d, _BASE64_DEFECTS) for d in part.defects[before:]):
            problem = problem or f"damaged base64 in {here}"
    if problem:
        raise Undecodable(SkipReason.CORRUPT, problem)


def _part_name(part: Message, n: int) -> str:
    try:
        name = part.get_filename()
    except (TypeError, ValueError, LookupError):  # a malformed RFC 2231 name
        name = None
    name = str(name).replace("!", "_").strip() if name else ""
    return name or f"part {n}"


def decode_mail(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    where = name or "mail"
    starts = [m.end() for m in _MBOX_FROM.finditer(data)] if data.startswith(b"From ") else []
    if len(starts) <= 1:
        yield from _message(data[starts[0] :] if starts else data, where, budget)
        return
    for n, start in enumerate(starts, 1):
        if n > MAX_MESSAGES:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"more than {MAX_MESSAGES} messages at {where}")
        end = starts[n] if n < len(starts) else len(data)
        message = data[start:end]
        if n < len(starts):  # up to the separator line, not into it
            message = message[: message.rfind(b"\nFrom ") + 1] if b"\nFrom " in message else message
        yield Layer(f"message {n}", message)


def _claims(head: bytes, name: str) -> bool:
    return name != NORMALISED and is_text(head) and is_mail(head)


DECODER = register(Decoder("mail", _claims, guarded("mail", decode_mail)))
ENCODED_TEXT = register(
    Decoder("encoded-text", _claims_encoded, guarded("uuencode/BinHex", decode_encoded_text),
            marker=markers.ENCODED_TEXT)
)
