"""The format corpus of issue 9: one file per packaging a server holds, each around one payload, beside clean and
damaged controls and ClamAV's own test files, with the signature files fleetscan, clamscan and clamd all load.

Built by ``tests/engine/test_format_table.py`` (small files, asserted) and ``bench/formats.py`` (the same rows
padded, for MB/s), so the table the tests check is the table the benchmark prints. Files are built with Python's
compressors, libarchive's writers and the tools a server has (``7z``, ``zip``, ``ar``, ``dpkg-deb``,
``genisoimage``, ``compress``, ``zstd``, ``lz4``); a row whose tool is missing is left out and named in
`Corpus.notes`, never faked.

The payload is a random marker inside some bytes: ``Marker.Body`` (``.ndb``) finds the marker anywhere,
``Marker.Hash`` (``.hdb``) the exact payload, ``Clam.Exe`` (``.hdb``) ClamAV's own ``clam.exe``.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import random
import shutil
import struct
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import libarchive

from fleetscan.engine import Scanner, ScanOptions, ScanReport, SignatureSet, load_signatures
from tests.engine.decoders.builders import cfb, ole10native, vba_project
from tests.engine.decoders.test_mail import _attached, binhex, tnef, uuencode
from tests.engine.decoders.test_pdf import embedded, encrypted, pdf, stream
from tests.engine.decoders.test_rtf import ole1, rtf

TESTFILES = Path("/usr/share/clamav-testfiles")
BODY, HASH, CLAM = "Marker.Body", "Marker.Hash", "Clam.Exe"

PAYLOAD, CLEAN, DAMAGED, TESTFILE = "payload", "clean", "damaged", "clamav-testfiles"
"""Row groups: a payload that must be found (at least where clamscan finds it); the same packaging around clean
bytes (must be clean); damaged, truncated or encrypted variants (never clean); ClamAV's test files (clam.exe)."""


@dataclass(frozen=True)
class Row:
    name: str
    """The file's path under `Corpus.files`."""
    format: str
    group: str


