"""Formats only libclamav opens: streamed to a real clamd (started by these tests, as PostgreSQL is), or reported as
not scanned without one, never clean.

clamd and fleetscan load the same signature file, ClamAV's own md5 of ``clam.exe`` written by ``sigtool``, from
the one folder: the deployment docs/engine.md describes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetscan.agent.scanning import ScanJob
from fleetscan.engine import ScanReport, SignatureSet, SkipReason, load_signatures
from fleetscan.engine.clamd import Clamd, ClamdError, StreamTooLong, parse_address
from fleetscan.engine.exotic import exotic
from tests.support.clamd import ClamdServer
from tests.support.postgres import free_port

from .conftest import TESTFILES, scan, sigtool_hash, write

#: clamav-testfiles that fleetscan recognises and only libclamav opens, with the format each is recognised as.
CLAMD_ONLY = {
    "clam-aspack.exe": "ASPack",
    "clam-fsg.exe": "embedded PE",
    "clam-mew.exe": "MEW",
    "clam-nsis.exe": "NSIS",
    "clam-pespin.exe": "PESpin",
    "clam-petite.exe": "Petite",
    "clam-upack.exe": "Upack",
    "clam-upx.exe": "UPX",
    "clam-wwpack.exe": "WWPack",
    "clam-yc.exe": "yC",
    "clam.ea05.exe": "UPX",
    "clam.ea06.exe": "UPX",
    "clam.chm": "CHM",
    "clam.exe.szdd": "SZDD",
    "clam.sis": "SIS",
    "clam_IScab_ext.exe": "InstallShield",
    "clam_IScab_int.exe": "InstallShield",
    "clam_ISmsi_ext.exe": "InstallShield",
    "clam_ISmsi_int.exe": "InstallShield",
}
CLAM = "clam.exe.UNOFFICIAL"  # clamd's name for a signature from a database that is not an official one


def _need_testfiles() -> None:
    if not (TESTFILES / "clam.exe").exists():
        pytest.skip("Debian package clamav-testfiles is not installed")
    if shutil.which("clamd") is None and not os.path.exists("/usr/sbin/clamd"):
        pytest.skip("Debian package clamav-daemon is not installed")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder both scanners load: ClamAV's own md5 signature of clam.exe."""
    _need_testfiles()
    folder = tmp_path_factory.mktemp("clamdb")
    write(folder / "clam.hdb", sigtool_hash("md5", TESTFILES / "clam.exe") + "\n")
    return folder


@pytest.fixture(scope="module")
def clamd(database: Path) -> Iterator[ClamdServer]:
    server = ClamdServer(database.iterdir(), stream_max="4M", tcp=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sigset(database: Path) -> SignatureSet:
    return load_signatures([database])


# -- the client --------------------------------------------------------------------------------------------------


def test_addresses() -> None:
    assert parse_address("/run/clamav/clamd.ctl") == "/run/clamav/clamd.ctl"
    assert parse_address("unix:clamd.sock") == "clamd.sock"
    assert parse_address("127.0.0.1:3310") == ("127.0.0.1", 3310)
    assert parse_address("[::1]:3310") == ("::1", 3310)
    assert parse_address("clamd.internal:3310") == ("clamd.internal", 3310)
    for bad in ("clamd", "host:", "host:99999", "unix:", "a b:1"):
        with pytest.raises(ValueError, match="clamd"):
            parse_address(bad)


def test_ping_version_and_stream_over_unix_and_tcp(clamd: ClamdServer) -> None:
    for address in (clamd.address, f"127.0.0.1:{clamd.port}"):
        client = Clamd(address, timeout=60)
        client.ping()
        assert client.version().startswith("ClamAV ")
        assert client.scan_bytes(b"nothing here") == []
        assert client.scan_bytes(b"") == []
        assert client.scan_bytes((TESTFILES / "clam.exe").read_bytes()) == [CLAM]
        fd = os.open(TESTFILES / "clam-upx.exe", os.O_RDONLY)
        try:
            assert client.scan_fd(fd) == [CLAM]
        finally:
            os.close(fd)


def test_stream_over_stream_max_length_is_named(clamd: ClamdServer) -> None:
    with pytest.raises(StreamTooLong, match="StreamMaxLength"):
        clamd.client().scan_bytes(b"\x00" * (5 << 20))
    clamd.client().ping()  # and clamd goes on


def test_unreachable_clamd_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClamdError, match=f"cannot connect to clamd at {tmp_path}/none.sock"):
        Clamd(str(tmp_path / "none.sock")).ping()
    with pytest.raises(ClamdError, match="cannot connect to clamd at 127.0.0.1:"):
        Clamd(f"127.0.0.1:{free_port()}").scan_bytes(b"x")


