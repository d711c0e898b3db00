"""TNEF (``winmail.dat``, ``application/ms-tnef``): the attachments Outlook wraps for other mail clients.

A compact reader of the attribute stream, as ClamAV's ``tnef.c`` reads it, rather than the ``tnefparse`` package
(no release since 2021): a signature, a key, then attributes (level, id, length, data, checksum). Attachment data
(``attAttachData``) becomes a layer named by the attachment's title (``attAttachTitle``), the message body
(``attBody``) one more; MAPI property blocks are not decoded (ClamAV does not either).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ..limits import Budget
from ..results import SkipReason
from . import Decoder, Layer, Undecodable, register
from .guard import guarded

__all__ = ["SIGNATURE", "MAX_ATTRIBUTES", "decode_tnef"]

SIGNATURE = b"\x78\x9f\x3e\x22"
#: Attributes read per layer; a real message holds tens.
MAX_ATTRIBUTES = 100_000

_BODY, _ATTACH_RENDDATA, _ATTACH_TITLE, _ATTACH_DATA = 0x800C, 0x9002, 0x8010, 0x800F


def decode_tnef(data: bytes, name: str, budget: Budget) -> Iterator[Layer]:
    where = name or "TNEF"
    pos, count, attachments = 6, 0, 0
    title, pending = "", b""  # the title may come before or after the data: an attachment ends at the next one
    while pos + 9 <= len(data):  # fewer bytes than an attribute header left is padding, as tnef.c reads it
        level = data[pos]
        attr, length = struct.unpack_from("<II", data, pos + 1)
        start = pos + 9
        if level not in (1, 2) or start + length + 2 > len(data):
            if pending:
                yield _attachment(pending, title, attachments, where, budget)
            raise Undecodable(SkipReason.CORRUPT, f"TNEF attribute damaged or truncated at {where}, offset {pos}")
        count += 1
        if count > MAX_ATTRIBUTES:
            raise Undecodable(SkipReason.ARCHIVE_LIMIT, f"more than {MAX_ATTRIBUTES} TNEF attributes at {where}")
        value = data[start : start + length]
        attr_id = attr & 0xFFFF
        if level == 2 and attr_id == _ATTACH_RENDDATA:
            if pending:
                yield _attachment(pending, title, attachments, where, budget)
            title, pending = "", b""
        elif level == 2 and attr_id == _ATTACH_TITLE:
            title = value.split(b"\0", 1)[0].decode("latin-1").replace("!", "_")
        elif level == 2 and attr_id == _ATTACH_DATA:
            attachments += 1
            pending = value
        elif level == 1 and attr_id == _BODY:
            budget.charge(length, f"{where}!body")
            yield Layer("body", value)
        pos = start + length + 2
    if pending:
        yield _attachment(pending, title, attachments, where, budget)


def _attachment(data: bytes, title: str, n: int, where: str, budget: Budget) -> Layer:
    label = title or f"attachment {n}"
    budget.charge(len(data), f"{where}!{label}")
    return Layer(label, data)


def _claims(head: bytes, name: str) -> bool:
    return head[:4] == SIGNATURE


DECODER = register(Decoder("tnef", _claims, guarded("TNEF", decode_tnef)))
