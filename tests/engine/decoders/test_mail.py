"""Mail and MIME: every way a payload rides in a message is a layer, found at least where clamscan finds it."""

from __future__ import annotations

import base64
import binascii
import struct
from email.message import EmailMessage
from pathlib import Path

import pytest

from fleetscan.engine.decoders import Undecodable
from fleetscan.engine.decoders.binhex import BANNER
from fleetscan.engine.decoders.mail import decode_encoded_text, decode_mail
from fleetscan.engine.decoders.tnef import SIGNATURE, decode_tnef
from fleetscan.engine.limits import ArchiveLimits, Budget
from fleetscan.engine.results import SkipReason

from .conftest import LayerWalk, Marker, compare_with_clamscan


def _budget() -> Budget:
    return Budget(ArchiveLimits(), archive_size=1 << 20)


def _mail(subject: str = "invoice") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", subject
    msg["Message-ID"] = "<1@example.com>"
    return msg


def _attached(payload: bytes, cte: str = "base64", name: str = "invoice.exe") -> bytes:
    msg = _mail()
    msg.set_content("see attachment")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", cte=cte, filename=name)
    return bytes(msg)


def uuencode(payload: bytes, name: str, end: bool = True) -> bytes:
    lines = [binascii.b2a_uu(payload[i : i + 45]) for i in range(0, len(payload), 45)]
    return b"begin 644 " + name.encode() + b"\n" + b"".join(lines) + (b"`\nend\n" if end else b"")


def binhex(payload: bytes, name: str) -> bytes:
    """BinHex 4.0 as the old Mac tools wrote it (0x90 escaped, no compression), for building the corpus."""
    head = bytes([len(name)]) + name.encode() + b"\0" + b"APPLMSWD" + b"\0\0" + struct.pack(">II", len(payload), 0)
    raw = b"".join(
        (head, struct.pack(">H", binascii.crc_hqx(head, 0)), payload, struct.pack(">H", binascii.crc_hqx(payload, 0)),
         struct.pack(">H", 0))
    ).replace(b"\x90", b"\x90\x00")
    alphabet = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
    b64 = base64.b64encode(raw).rstrip(b"=").translate(
        bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", alphabet))
    body = b"\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return BANNER + b" 4.0)\n:" + body + b":\n"


def tnef(payload: bytes, title: str) -> bytes:
    def attr(level: int, attr_id: int, value: bytes) -> bytes:
        return struct.pack("<BII", level, attr_id, len(value)) + value + struct.pack("<H", sum(value) & 0xFFFF)

    return (SIGNATURE + b"\x01\x00" + attr(1, 0x00089006, b"\x01\x00\x00\x00")
            + attr(2, 0x00069002, b"\x01\x00\xff\xff\xff\xff") + attr(2, 0x00018010, title.encode() + b"\0")
            + attr(2, 0x0006800F, payload))