def test_silent_clamd_times_out(tmp_path: Path) -> None:
    """A socket that accepts and never answers: the call ends at the timeout with clamd's address named."""
    path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)
        with pytest.raises(ClamdError, match="did not answer within 0.5 s"):
            Clamd(str(path), timeout=0.5).ping()


# -- recognition -------------------------------------------------------------------------------------------------


def _exotic(path: Path) -> str | None:
    """As a worker sees a small file: the head, and the whole file in memory."""
    data = path.read_bytes()
    return exotic(data[:512], lambda off, n: data[off : off + n], len(data), path.name, data)


def test_exotic_formats_recognised() -> None:
    _need_testfiles()
    for name, kind in CLAMD_ONLY.items():
        assert _exotic(TESTFILES / name) == kind, name
    assert _exotic(TESTFILES / "clam.exe") is None


def test_ordinary_files_are_not_exotic(tmp_path: Path) -> None:
    """ELF binaries, text, archives and Python's own Windows launchers (plain PEs) are fleetscan's to scan."""
    paths = [Path(sys.executable).resolve(), Path("/bin/ls"), Path(__file__)]
    paths += sorted(Path(shutil.__file__).parent.glob("**/*.exe"))[:20]
    paths += [write(tmp_path / "t.txt", "To whom it may concern\n"), write(tmp_path / "z.gz", b"\x1f\x8b\x08")]
    for p in paths:
        assert _exotic(p) is None, p


# -- the engine ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CLAMD_ONLY))
def test_with_clamd_each_is_detected(name: str, clamd: ClamdServer, sigset: SignatureSet) -> None:
    report = scan([TESTFILES / name], sigset, clamd=clamd.address)
    assert [(d.signature, d.sig_type) for d in report.detections] == [(CLAM, "clamav")]
    assert report.files_detected == 1 and not report.skipped


@pytest.mark.parametrize("name", sorted(CLAMD_ONLY))
def test_without_clamd_each_is_not_scanned(name: str, sigset: SignatureSet) -> None:
    report = scan([TESTFILES / name], sigset)
    assert report.files_clean == 0 and report.files_detected == 0
    assert report.skipped == {SkipReason.NEEDS_CLAMD: 1}
    detail = report.skip_examples[SkipReason.NEEDS_CLAMD][0].detail
    assert detail == f"{CLAMD_ONLY[name]}: needs the clamd backend"


def test_a_detection_of_fleetscan_stands_without_clamd(tmp_path: Path, sigset: SignatureSet) -> None:
    """A packed file fleetscan's own pass matches is detected, the unopened content noted in the detail."""
    _need_testfiles()
    upx = (TESTFILES / "clam-upx.exe").read_bytes()
    lines = [f"{_md5(upx)}:{len(upx)}:Packed.Known"]
    known = load_signatures([write(tmp_path / "k.hdb", "\n".join(lines) + "\n")])
    report = scan([TESTFILES / "clam-upx.exe"], known)
    assert [d.signature for d in report.detections] == ["Packed.Known"] and not report.skipped


def _md5(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data).hexdigest()


def test_clamd_verdicts_are_cached_apart(tmp_path: Path, clamd: ClamdServer, sigset: SignatureSet) -> None:
    """A verdict clamd gave is not reused by a scan without clamd (nor the reverse)."""
    target = tmp_path / "in"
    target.mkdir()
    shutil.copy(TESTFILES / "clam-petite.exe", target / "p.exe")
    cache = str(tmp_path / "verdicts.sqlite")
    first = scan([target], sigset, clamd=clamd.address, cache_path=cache)
    assert first.files_detected == 1
    without = scan([target], sigset, cache_path=cache)
    assert without.skipped == {SkipReason.NEEDS_CLAMD: 1} and without.files_cached == 0
    again = scan([target], sigset, clamd=clamd.address, cache_path=cache)
    assert again.files_detected == 1 and again.files_cached == 1