@dataclass
class Corpus:
    root: Path
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Rows left out, and why (a tool not installed)."""

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def sigs(self) -> Path:
        return self.root / "sigs"

    def path(self, row: Row) -> Path:
        return self.files / row.name


# -- building ----------------------------------------------------------------------------------------------------

WORDS = ("the of and to in is for on that with as by at from server config request response error value index "
         "table query update user admin token cache queue worker agent scan task host").split()


class _Maker:
    """Writes one group's rows; ``payload`` is what every packaging holds, ``text`` what the text formats hold."""

    def __init__(self, corpus: Corpus, work: Path, group: str, payload: bytes, text: str, pad: int,
                 rng: random.Random) -> None:
        self.corpus, self.work, self.group, self.payload, self.text = corpus, work, group, payload, text
        self.pad, self.rng = pad, rng
        self.prefix = "" if group == PAYLOAD else f"{group}-"

    def add(self, name: str, fmt: str, data: bytes | Callable[[], bytes]) -> None:
        row = Row(self.prefix + name, fmt, self.group)
        try:
            blob = data() if callable(data) else data
        except _Missing as exc:
            self.corpus.notes.append(f"{fmt}: {exc}")
            return
        path = self.corpus.path(row)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        self.corpus.rows.append(row)

    def filler(self, n: int) -> bytes:
        """Text-like bytes, as compressible as logs are (about 3:1)."""
        words = self.rng.choices(WORDS, k=n // 5 + 1)
        return " ".join(words).encode()[:n]

    def run(self, *cmd: str, stdin: bytes | None = None) -> bytes:
        if shutil.which(cmd[0]) is None:
            raise _Missing(f"{cmd[0]} is not installed")
        return subprocess.run(cmd, input=stdin, capture_output=True, check=True, cwd=self.work).stdout

    def src(self, name: str = "invoice.exe", data: bytes | None = None) -> Path:
        d = Path(tempfile.mkdtemp(dir=self.work))
        (d / name).write_bytes(self.payload if data is None else data)
        return d / name


class _Missing(Exception):
    pass


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, zip64: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            with z.open(zipfile.ZipInfo(name), "w", force_zip64=zip64) as fh:
                fh.write(data)
    if method != zipfile.ZIP_STORED:  # ZipInfo's own compress_type is stored: write again with the method
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            for name, data in members.items():
                z.writestr(name, data)
    return buf.getvalue()


def tar_of(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def libarchive_of(members: dict[str, bytes], fmt: str, filt: str | None = None) -> bytes:
    """What libarchive's writers make: cpio variants, tar through the filters Python lacks (zstd, lzip)."""
    out = bytearray()

    def write(data: bytes) -> int:
        out.extend(data)
        return len(data)

    with libarchive.custom_writer(write, fmt, filt) as archive:
        for name, data in members.items():
            archive.add_file_from_memory(name, len(data), data)
    return bytes(out)


def cpio_binary(members: dict[str, bytes], order: str = "<") -> bytes:
    """An old binary cpio archive (magic 070707) in either byte order (``"<"`` as a PDP-11 or x86 wrote it, ``">"``
    as a big-endian machine did): libarchive writes only the machine's own."""
    out = bytearray()

    def entry(name: bytes, mode: int, data: bytes) -> None:
        size = len(data)
        out.extend(struct.pack(f"{order}13H", 0o070707, 0, 1, mode, 0, 0, 1, 0, 0, 0, len(name) + 1,
                               size >> 16, size & 0xFFFF))
        out.extend(name + b"\0" + b"\0" * ((len(name) + 1) % 2))
        out.extend(data + b"\0" * (size % 2))

    for name, data in members.items():
        entry(name.encode(), 0o100644, data)
    entry(b"TRAILER!!!", 0, b"")
    return bytes(out)


def lzip(data: bytes) -> bytes:
    """An lzip member (lzip 1.x: raw LZMA1 with an end marker, CRC32, sizes), which no Python module writes."""
    body = lzma.compress(data, format=lzma.FORMAT_RAW,
                         filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 23, "lc": 3, "lp": 0, "pb": 2}])
    member = b"LZIP\x01\x17" + body
    return member + struct.pack("<IQQ", zlib.crc32(data), len(data), len(member) + 20)


