"""Signed containers, trusted as ClamAV trusts them: ClamAV's own signatures verified with its published keys, the
same checks made with a key generated here (ClamAV's private key being out of reach), and ``clamscan`` consulted on
the same files wherever it accepts or refuses one."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fleetscan.engine import SignatureSourceError, load_signatures
from fleetscan.engine.signatures.cvd import CvdError, read_cvd
from fleetscan.engine.signatures.dsig import ClamavKeys, RsaKey, verify_md5_dsig, verify_sha256_pss

from ..conftest import found, scan, sigtool_hash, write

# ClamAV's test database test-1.cvd (ClamAV's repository, unit_tests/input/freshclam_testfiles), signed by ClamAV
# with its private key; `sigtool -i` says "Verification OK". Its header and its signed .info member:
TEST1_HEADER = (
    b"ClamAV-VDB:22 Jun 2021 14-58 -0400:1:0:81:a4ab60ae1c1c4e8f787459102dcfd90b:ttQeKzTSL5iF5/IWsA8weveL64WDVkhgfbm"
    b"/ABaW3xAWalVKcAp65Q/cWmhkhKFfHSLIXNfCzTLbhfTeISKpfWAheL7NZk+t6nQ8NEFBBst6CQcoFTwwyVLwwTSN38VYLW/vZFYphnkBcCo"
    b"tyo++NYU5VQ9JUA6dFQXxaU00b6c:micasnyd:1624388302"
)
TEST1_INFO = (
    b"ClamAV-VDB:22 Jun 2021 14-58 -0400:1:0:81:X:X:micasnyd:1624388302\n"
    b"test.ndb:240:244a20e9da37de181ede6db64f85c97916381d91f65e1b39e4f9300cb0726be9\n"
    b"test.ldb:44:0748b843a1cea3242d70531083b84f877d8de398cfefe65509b5d3bb1e3bcb57\n"
    b"DSIG:TFd9RBeu6wZwfMrWGsGH9WOSs1j+3s+PD2fVTLwR8Qgv2QVF25EXnIfH4cKmKRDoqDCLE0P6Kk3KRROkvaSGv01aiGMNRzY3bHkGQlSUs2p"
    b"6kXUoV4B+TLn1gZYR4x6XH7GuFPolfxgHuzK974zxoxXe7GhzHPVgxtUI6uODlzJNw2HfCXG/MqPnNmMSC1yquZjmzA3ak0+jrdqfmg8c27xSrv"
    b"d7/6K6ItyYEa9q3HPL/9g7ANKQ0B+0TegXySdmIkZ+PYgf6u3uEx09db3RXLkesU8K3bvdVZSEyyRh0ir+GibrGM2Fef1GugtNAI8gUQAA9OtJm"
    b"huNUsbeWNdDV\n"
)
TEST1_MEMBERS = {
    "test.ndb": b"# There must always be one line in the file\n"
    b"Win.Trojan.EOL-1:0:*:This ClamAV version has reached End of Life! Please upgrade to version 0.95 or later. "
    b"For more information see  www.clamav.net/eol-clamav-094 and "
    b"www.clamav.net/download:0:38\n",
    "test.ldb": b"# There must always be one line in the file\n",
}
# bytecode.cvd of 14 May 2010 (the same folder of ClamAV's repository), another key holder's signature.
BYTECODE_MD5 = "f341ae79c7e73561b89d4e0b8f6a79c0"
BYTECODE_DSIG = (
    "u1zx79ANlYhjROCU1oZTRrgWIeOzEKWpF0i3Qzz5jW9RRuLuW3pHDM2LB28kcAStuzM2lURMP9/diA0Q13qvK4Sx82+HS5aMKbOWtMz3OKPWr"
    "nk6A/KbAz+GG8N8bL3yRcTeGTHJn9d8zWL1Lb411Kpid+JYEwszbTMaUIi6xig"
)
DIGITS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"


def clamav_number(value: int) -> str:
    """A number in ClamAV's signature encoding: base 64, its own digits, least significant first."""
    out = ""
    while True:
        out += DIGITS[value & 63]
        value >>= 6
        if not value:
            return out