def test_every_encoding_and_nesting_matches_at_least_as_clamscan(
    tmp_path: Path, marker: Marker, walk: LayerWalk
) -> None:
    payload = marker.payload
    nested = _mail("nested")
    nested.set_content("outer text")
    nested.add_alternative("<p>html</p>", subtype="html")
    nested.add_attachment(payload, maintype="application", subtype="octet-stream", filename="deep.exe")
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "x@example.com", "forwarded"
    inner.set_content("inner")
    inner.add_attachment(payload, maintype="application", subtype="x-msdownload", filename="fwd.exe")
    forward = _mail("fwd")
    forward.set_content("forwarding")
    forward.add_attachment(inner)
    uu_part = _mail()
    uu_part["Content-Type"] = 'application/octet-stream; name="x.exe"'
    uu_part["Content-Transfer-Encoding"] = "x-uuencode"
    uu_part.set_payload(uuencode(payload, "x.exe").decode())
    plain_uu = (b"From: a@example.com\nTo: b@example.com\nSubject: old style\n\nhello\n\n"
                + uuencode(payload, "old.exe") + b"\nbye\n")
    mbox = b"".join(b"From a@example.com Mon Jan 1 00:00:00 2024\n" + m + b"\n" for m in (
        _attached(b"clean one", name="a.txt"), bytes(_mail("two")), _attached(payload, name="third.exe")))
    winmail = _mail()
    winmail.set_content("outlook")
    winmail.add_attachment(tnef(payload, "report.exe"), maintype="application", subtype="ms-tnef",
                           filename="winmail.dat")
    corpus = {
        "base64.eml": _attached(payload),
        "qp.eml": _attached(payload, cte="quoted-printable"),
        "uu-part.eml": bytes(uu_part),
        "plain-uu.eml": plain_uu,
        "nested.eml": bytes(nested),
        "rfc822.eml": bytes(forward),
        "three.mbox": mbox,
        "binhex.eml": b"From: a@example.com\nTo: b@example.com\nSubject: mac\n\n" + binhex(payload, "mac.exe"),
        "file.hqx": binhex(payload, "mac.exe"),
        "file.uu": uuencode(payload, "unix.exe"),
        "tnef.eml": bytes(winmail),
        "winmail.dat": tnef(payload, "report.exe"),
    }
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    for name, walked in walks.items():
        assert Marker.HASH in walked.found and not walked.problems, (name, walked.layers, walked.problems)
    assert walks["nested.eml"].where(Marker.HASH) == {"deep.exe"}
    assert walks["rfc822.eml"].where(Marker.HASH) == {"fwd.exe"}
    assert walks["three.mbox"].where(Marker.HASH) == {"message 3!third.exe"}
    assert walks["tnef.eml"].where(Marker.HASH) == {"winmail.dat!report.exe"}
    assert walks["plain-uu.eml"].where(Marker.HASH) == {"part 1!old.exe"}
    assert walks["file.hqx"].where(Marker.HASH) == {"mac.exe"}
    assert all(Marker.HASH in walks[n].clamscan for n in ("base64.eml", "rfc822.eml", "winmail.dat"))


def _problem(decode: object, data: bytes) -> tuple[list[str], Undecodable]:
    got: list[str] = []
    with pytest.raises(Undecodable) as err:
        for layer in decode(data, "x", _budget()):  # type: ignore[operator]
            got.append(layer.name)
    return got, err.value


def test_damaged_mail_says_corrupt_after_what_it_could_read(marker: Marker) -> None:
    good = _attached(marker.payload)
    bad_b64 = good.replace(b"see attachment", b"text").replace(base64.b64encode(marker.payload)[:8], b"!!*&^%$#")
    b64 = base64.b64encode(marker.payload)
    bad_b64 = good[: good.index(b64[:76])] + b64[:77] + b"\n"  # cut mid-line: one character past a group
    got, err = _problem(decode_mail, bad_b64)
    assert err.reason == SkipReason.CORRUPT and "base64" in err.detail and "invoice.exe" in got
    cut_uu = uuencode(marker.payload, "x.exe", end=False)
    got, err = _problem(decode_encoded_text, cut_uu[: len(cut_uu) // 2])
    assert err.reason == SkipReason.CORRUPT and got == ["x.exe"]
    hqx = binhex(marker.payload, "mac.exe")
    got, err = _problem(decode_encoded_text, hqx[: len(hqx) * 2 // 3])
    assert err.reason == SkipReason.CORRUPT and "truncated" in err.detail and got == ["mac.exe"]
    got, err = _problem(decode_encoded_text, BANNER + b" 4.0)\n:!!!!:")
    assert err.reason == SkipReason.CORRUPT and got == []
    quoted = b"Old Mac files start with " + BANNER + b" 4.0) and then: the data.\nSee: the manual.\n"
    assert list(decode_encoded_text(quoted, "notes.txt", _budget())) == []
    winmail = tnef(marker.payload, "r.exe")
    got, err = _problem(decode_tnef, winmail[:-100])
    assert err.reason == SkipReason.CORRUPT and got == []


def test_prose_that_says_begin_is_not_uuencoded_data() -> None:
    text = b"To deploy:\nbegin 644 config.txt\nthen copy the file and restart the service.\nend of notes\n"
    assert list(decode_encoded_text(text, "notes.txt", _budget())) == []


def test_part_and_message_limits_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleetscan.engine.decoders import mail

    monkeypatch.setattr(mail, "MAX_PARTS", 2)
    msg = _mail()
    msg.set_content("one")
    for i in range(3):
        msg.add_attachment(b"x" * 10, maintype="application", subtype="octet-stream", filename=f"{i}.bin")
    got, err = _problem(decode_mail, bytes(msg))
    assert err.reason == SkipReason.ARCHIVE_LIMIT and "more than 2 MIME parts" in err.detail and len(got) == 2