def _mail(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@example.com>"
    return msg


def _multipart_in_multipart(payload: bytes) -> EmailMessage:
    inner = _mail("inner")
    inner.set_content("inner text")
    inner.add_attachment(payload, maintype="application", subtype="octet-stream", filename="deep.exe")
    outer = _mail("outer")
    outer.set_content("see inside")
    outer.make_mixed()
    outer.attach(inner)  # a multipart/mixed part inside a multipart/mixed message
    del inner["Message-ID"], inner["From"], inner["To"], inner["Subject"]
    return outer


def _rfc822(payload: bytes) -> bytes:
    inner = _mail("forwarded")
    inner.set_content("inner")
    inner.add_attachment(payload, maintype="application", subtype="x-msdownload", filename="fwd.exe")
    outer = _mail("fwd")
    outer.set_content("forwarding")
    outer.add_attachment(inner)  # message/rfc822
    return bytes(outer)


def _mbox(*messages: bytes) -> bytes:
    return b"".join(b"From MAILER-DAEMON Mon Dec  1 10:00:00 2026\n" + m.replace(b"\r\n", b"\n") + b"\n"
                    for m in messages)


def _uu_mail(payload: bytes) -> bytes:
    head = b"From: a@example.com\nTo: b@example.com\nSubject: uu\n\nsee below\n\n"
    return head + uuencode(payload, "invoice.exe")


def _html(payload: bytes) -> bytes:
    import base64

    b64 = base64.b64encode(payload).decode()
    return f'<html><body><p>hello</p><img src="data:application/octet-stream;base64,{b64}"></body></html>\n'.encode()


def _vba_doc(text: str, filler: bytes) -> bytes:
    source = f'Attribute VB_Name = "Module1"\r\nSub AutoOpen()\r\n  Shell "{text}"\r\nEnd Sub\r\n'
    return cfb({"WordDocument": b"\xec\xa5" + filler, **{f"Macros/{k}": v for k, v in
                                                        vba_project({"Module1": source}).items()}})


def _vba_xls(text: str, filler: bytes) -> bytes:
    source = f'Attribute VB_Name = "ThisWorkbook"\r\nSub Workbook_Open()\r\n  Shell "{text}"\r\nEnd Sub\r\n'
    return cfb({"Workbook": b"\x09\x08" + filler, **{f"_VBA_PROJECT_CUR/{k}": v for k, v in
                                                    vba_project({"ThisWorkbook": source}).items()}})


def _ppt(payload: bytes) -> bytes:
    package = ole10native("invoice.exe", payload)
    inner = cfb({"WordDocument": b"\xec\xa5" + bytes(600),
                 "ObjectPool/_1/\x01Ole10Native": struct.pack("<I", len(package)) + package})
    packed = zlib.compress(inner)
    record = struct.pack("<HHI", 0x0010, 0x1011, len(packed) + 4) + struct.pack("<I", len(inner)) + packed
    return cfb({"PowerPoint Document": struct.pack("<HHI", 0x000F, 0x03E8, len(record)) + record,
                "Current User": b"\0" * 20})


#: A short magic and the byte after it that says the rest is not that format's header (CM 9, reserved bits, no
#: name ending where its size says, no block magic): random data, which must be scanned as data.
_CHANCE = ((b"\x1f\x8b\x09", "gzip's"), (b"\x1f\x9d\x70", ".Z's"), (b"\xc7\x71\xff", "cpio's (binary, LE)"),
           (b"\x71\xc7\xff", "cpio's (binary, BE)"), (b"BZh0", "bzip2's"))


def _packagings(m: _Maker) -> None:
    """Every packaging of ``m.payload`` (and ``m.text`` for the text formats)."""
    p, name = m.payload, "invoice.exe"
    filler = m.filler(max(600, m.pad))
    zipped = zip_of({name: p})
    m.add("stored.zip", "zip (stored)", zip_of({name: p}, zipfile.ZIP_STORED))
    m.add("deflate.zip", "zip (deflate)", zipped)
    m.add("lzma.zip", "zip (LZMA)", zip_of({name: p}, zipfile.ZIP_LZMA))
    m.add("bzip2.zip", "zip (bzip2)", zip_of({name: p}, zipfile.ZIP_BZIP2))
    m.add("zip64.zip", "zip64", zip_of({name: p}, zipfile.ZIP_STORED, zip64=True))
    m.add("split.zip", "split zip (PK\\x07\\x08)", b"PK\x07\x08" + zipped)
    m.add("sfx-elf.bin", "zip after an ELF stub (SFX)", Path("/bin/true").read_bytes() + zipped)
    if (TESTFILES / "clam.exe").exists():
        stub = (TESTFILES / "clam.exe").read_bytes()
        m.add("sfx-pe.exe", "zip after a PE stub (SFX)", stub + b"\0" * (-len(stub) % 512) + zipped)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 16 + b"\xff\xd9"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
    m.add("photo.jpg", "zip appended to a JPEG", jpeg + zipped)
    m.add("image.png", "zip appended to a PNG", png + zipped)

    def seven(*opts: str) -> bytes:
        out = m.work / f"{m.rng.getrandbits(64):x}.7z"
        m.run("7z", "a", "-bd", *opts, str(out), str(m.src(name)))
        return out.read_bytes()

    m.add("archive.7z", "7z", lambda: seven())
    m.add("7z-in.png", "7z appended to a PNG", lambda: png + seven())
    if m.group == PAYLOAD:
        m.corpus.notes.append("rar: no tool writes RAR here (rar is not free software); not built")
    m.add("plain.tar", "tar", tar_of({name: p}))
    m.add("archive.tar.gz", "tar.gz", tar_of({name: p}, "w:gz"))
    m.add("archive.tar.bz2", "tar.bz2", tar_of({name: p}, "w:bz2"))
    m.add("archive.tar.xz", "tar.xz", tar_of({name: p}, "w:xz"))
    m.add("archive.tar.zst", "tar.zst", lambda: libarchive_of({name: p}, "ustar", "zstd"))
    m.add("archive.tar.lz", "tar.lz (lzip)", lambda: libarchive_of({name: p}, "ustar", "lzip"))
    m.add("archive.tar.Z", "tar.Z", lambda: m.run("compress", "-f", "-c", stdin=tar_of({name: p})))
    m.add("invoice.exe.gz", "gz", gzip.compress(p))
    m.add("invoice.exe.bz2", "bz2", bz2.compress(p))
    m.add("invoice.exe.xz", "xz", lzma.compress(p))
    m.add("invoice.exe.lzma", "lzma (alone)", lzma.compress(p, format=lzma.FORMAT_ALONE))
    m.add("invoice.exe.zst", "zstd", lambda: m.run("zstd", "-q", "-c", stdin=p))
    m.add("invoice.exe.lz4", "lz4", lambda: m.run("lz4", "-q", "-c", stdin=p))
    m.add("invoice.exe.lz", "lzip", lzip(p))
    m.add("invoice.exe.Z", ".Z (compress)", lambda: m.run("compress", "-f", "-c", stdin=p))
    zeros = b"\0" * 1024 + p
    m.add("zeros.gz", "gz, content starts with 1 KiB of zeros", gzip.compress(zeros))
    m.add("zeros.bz2", "bz2, content starts with 1 KiB of zeros", bz2.compress(zeros))
    m.add("zeros.xz", "xz, content starts with 1 KiB of zeros", lzma.compress(zeros))
    rows = "".join(f"{i},name{i},/var/lib/x{i} type=file\n" for i in range(3000 + m.pad // 40))
    if m.group == PAYLOAD:  # what was expanded before the limit is matched; clean, it is not scanned
        m.add("zeros-after.gz", "gz, payload then 10 MiB of zeros (ratio limit)",
              gzip.compress(p + b"\0" * (10 << 20), compresslevel=9))
    m.add("rows.csv.gz", "gzipped text (csv)", gzip.compress((rows + m.text + "\n").encode()))
    m.add("nested.zip", "zip > tar.gz > zip", zip_of({"b.tar.gz": tar_of({"c.zip": zipped}, "w:gz")}))

    def ar_rc() -> bytes:
        src = m.src(name)
        subprocess.run(["ar", "rc", "lib.a", name], check=True, capture_output=True, cwd=src.parent)
        return (src.parent / "lib.a").read_bytes()

    m.add("plain.a", "ar rc", ar_rc if shutil.which("ar") else _missing("ar"))

    def deb() -> bytes:
        root = Path(tempfile.mkdtemp(dir=m.work))
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN" / "control").write_text(
            "Package: invoice\nVersion: 1.0\nArchitecture: all\nMaintainer: a <a@example.com>\nDescription: x\n")
        (root / "usr" / "share" / "invoice").mkdir(parents=True)
        (root / "usr" / "share" / "invoice" / name).write_bytes(p)
        m.run("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(root.with_suffix(".deb")))
        return root.with_suffix(".deb").read_bytes()

    m.add("package.deb", ".deb (dpkg-deb)", deb)

    def iso() -> bytes:
        src = m.src(name)
        m.run("genisoimage", "-quiet", "-o", str(src.parent / "disc.iso"), str(src))
        return (src.parent / "disc.iso").read_bytes()

    m.add("disc.iso", "ISO 9660", iso)
    m.add("odc.cpio", "cpio (odc)", lambda: libarchive_of({name: p}, "cpio"))
    m.add("newc.cpio", "cpio (newc)", lambda: libarchive_of({name: p}, "cpio_newc"))
    m.add("bin-le.cpio", "cpio (binary, little-endian)", cpio_binary({name: p}, "<"))
    m.add("bin-be.cpio", "cpio (binary, big-endian)", cpio_binary({name: p}, ">"))
    for prefix, fmt in _CHANCE:  # data, scanned as data: the payload's bytes are matched where they lie
        m.add(f"chance-{fmt.split()[0].strip('.')}.bin", f"random bytes behind {fmt} magic, not its header",
              prefix + m.rng.randbytes(1500) + p + m.rng.randbytes(1500))
    if m.group == PAYLOAD:
        m.corpus.notes.append("cab: no tool writes cabinets here; clam.cab (clamav-testfiles) is the cab row")

    # mail
    m.add("base64.eml", "eml, base64 attachment", _attached(p))
    m.add("qp.eml", "eml, quoted-printable attachment", _attached(p, cte="quoted-printable"))
    m.add("uu.mbox", "mbox, uuencoded in the 2nd message",
          _mbox(bytes(_mail("first")), _uu_mail(p)))
    m.add("nested.eml", "eml, nested multipart", bytes(_multipart_in_multipart(p)))
    m.add("forward.eml", "eml, message/rfc822 part", _rfc822(p))
    m.add("invoice.hqx", "BinHex 4.0", binhex(p, name))
    m.add("winmail.dat", "TNEF", tnef(p, name))
    # PDF
    for filt in ("FlateDecode", "ASCIIHexDecode", "ASCII85Decode", "LZWDecode", "RunLengthDecode"):
        m.add(f"{filt}.pdf", f"PDF {filt}", lambda f=filt: pdf(stream(p, f)))  # type: ignore[misc]
    m.add("chain.pdf", "PDF ASCII85 + Flate", pdf(stream(p, "ASCII85Decode", "FlateDecode")))
    m.add("embedded.pdf", "PDF embedded file", embedded(p))
    # OLE2, RTF, HTML, text
    m.add("macro.doc", "OLE2 .doc with VBA", _vba_doc(m.text, filler))
    m.add("macro.xls", "OLE2 .xls with VBA", _vba_xls(m.text, filler))
    m.add("object.ppt", "OLE2 .ppt with an embedded object", _ppt(p))
    m.add("package.doc", "OLE2 .doc with an OLE1 package", cfb({
        "WordDocument": b"\xec\xa5" + filler,
        "ObjectPool/_1/\x01Ole10Native": struct.pack("<I", len(ole10native(name, p))) + ole10native(name, p)}))
    m.add("object.rtf", "RTF embedded object", rtf(ole1("Package", ole10native(name, p))))
    m.add("page.html", "HTML base64 data: URI", _html(p))
    m.add("script.ps1", "UTF-16 text (PowerShell)",
          f"Write-Host 'hello'\r\n$x = '{m.text}'\r\n# {filler[:m.pad].decode()}\r\n".encode("utf-16"))
    m.add("shout.txt", "upper-cased text", f"NOTICE\n{m.text.upper()}\n{filler[:m.pad].decode()}\n".encode())


def _missing(tool: str) -> Callable[[], bytes]:
    def fail() -> bytes:
        raise _Missing(f"{tool} is not installed")

    return fail


def _damaged(m: _Maker) -> None:
    """Recognised, not openable: each must be "not scanned" with a reason (or detected), never clean."""
    p = m.payload
    body = bytes(range(256)) * 4000
    m.add("garbage.zip", "zip magic then garbage", b"PK\x03\x04" + bytes(range(7, 250)) * 20)
    tgz = tar_of({"a.bin": body, "b.bin": body[::-1]}, "w:gz")
    m.add("cut.tar.gz", "truncated tar.gz", tgz[: len(tgz) // 2])
    gz = gzip.compress(body + p)
    m.add("cut.gz", "truncated gz", gz[: len(gz) // 2])
    bz = bz2.compress(body + p)
    m.add("cut.bz2", "truncated bz2", bz[: len(bz) // 2])
    xz = lzma.compress(body + p)
    m.add("cut.xz", "truncated xz", xz[: len(xz) // 2])
    alone = lzma.compress(body + p, format=lzma.FORMAT_ALONE)
    m.add("cut.lzma", "truncated lzma (alone)", alone[: len(alone) // 2])
    cpio = cpio_binary({"a.bin": body + p}, ">")
    m.add("cut.cpio", "truncated cpio (binary)", cpio[: len(cpio) // 2])

    def damaged_z() -> bytes:
        """.Z has no check value: a cut is a shorter stream. Codes beyond the table are what a reader can tell."""
        z = m.run("compress", "-f", "-c", stdin=body + p)
        return z[: len(z) // 2] + b"\xff" * 64 + z[len(z) // 2 + 64 :]

    m.add("damaged.Z", ".Z (compress), its middle overwritten", damaged_z)

    def seven(*opts: str) -> bytes:
        out = m.work / f"{m.rng.getrandbits(64):x}.7z"
        m.run("7z", "a", "-bd", *opts, str(out), str(m.src("invoice.exe", body + p)))
        return out.read_bytes()

    m.add("cut.7z", "truncated 7z", lambda: (lambda whole: whole[: len(whole) // 2])(seven()))
    m.add("headers.7z", "7z with encrypted headers", lambda: seven("-pSecret1", "-mhe=on"))

    def locked_zip() -> bytes:
        src = m.src("invoice.exe")
        m.run("zip", "-q", "-j", "-P", "pw", str(src.parent / "locked.zip"), str(src))
        return (src.parent / "locked.zip").read_bytes()

    m.add("locked.zip", "zip, encrypted member", locked_zip)
    m.add("locked.pdf", "PDF encrypted with a user password", lambda: encrypted(p, "secret"))
    m.add("bomb.gz", "gz of 64 MiB of zeros (ratio limit)", gzip.compress(b"\0" * (64 << 20), compresslevel=9))
    m.add("cut.eml", "eml, base64 attachment cut short", _attached(p)[:-400] + b"!!!\n")
    m.add("locked.docx", "OLE2 EncryptedPackage (encrypted Office)",
          cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(200), "EncryptedPackage": bytes(4096)}))


def build(root: Path, *, pad: int = 0, seed: int = 9, testfiles: bool = True) -> Corpus:
    """Write the corpus under ``root`` (``files/``, ``sigs/``); ``pad`` bytes of text-like filler grow each
    payload, for measuring speed on files of a realistic size."""
    shutil.rmtree(root, ignore_errors=True)
    corpus = Corpus(root)
    corpus.files.mkdir(parents=True)
    corpus.sigs.mkdir()
    rng = random.Random(seed)
    text = f"fleetscan-marker-{rng.randbytes(8).hex()}"
    payload = b"MZ\x90\x00" + rng.randbytes(300) + text.encode() + rng.randbytes(200)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        work = Path(tmp)
        first = _Maker(corpus, work, PAYLOAD, payload, text, pad, rng)
        payload += first.filler(pad)
        first.payload = payload
        _packagings(first)
        clean_bytes = b"MZ\x90\x00" + rng.randbytes(500) + first.filler(pad)
        _packagings(_Maker(corpus, work, CLEAN, clean_bytes, "nothing-to-see-here", pad, rng))
        _damaged(_Maker(corpus, work, DAMAGED, payload, text, pad, rng))
    (corpus.sigs / "marker.ndb").write_text(f"{BODY}:0:*:{text.encode().hex()}\n")
    (corpus.sigs / "marker.hdb").write_text(f"{hashlib.md5(payload).hexdigest()}:{len(payload)}:{HASH}\n")
    if testfiles and (TESTFILES / "clam.exe").exists():
        clam = (TESTFILES / "clam.exe").read_bytes()
        (corpus.sigs / "clam.hdb").write_text(f"{hashlib.md5(clam).hexdigest()}:{len(clam)}:{CLAM}\n")
        (corpus.files / TESTFILE).mkdir()
        for f in sorted(TESTFILES.iterdir()):
            shutil.copy(f, corpus.files / TESTFILE / f.name)
            corpus.rows.append(Row(f"{TESTFILE}/{f.name}", f.name, TESTFILE))
    elif testfiles:
        corpus.notes.append("clamav-testfiles is not installed: its 44 rows are left out")
    return corpus


# -- scanning ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    state: str
    """``detected``, ``clean``, ``not scanned``, or for clamscan ``error``."""
    found: frozenset[str] = frozenset()
    """Every signature that matched (ClamAV's ``.UNOFFICIAL`` suffix removed)."""
    reason: str = ""
    """Why not scanned; for a detected file, what it could not open."""

    def __str__(self) -> str:
        said = "+".join(sorted(self.found)) if self.found else self.reason
        also = f" ({self.reason})" if self.found and self.reason else ""
        return f"{self.state}: {said}{also}" if said else self.state


def _name(signature: str) -> str:
    return signature.removesuffix(".UNOFFICIAL")


def verdict_of(report: ScanReport) -> Verdict:
    """The one state a single-file scan ended in."""
    if report.detections:
        return Verdict("detected", frozenset(_name(d.signature) for d in report.detections),
                       ", ".join(sorted(report.partial)))
    if report.skipped:
        return Verdict("not scanned", reason=str(next(iter(report.skipped))))
    return Verdict("clean") if report.files_clean else Verdict("not scanned", reason="nothing scanned")


def signatures(corpus: Corpus) -> SignatureSet:
    return load_signatures([corpus.sigs])


def fleetscan_verdicts(corpus: Corpus, sigset: SignatureSet, rows: Sequence[Row], *,
                       clamd: str | None = None) -> dict[str, Verdict]:
    """Each file scanned alone, in this process, as `fleetscan scan FILE` would."""
    scanner = Scanner(sigset, ScanOptions(workers=0, clamd=clamd, prewalk=False, all_matches=True))
    return {row.name: verdict_of(scanner.run([str(corpus.path(row))])) for row in rows}


def clamscan_verdicts(corpus: Corpus) -> dict[str, Verdict]:
    """clamscan on the whole folder with the same signature folder; ``{}`` when clamscan is not installed."""
    if shutil.which("clamscan") is None:
        return {}
    out = subprocess.run(["clamscan", "-r", "--no-summary", "--allmatch", "--bytecode=no", "-d", str(corpus.sigs),
                          str(corpus.files)], capture_output=True, text=True)
    verdicts: dict[str, Verdict] = {}
    prefix = f"{corpus.files}/"
    for line in out.stdout.splitlines() + out.stderr.splitlines():
        path, _, said = line.rpartition(": ")
        if not path.startswith(prefix):
            continue
        name = path[len(prefix):]
        if said.endswith(" FOUND"):
            before = verdicts.get(name, Verdict("detected")).found
            verdicts[name] = Verdict("detected", before | {_name(said[: -len(" FOUND")])})
        elif said == "OK":
            verdicts.setdefault(name, Verdict("clean"))
        elif name not in verdicts:
            verdicts[name] = Verdict("error", reason=said)
    return verdicts


def table(rows: Sequence[Row], columns: dict[str, dict[str, Verdict] | dict[str, str]]) -> str:
    """A plain-text table: one line per row, one column per scanner (a missing value prints as ``-``)."""
    head = ["group", "format", *columns]
    lines = [[row.group, row.format, *(str(col.get(row.name, "-")) for col in columns.values())] for row in rows]
    widths = [max(len(x) for x in column) for column in zip(head, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*line).rstrip() for line in [head, ["-" * w for w in widths], *lines])


def paths(corpus: Corpus, group: str) -> Iterator[tuple[Row, Path]]:
    for row in corpus.rows:
        if row.group == group:
            yield row, corpus.path(row)