def tar_gz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def header_block(text: bytes) -> bytes:
    return text.ljust(512, b" ")


class Publisher:
    """A signer with keys of its own, in ClamAV's two schemes (what ClamAV's signing service does with its key)."""

    def __init__(self) -> None:
        self.cvd_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        self.info_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub_cvd, pub_info = self.cvd_key.public_key().public_numbers(), self.info_key.public_key().public_numbers()
        self.keys = ClamavKeys(cvd=RsaKey(pub_cvd.n, pub_cvd.e), info=RsaKey(pub_info.n, pub_info.e))

    def sign_md5(self, md5_hex: str) -> str:
        priv = self.cvd_key.private_numbers()
        return clamav_number(pow(int(md5_hex, 16), priv.d, priv.public_numbers.n))

    def sign_info(self, text: bytes) -> bytes:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = self.info_key.sign(text, pss, hashes.SHA256())
        return text + b"DSIG:" + clamav_number(int.from_bytes(signature, "big")).encode() + b"\n"

    def container(self, members: dict[str, bytes], sign_info: bool = True, dsig: str | None = None) -> bytes:
        head = "ClamAV-VDB:01 Dec 2026 12-00 +0000:9:{n}:216:{md5}:{dsig}:tests:1796126400"
        info = head.format(n=len(members), md5="X", dsig="X").encode() + b"\n" + b"".join(
            f"{name}:{len(data)}:{hashlib.sha256(data).hexdigest()}\n".encode() for name, data in members.items()
        )
        body = tar_gz({"COPYING": b"test database\n", "x.info": self.sign_info(info) if sign_info else info,
                       **members})
        md5 = hashlib.md5(body).hexdigest()
        text = head.format(n=len(members), md5=md5, dsig=self.sign_md5(md5) if dsig is None else dsig)
        return header_block(text.encode()) + body


@pytest.fixture(scope="module")
def publisher() -> Publisher:
    return Publisher()


def clamscan_accepts(db: Path, tmp: Path) -> bool | None:
    """Whether ClamAV's clamscan loads this database (None: clamscan is not installed)."""
    if shutil.which("clamscan") is None:
        return None
    target = write(tmp / "clamscan-target.txt", "nothing here\n")
    run = subprocess.run(["clamscan", "--no-summary", "-d", str(db), str(target)], capture_output=True, text=True)
    return run.returncode == 0


# -- ClamAV's own signatures, ClamAV's published keys -------------------------------------------------------------


def test_clamav_signed_headers_verify_with_clamav_key() -> None:
    fields = TEST1_HEADER.decode().split(":")
    assert verify_md5_dsig(fields[5], fields[6])
    assert verify_md5_dsig(BYTECODE_MD5, BYTECODE_DSIG)
    assert not verify_md5_dsig(BYTECODE_MD5, fields[6])  # another file's signature
    assert not verify_md5_dsig(fields[5], fields[6][:-1] + ("a" if fields[6][-1] != "a" else "b"))
    assert not verify_md5_dsig(fields[5], fields[6] + "!")  # a character outside ClamAV's digits
    assert not verify_md5_dsig("", fields[6])


def test_clamav_signed_info_verifies_with_clamav_key() -> None:
    text, dsig = TEST1_INFO.split(b"DSIG:")
    assert verify_sha256_pss(hashlib.sha256(text).digest(), dsig.decode().strip())
    assert not verify_sha256_pss(hashlib.sha256(text.replace(b"240", b"241")).digest(), dsig.decode().strip())