def test_clamd_failure_is_not_clean(tmp_path: Path, sigset: SignatureSet) -> None:
    _need_testfiles()
    report = scan([TESTFILES / "clam-upx.exe"], sigset, clamd=str(tmp_path / "gone.sock"))
    assert report.files_clean == 0
    [skip] = report.skip_examples[SkipReason.READ_ERROR]
    assert skip.detail.startswith("UPX: cannot connect to clamd at ")


def test_over_clamd_stream_max_is_too_large(tmp_path: Path, clamd: ClamdServer, sigset: SignatureSet) -> None:
    """An installer longer than clamd's StreamMaxLength (4M here): not scanned, and said so."""
    _need_testfiles()
    big = tmp_path / "big.exe"
    big.write_bytes((TESTFILES / "clam-nsis.exe").read_bytes() + b"\x00" * (5 << 20))
    report = scan([big], sigset, clamd=clamd.address, workers=1)
    assert report.files_clean == 0
    [skip] = report.skip_examples[SkipReason.TOO_LARGE]
    assert skip.detail.startswith("NSIS: larger than the StreamMaxLength of clamd at ")


def test_clamav_testfiles_with_and_without_clamd(clamd: ClamdServer, sigset: SignatureSet) -> None:
    """All 44 packagings of clam.exe: 44 of 44 with clamd (in worker processes). Without it the formats only
    libclamav opens are not scanned; the rest depend on the in-process decoders and are printed."""
    files = sorted(TESTFILES.iterdir())
    with_clamd = scan(files, sigset, clamd=clamd.address, workers=2)
    alone = scan(files, sigset, workers=2)
    for label, report in (("with clamd", with_clamd), ("without clamd", alone)):
        print(f"\nclamav-testfiles {label}: {report.files_detected} detected, {report.files_skipped} not scanned "
              f"{dict(report.skipped)}, {report.files_clean} clean of {len(files)}")
    verdicts = {f.name: _verdict(scan([f], sigset)) for f in files}
    by_verdict = {v: sorted(n for n in verdicts if verdicts[n] == v) for v in sorted(set(verdicts.values()))}
    print("without clamd:", by_verdict)
    assert with_clamd.files_detected == len(files) == 44
    for name in CLAMD_ONLY:
        assert verdicts[name] in ("detected", SkipReason.NEEDS_CLAMD), name


def _verdict(report: ScanReport) -> str:
    if report.files_detected:
        return "detected"
    return next(iter(report.skipped), "clean")


# -- the commands --------------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetscan", "scan", "--no-cache", "--no-progress", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_scan_with_clamd(clamd: ClamdServer, database: Path) -> None:
    target = TESTFILES / "clam-mew.exe"
    done = _cli("-d", str(database), "--clamd", clamd.address, str(target))
    assert done.returncode == 1, done.stderr
    assert f"{target}: {CLAM} FOUND" in done.stdout.splitlines()
    alone = _cli("-d", str(database), str(target))
    assert "needs_clamd 1" in alone.stdout and "Infected files: 0" in alone.stdout


def test_cli_scan_names_a_clamd_that_does_not_answer(tmp_path: Path, database: Path) -> None:
    done = _cli("-d", str(database), "--clamd", str(tmp_path / "no.sock"), str(TESTFILES / "clam.exe"))
    assert done.returncode == 2
    assert f"ERROR: cannot connect to clamd at {tmp_path / 'no.sock'}" in done.stderr
    bad = _cli("--clamd", "nonsense", str(TESTFILES / "clam.exe"))
    assert bad.returncode == 2 and "not a clamd address: 'nonsense'" in bad.stderr


