"""PDF streams through every standard filter and their chains, embedded files, hidden objects, damage, encryption."""

from __future__ import annotations

import base64
import io
import zlib
from pathlib import Path

import pytest

from fleetscan.engine.decoders import Undecodable
from fleetscan.engine.decoders.pdf import decode_pdf
from fleetscan.engine.limits import ArchiveLimits, Budget
from fleetscan.engine.results import SkipReason

from .conftest import LayerWalk, Marker, compare_with_clamscan


def lzw(data: bytes) -> bytes:
    """PDF LZW with 9-bit codes only (a clear code before the table needs a tenth bit): valid, and short to write."""
    codes, table, w = [256], {bytes([i]): i for i in range(256)}, b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        codes.append(table[w])
        table[wc] = len(table) + 2
        w = bytes([byte])
        if len(table) + 2 >= 510:
            codes.append(256)
            table = {bytes([i]): i for i in range(256)}
    codes += [table[w], 257] if w else [257]
    bits = "".join(f"{c:09b}" for c in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def run_length(data: bytes) -> bytes:
    return b"".join(bytes([len(data[i : i + 128]) - 1]) + data[i : i + 128] for i in range(0, len(data), 128)) + b"\x80"


ENCODERS = {
    "FlateDecode": zlib.compress,
    "ASCIIHexDecode": lambda d: d.hex().encode() + b">",
    "ASCII85Decode": lambda d: base64.a85encode(d) + b"~>",
    "LZWDecode": lzw,
    "RunLengthDecode": run_length,
}


def stream(payload: bytes, *filters: str, extra: str = "") -> bytes:
    """A stream object's body; ``filters`` in the order a reader applies them."""
    data = payload
    for name in reversed(filters):
        data = ENCODERS[name](data)
    names = " ".join(f"/{f}" for f in filters)
    return f"<< /Length {len(data)} /Filter [{names}] {extra}>>\nstream\n".encode() + data + b"\nendstream"


def pdf(*objects: bytes, listed: int | None = None, names: bytes = b"") -> bytes:
    """A PDF whose catalog is object 1 and pages object 2, then ``objects``; only the first ``listed`` are in the
    cross-reference table."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R " + names + b">>", b"<< /Type /Pages /Kids [] /Count 0 >>", *objects]
    out, offsets = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", []
    for i, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    n = len(bodies) if listed is None else listed
    xref = len(out)
    out += f"xref\n0 {n + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets[:n])
    return out + f"trailer\n<< /Size {n + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


def embedded(payload: bytes) -> bytes:
    names = b"/Names << /EmbeddedFiles << /Names [(invoice.exe) 4 0 R] >> >> "
    return pdf(stream(payload, "FlateDecode", extra="/Type /EmbeddedFile "),
               b"<< /Type /Filespec /F (invoice.exe) /UF (invoice.exe) /EF << /F 3 0 R >> >>", names=names)


def encrypted(payload: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(embedded(payload))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _budget() -> Budget:
    return Budget(ArchiveLimits(), archive_size=1 << 20)


def test_every_filter_chain_and_embedded_file_match_at_least_as_clamscan(
    tmp_path: Path, marker: Marker, walk: LayerWalk
) -> None:
    p = marker.payload
    corpus = {f"{name}.pdf": pdf(stream(p, name)) for name in ENCODERS}
    corpus |= {
        "chain.pdf": pdf(stream(p, "ASCIIHexDecode", "FlateDecode")),
        "chain3.pdf": pdf(stream(p, "ASCII85Decode", "LZWDecode", "RunLengthDecode")),
        "embedded.pdf": embedded(p),
        "hidden.pdf": pdf(stream(b"clean"), stream(p, "FlateDecode"), listed=3),  # object 4 in no xref
        "empty-password.pdf": encrypted(p, ""),
    }
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    for name, walked in walks.items():
        assert Marker.HASH in walked.found and not walked.problems, (name, walked.layers, walked.problems)
    assert walks["embedded.pdf"].where(Marker.HASH) == {"invoice.exe"}
    assert walks["hidden.pdf"].where(Marker.HASH) == {"stream 4"}
    assert Marker.HASH in walks["FlateDecode.pdf"].clamscan


def test_sloppy_xref_offsets_do_not_decode_twice(marker: Marker) -> None:
    good = pdf(stream(marker.payload, "FlateDecode"))
    xref, at = good.index(b"xref\n"), good.index(b"3 0 obj")
    entry = f"{at:010d} 00000 n".encode()
    sloppy = good[:xref] + good[xref:].replace(entry, f"{at - 2:010d} 00000 n".encode())  # pypdf rebuilds the xref
    names = [x.name for x in decode_pdf(sloppy, "x.pdf", _budget())]
    assert names == ["stream 3"]


def test_clam_pdf_embedded_file(clam_dir: Path) -> None:
    data = (clam_dir / "clam.pdf").read_bytes()
    layers = {x.name: x.data for x in decode_pdf(data, "clam.pdf", _budget())}
    assert layers["clam.exe"] == (clam_dir / "clam.exe").read_bytes()


def _problem(data: bytes) -> tuple[dict[str, bytes], Undecodable]:
    got: dict[str, bytes] = {}
    with pytest.raises(Undecodable) as err:
        for layer in decode_pdf(data, "x.pdf", _budget()):
            got[layer.name] = layer.data
    return got, err.value


def test_password_protected_is_encrypted(marker: Marker) -> None:
    got, err = _problem(encrypted(marker.payload, "secret"))
    assert err.reason == SkipReason.ENCRYPTED and got == {}


def test_damaged_and_truncated_are_corrupt_after_what_decodes(marker: Marker) -> None:
    good = pdf(stream(marker.payload, "FlateDecode"), stream(marker.payload, "ASCIIHexDecode"))
    cut = good[: good.index(b"4 0 obj") + 60]  # inside the second stream: no endstream, no xref, no trailer
    got, err = _problem(cut)
    assert err.reason == SkipReason.CORRUPT and got["stream 3"] == marker.payload
    broken = pdf(stream(marker.payload, "FlateDecode")).replace(b"/FlateDecode", b"/ASCIIHexDecode")
    got, err = _problem(broken)
    assert err.reason == SkipReason.CORRUPT and "stream 3" in err.detail
    garbage = b"%PDF-1.4\n" + bytes(range(256)) * 4
    got, err = _problem(garbage)
    assert err.reason == SkipReason.CORRUPT and got == {}