def test_a_cld_with_clamav_signed_info_is_loaded_as_clamscan_loads_it(tmp_path: Path) -> None:
    """A ``.cld`` (a patched ``.cvd``, its header unsigned) is trusted through its ``.info``, signed by ClamAV."""
    body = tar_gz({"COPYING": b"GPL\n", "test.info": TEST1_INFO, **TEST1_MEMBERS})
    cld = write(tmp_path / "good" / "test.cld", header_block(TEST1_HEADER) + body)
    container = read_cvd(cld.read_bytes(), ".cld")
    assert [n for n, _ in container.members] == ["test.ndb", "test.ldb"]
    sigset = load_signatures([cld])
    assert any("digital signature of its .info verified with ClamAV's key" in n for n in sigset.notes)
    assert sigset.unsupported.counts == {  # the one signature is for engines up to level 38
        "body pattern: made for other ClamAV engine levels (this engine follows level 216)": 1}
    assert clamscan_accepts(cld, tmp_path) in (True, None)

    members = dict(TEST1_MEMBERS, **{"test.ldb": b"# There must always be one line in the file!\n"})
    tampered = write(tmp_path / "bad" / "test.cld", header_block(TEST1_HEADER) + tar_gz(
        {"test.info": TEST1_INFO, **members}))
    with pytest.raises(CvdError, match="member test.ldb does not match its size and SHA-256 in test.info"):
        read_cvd(tampered.read_bytes(), ".cld")
    with pytest.raises(SignatureSourceError, match="test.cld: unusable container: member test.ldb does not match"):
        load_signatures([tampered])
    assert clamscan_accepts(tampered, tmp_path) in (False, None)


# -- the same checks with a key of our own -------------------------------------------------------------------------


def test_a_container_signed_with_the_given_key_is_read(publisher: Publisher) -> None:
    data = publisher.container({"a.hdb": b"44d88612fea8a8f36de82e1278abb02f:68:Test.Sig\n"})
    container = read_cvd(data, ".cvd", publisher.keys)
    assert container.members == [("a.hdb", b"44d88612fea8a8f36de82e1278abb02f:68:Test.Sig\n")]
    assert container.trust == "digital signatures verified with ClamAV's key"
    with pytest.raises(CvdError, match="digital signature does not verify"):
        read_cvd(data)  # ClamAV's key did not sign it


def test_a_valid_md5_with_a_bad_dsig_is_refused(publisher: Publisher, tmp_path: Path) -> None:
    members = {"a.ndb": b"Test.Ndb:0:*:41424344454647\n"}
    good = publisher.container(members)
    forged = publisher.container(members, dsig=publisher.sign_md5("0" * 32))  # signs another MD5
    with pytest.raises(CvdError, match="digital signature does not verify"):
        read_cvd(forged, ".cvd", publisher.keys)
    read_cvd(good, ".cvd", publisher.keys)
    # By hand, the right MD5 with a signature of garbage: refused by fleetscan and by clamscan.
    bad = write(tmp_path / "db" / "forged.cvd", publisher.container(members, dsig="u1zx79ANlYhjROCU1oZTRrgWIe"))
    with pytest.raises(SignatureSourceError, match="forged.cvd: unusable container: digital signature does not verify"):
        load_signatures([bad])
    accepted = load_signatures([bad], ignore_bad=True)
    assert "body-pattern" not in accepted.counts and list(accepted.unsupported.damaged) == [str(bad)]
    assert clamscan_accepts(bad, tmp_path) in (False, None)


def test_the_info_member_must_be_signed_and_list_every_database(publisher: Publisher) -> None:
    members = {"a.ndb": b"Test.Ndb:0:*:41424344454647\n"}
    with pytest.raises(CvdError, match="x.info carries no digital signature"):
        read_cvd(publisher.container(members, sign_info=False), ".cld", publisher.keys)
    data = publisher.container(members)
    header, body = data[:512], gzip.decompress(data[512:])
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        content = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    extra = header + tar_gz({**content, "b.hdb": b"44d88612fea8a8f36de82e1278abb02f:68:Slipped.In\n"})
    with pytest.raises(CvdError, match="member b.hdb is not listed in x.info"):
        read_cvd(extra, ".cld", publisher.keys)
    no_info = header + tar_gz({k: v for k, v in content.items() if k != "x.info"})
    with pytest.raises(CvdError, match="no .info member"):
        read_cvd(no_info, ".cld", publisher.keys)
    other = header.replace(b":9:", b":8:", 1) + data[512:]  # another version of the database
    with pytest.raises(CvdError, match="its header does not match the container's"):
        read_cvd(other, ".cld", publisher.keys)