def test_agent_scan_job_passes_clamd(tmp_path: Path, clamd: ClamdServer, sigset: SignatureSet) -> None:
    """The agent's scan of a subtask streams exotic files to its clamd and reports clamd's name as the finding."""
    item = {"scan_type": "custom", "scan_paths": [str(TESTFILES / "clam.sis")], "subtask_id": "s1"}
    job = ScanJob(item, None, signatures=lambda: sigset, root=None, state_dir=str(tmp_path), workers=0,
                  clamd=clamd.address)
    outcome = job.run(tick=lambda _s: None, should_stop=lambda: False, interval=60)
    assert [(d["signature"], d["sig_type"]) for d in outcome.snapshot.detections] == [(CLAM, "clamav")]


def test_agent_command_refuses_a_bad_clamd_address(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fleetscan", "agent", "--server", "http://127.0.0.1:9", "--state-dir", str(tmp_path),
         "--clamd", "nonsense"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "FLEETSCAN_CLAMD": ""},
    )
    assert done.returncode == 2 and "not a clamd address: 'nonsense'" in done.stderr
    help_text = subprocess.run([sys.executable, "-m", "fleetscan", "agent", "--help"], capture_output=True, text=True,
                               timeout=60).stdout
    assert "--clamd SOCKET" in help_text


def test_scan_options_refuse_a_bad_clamd_address() -> None:
    from fleetscan.engine import ScanOptions

    with pytest.raises(ValueError, match="not a clamd address: 'clamd'"):
        ScanOptions(clamd="clamd")


def _ole2(clsid: bytes) -> bytes:
    """The smallest OLE2 file the check reads: a header (512-byte sectors, directory at sector 0) and a root entry."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x1E:0x20] = (9).to_bytes(2, "little")
    header[0x30:0x34] = (0).to_bytes(4, "little")
    root = bytearray(512)
    root[:10] = "Root".encode("utf-16-le") + b"\x00\x00"
    root[0x50:0x60] = clsid
    return bytes(header + root)


def test_msi_is_told_from_other_ole2() -> None:
    msi = _ole2(bytes.fromhex("84100c0000000000c000000000000046"))
    doc = _ole2(bytes.fromhex("0609020000000000c000000000000046"))
    assert exotic(msi[:512], lambda off, n: msi[off : off + n], len(msi), "setup.msi", msi) == "MSI"
    # a plain OLE2 document is opened in process (engine/decoders/ole2.py): not clamd's
    assert exotic(doc[:512], lambda off, n: doc[off : off + n], len(doc), "a.doc", doc) is None


def test_a_container_a_decoder_claims_is_not_exotic() -> None:
    """Mail, PDF, OLE2 ... go to clamd only while no in-process decoder claims them (engine/decoders)."""
    from fleetscan.engine.decoders import REGISTRY

    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"  # the binary comment real PDFs carry: not text
    assert exotic(pdf, lambda off, n: pdf[off : off + n], len(pdf), "a.pdf", pdf) is None
    registered = list(REGISTRY)
    REGISTRY.clear()  # as before any content decoder existed
    try:
        assert exotic(pdf, lambda off, n: pdf[off : off + n], len(pdf), "a.pdf", pdf) == "PDF"
    finally:
        REGISTRY[:] = registered


def _zipped(tmp_path: Path, name: str) -> Path:
    import zipfile

    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(TESTFILES / name, name)
        z.writestr("readme.txt", "nothing to see\n")
    return archive


@pytest.mark.parametrize("name", ["clam-upx.exe", "clam.sis", "clam.exe.szdd"])
def test_an_exotic_member_is_never_clean(name: str, tmp_path: Path, clamd: ClamdServer, sigset: SignatureSet) -> None:
    """Inside an archive as on disk: a member only libclamav opens goes to clamd, or is not scanned without it."""
    _need_testfiles()
    archive = _zipped(tmp_path, name)
    without = scan([archive], sigset)
    assert without.files_clean == 0 and without.files_detected == 0
    assert without.skipped == {SkipReason.NEEDS_CLAMD: 1}
    [skip] = without.skip_examples[SkipReason.NEEDS_CLAMD]
    assert skip.detail.startswith(f"{name}: {CLAMD_ONLY[name]}: needs the clamd backend")
    with_clamd = scan([archive], sigset, clamd=clamd.address)
    assert [(h.signature, h.member) for h in with_clamd.detections] == [(CLAM, name)]
    assert not with_clamd.skipped