def test_pss_verifier_matches_a_standard_pss_signature(publisher: Publisher) -> None:
    text = b"ClamAV-VDB:x\nsome.ndb:1:" + b"0" * 64 + b"\n"
    signed = publisher.sign_info(text)
    dsig = signed.split(b"DSIG:")[1].decode().strip()
    assert verify_sha256_pss(hashlib.sha256(text).digest(), dsig, publisher.keys.info)
    assert not verify_sha256_pss(hashlib.sha256(text + b" ").digest(), dsig, publisher.keys.info)
    assert not verify_sha256_pss(hashlib.sha256(text).digest(), dsig)  # not ClamAV's key


# -- containers sigtool builds, and damaged ones ---------------------------------------------------------------------


def build_unsigned(tmp: Path, files: dict[str, str], name: str) -> Path:
    """``sigtool --unsigned``: ClamAV's way to build a database without its signing service (a ``.cud``)."""
    src = tmp / f"src-{name}"
    for fn, text in files.items():
        write(src / fn, text)
    write(src / "COPYING", "test database\n")
    empty = tmp / "empty"
    empty.mkdir(exist_ok=True)
    subprocess.run(
        ["sigtool", f"--build={name}", "--unsigned", "--cvd-version=7", f"--datadir={empty}", "--no-cdiff"],
        cwd=src, input="fleetscan-tests\n", capture_output=True, text=True, check=True,
    )
    return src / name


@pytest.fixture
def cud(tmp_path: Path, clam_dir: Path, sigtool: str) -> Path:
    hdb = sigtool_hash("md5", clam_dir / "clam.exe").replace("clam.exe", "Cvd.Hdb")
    return build_unsigned(tmp_path, {"test.hdb": hdb + "\n", "test.ndb": "Cvd.Ndb:0:*:434c414d657373616765426f78\n",
                                     "test.ldb": "Cvd.Ldb;Target:1;0&1;434c414d;4d657373616765426f78\n"}, "test.cud")


def test_an_unsigned_cud_is_unpacked_and_used(cud: Path, clam_dir: Path, tmp_path: Path) -> None:
    sigset = load_signatures([cud])
    assert sigset.counts["hash"] == 1 and sigset.counts["body-pattern"] == 1 and sigset.counts["logical"] == 1
    assert sigset.unsupported.counts == {}
    assert any("container version 7" in n and "unsigned database (.cud)" in n for n in sigset.notes)
    report = scan([clam_dir / "clam.exe"], sigset)
    assert {s for _, s in found(report)} == {"Cvd.Hdb", "Cvd.Ndb", "Cvd.Ldb"}
    assert clamscan_accepts(cud, tmp_path) in (True, None)


@pytest.mark.parametrize(("suffix", "why"), [
    (".cvd", "digital signature does not verify with ClamAV's key"),
    (".cld", "carries no digital signature"),
])
def test_an_unsigned_database_named_as_a_signed_one_is_refused(cud: Path, tmp_path: Path, suffix: str,
                                                               why: str) -> None:
    named = write(tmp_path / "db" / f"test{suffix}", cud.read_bytes())
    with pytest.raises(SignatureSourceError, match=f"test\\{suffix}: unusable container: .*{why}"):
        load_signatures([named])
    assert clamscan_accepts(named, tmp_path) in (False, None)


def test_damaged_containers_are_errors(cud: Path, tmp_path: Path) -> None:
    data = bytearray(cud.read_bytes())
    data[-9] ^= 0xFF  # inside the gzip trailer's CRC
    bad = write(tmp_path / "bad" / "bad.cud", bytes(data))
    with pytest.raises(SignatureSourceError, match="bad.cud: unusable container: corrupt compressed body"):
        load_signatures([bad])
    noise = write(tmp_path / "noise" / "main.cvd", bytes(range(256)) * 7 + bytes(208))  # 2,000 bytes
    with pytest.raises(SignatureSourceError, match="main.cvd: unusable container: not a ClamAV database container"):
        load_signatures([noise])
    sigset = load_signatures([bad, noise], ignore_bad=True)
    assert sigset.unsupported.total == 2 and set(sigset.unsupported.damaged) == {str(bad), str(noise)}
